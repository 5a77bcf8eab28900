/** Where the CLI gets PINs and PUKs from (src/cli/secrets.ts), with injected sources. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PassphraseFormat } from '../../src/sks/constants.js';
import { readSecret, type SecretSources } from '../../src/cli/secrets.js';

const tmp = mkdtempSync(join(tmpdir(), 'airtight-secrets-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let stderr = '';
beforeEach(() => {
  stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

const noPrompt = (): Promise<string> => Promise.reject(new Error('must not prompt'));

const sources = (s: Partial<SecretSources> = {}): SecretSources => ({ env: {}, files: {}, interactive: false, prompt: noPrompt, ...s });

const secretFile = (name: string, content: string, mode = 0o600): string => {
  const file = join(tmp, name);
  writeFileSync(file, content);
  chmodSync(file, mode);
  return file;
};

async function usageFailure(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(error).toBeInstanceOf(CommanderError);
  expect((error as CommanderError).exitCode).toBe(2);
  return stderr;
}

describe('readSecret', () => {
  it('takes the first line of a file, then the environment, then the prompt', async () => {
    const file = secretFile('pin', '1234\r\nignored\n');
    const env = { AIRTIGHT_PIN: '5678' };
    expect((await readSecret(sources({ env, files: { pin: file } }), { kind: 'pin', label: 'PIN' })).toString()).toBe('1234');
    expect((await readSecret(sources({ env }), { kind: 'pin', label: 'PIN' })).toString()).toBe('5678');
    const prompt = vi.fn(() => Promise.resolve('9012'));
    expect((await readSecret(sources({ interactive: true, prompt }), { kind: 'pin', label: 'PIN for key #3' })).toString()).toBe('9012');
    expect(prompt).toHaveBeenCalledWith('PIN for key #3:');
  });

  it('reads each kind from its own variable', async () => {
    const env = { AIRTIGHT_PIN: '1', AIRTIGHT_PUK: '2', AIRTIGHT_NEW_PIN: '3' };
    expect((await readSecret(sources({ env }), { kind: 'puk', label: 'PUK' })).toString()).toBe('2');
    expect((await readSecret(sources({ env }), { kind: 'new-pin', label: 'new PIN' })).toString()).toBe('3');
  });

  it('refuses-secret-file-readable-by-others', async () => {
    const file = secretFile('open', '1234\n', 0o640);
    const err = await usageFailure(readSecret(sources({ files: { pin: file } }), { kind: 'pin', label: 'PIN' }));
    expect(err).toMatch(/--pin-file .* is accessible by group or others \(mode 640\); chmod 600 it/);
    expect(err).not.toContain('1234');
  });

  it('refuses-without-terminal-or-source, naming the options', async () => {
    const err = await usageFailure(readSecret(sources(), { kind: 'puk', label: 'PUK for key #2' }));
    expect(err).toContain('--puk-file FILE or the environment variable AIRTIGHT_PUK');
  });

  it('refuses-empty-secret', async () => {
    await usageFailure(readSecret(sources({ interactive: true, prompt: () => Promise.resolve('') }), { kind: 'pin', label: 'PIN' }));
  });

  it('asks a new PIN twice on the terminal and refuses two different entries', async () => {
    const answers = ['2580', '2581'];
    const prompt = vi.fn(() => Promise.resolve(answers.shift()!));
    const err = await usageFailure(readSecret(sources({ interactive: true, prompt }), { kind: 'new-pin', label: 'new PIN', confirm: true }));
    expect(prompt).toHaveBeenCalledTimes(2);
    expect(err).toContain('the two entries of the new PIN differ');
    expect(err).not.toMatch(/258/);
  });

  it('checks a new PIN after the first entry, before asking again', async () => {
    const prompt = vi.fn(() => Promise.resolve('12'));
    const check = (): void => {
      throw new Error('too short');
    };
    await expect(readSecret(sources({ interactive: true, prompt }), { kind: 'new-pin', label: 'new PIN', confirm: true, check })).rejects.toThrow('too short');
    expect(prompt).toHaveBeenCalledTimes(1);
  });

  it('reads a binary-format secret as hex', async () => {
    const got = await readSecret(sources({ env: { AIRTIGHT_PIN: '00ff10' } }), { kind: 'pin', label: 'PIN', format: PassphraseFormat.BINARY });
    expect(got).toEqual(Buffer.from([0x00, 0xff, 0x10]));
    await usageFailure(readSecret(sources({ env: { AIRTIGHT_PIN: 'xyz' } }), { kind: 'pin', label: 'PIN', format: PassphraseFormat.BINARY }));
  });
});
