/**
 * The CLI's y/N question (consent to an enrollment, deleting a key). Ctrl-C
 * is a cancel (USER_ABORT, exit status 7) and end of input a "no", as
 * at a PIN prompt: never an "unexpected error".
 */
import { createInterface } from 'node:readline/promises';
import type { Readable, Writable } from 'node:stream';
import { SksError } from '../sks/errors.js';

export interface QuestionStreams {
  readonly input: Readable;
  readonly output: Writable;
  /** Whether `input` is a terminal (Ctrl-C arrives as a character); default as readline decides. */
  readonly terminal?: boolean;
}

/** Asks `question [y/N]` (drawn on stderr by default); true only for y or yes. */
export async function confirmOnTerminal(question: string, streams: QuestionStreams = { input: process.stdin, output: process.stderr }): Promise<boolean> {
  const rl = createInterface(streams.terminal === undefined ? { input: streams.input, output: streams.output } : { ...streams });
  // Listening for SIGINT keeps readline from closing on Ctrl-C, which would look like end of input.
  const cancelled = new Promise<never>((_resolve, reject) => rl.once('SIGINT', () => reject(new SksError('USER_ABORT', 'Cancelled by the user'))));
  const ended = new Promise<undefined>((resolve) => rl.once('close', () => resolve(undefined)));
  try {
    const answer = await Promise.race([rl.question(`${question} [y/N] `), ended, cancelled]);
    return answer !== undefined && /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
