/** The CLI's y/N question: what each answer, end of input and Ctrl-C mean. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { confirmOnTerminal } from '../../src/cli/confirm.js';
import { SksError } from '../../src/sks/errors.js';

function ask(terminal?: boolean): { answer: Promise<boolean>; input: PassThrough; shown: () => string } {
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const answer = confirmOnTerminal('Delete key #3?', terminal === undefined ? { input, output } : { input, output, terminal });
  return { answer, input, shown: () => text };
}

describe('confirmOnTerminal', () => {
  it('is yes only for y or yes, in any case', async () => {
    for (const [typed, expected] of [
      ['y', true],
      ['YES', true],
      [' yes ', true],
      ['n', false],
      ['', false],
      ['yep', false],
    ] as const) {
      const question = ask();
      question.input.write(`${typed}\n`);
      expect(await question.answer).toBe(expected);
      expect(question.shown()).toContain('Delete key #3? [y/N] ');
    }
  });

  it('takes the end of input as no (it used to wait for ever)', async () => {
    const question = ask();
    question.input.end();
    expect(await question.answer).toBe(false);
  });

  it('takes Ctrl-C as a cancel by the user (USER_ABORT, exit status 7), not an unexpected error', async () => {
    const question = ask(true);
    question.input.write('\x03');
    const error = await question.answer.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SksError);
    expect((error as SksError).code).toBe('USER_ABORT');
  });
});
