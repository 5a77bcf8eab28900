/**
 * An Entropy that answers with what the reference SKS used in the recording:
 * the client ephemeral keys, the key pairs of `createKeyEntry`, and the random
 * bytes behind each `clientSessionId`. Requests the recording does not cover
 * (IVs, for instance) get fresh randomness. A request that does not match the
 * next recorded answer fails loudly and is remembered as a problem, because an
 * engine may wrap the thrown error in an SksError of its own.
 */
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { keyKind } from '../sks/crypto/keys.js';
import type { Entropy, KeyPair, KeyPairRequest } from '../sks/entropy.js';
import type { RecordedKey } from './vectors.js';

/** base64url alphabet in order (spec §5.2). */
const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * 32 random bytes that the SKS maps to `clientSessionId` (`ALPHABET[b & 0x3F]`, spec §5.2).
 * Throws for characters outside the alphabet.
 */
export function clientSessionIdBytes(clientSessionId: string): Buffer {
  return Buffer.from(
    Array.from(clientSessionId, (ch) => {
      const index = ID_ALPHABET.indexOf(ch);
      if (index < 0) throw new ReplayEntropyError(`clientSessionId "${clientSessionId}" has a character outside the base64url alphabet`);
      return index;
    }),
  );
}

export class ReplayEntropyError extends Error {
  override readonly name = 'ReplayEntropyError';
}

export interface RecordedPair {
  /** Where the pair comes from, for messages: `session 'main' Key.1`. */
  readonly label: string;
  readonly key: RecordedKey;
}

function describeRequest(keyPairRequest: KeyPairRequest): string {
  switch (keyPairRequest.kind) {
    case 'ec':
      return `EC ${keyPairRequest.curve}`;
    case 'rsa':
      return `RSA-${keyPairRequest.bits} e=${keyPairRequest.exponent}`;
    case 'ed25519':
      return 'Ed25519';
  }
}

/** Whether a recorded key is what the SKS asked for. */
function fits(request: KeyPairRequest, key: RecordedKey): boolean {
  const kind = keyKind(key.publicKey);
  switch (request.kind) {
    case 'ec':
      return kind.type === 'ec' && kind.curve === request.curve;
    case 'rsa':
      return kind.type === 'rsa' && kind.bits === request.bits && kind.exponent === request.exponent;
    case 'ed25519':
      return kind.type === 'ed25519';
  }
}

export class ReplayEntropy implements Entropy {
  private readonly expectedRandom: Array<{ readonly label: string; readonly bytes: Buffer }> = [];
  private readonly pairs: Record<'ephemeral' | 'key-entry', RecordedPair[]>;
  private problems: string[] = [];

  constructor(ephemeral: readonly RecordedPair[], keyEntries: readonly RecordedPair[]) {
    this.pairs = { ephemeral: [...ephemeral], 'key-entry': [...keyEntries] };
  }

  /** Queues the answer to the next `randomBytes(bytes.length)` request. */
  expectRandomBytes(label: string, bytes: Buffer): void {
    this.expectedRandom.push({ label, bytes });
  }

  private problem(message: string): never {
    this.problems.push(message);
    throw new ReplayEntropyError(message);
  }

  randomBytes(count: number): Buffer {
    const next = this.expectedRandom.at(0);
    if (next === undefined) return nodeRandomBytes(count);
    if (next.bytes.length !== count) {
      this.problem(`replay entropy: expected randomBytes(${next.bytes.length}) for ${next.label}, the SKS asked for randomBytes(${count})`);
    }
    this.expectedRandom.shift();
    return Buffer.from(next.bytes);
  }

  async generateKeyPair(request: KeyPairRequest, purpose: 'ephemeral' | 'key-entry'): Promise<KeyPair> {
    const queue = this.pairs[purpose];
    const next = queue.at(0);
    if (next === undefined) this.problem(`replay entropy: the SKS asked for a ${purpose} ${describeRequest(request)} key pair; the recording has no more`);
    if (!fits(request, next.key)) {
      this.problem(
        `replay entropy: the SKS asked for a ${purpose} ${describeRequest(request)} key pair; the next recorded one (${next.label}) is ${next.key.type}`,
      );
    }
    const { privateKey, publicKey } = next.key;
    if (privateKey === undefined) this.problem(`replay entropy: ${next.label} has no private key`);
    queue.shift();
    return Promise.resolve({ privateKey, publicKey });
  }

  /** Problems since the last call, then forgets them. */
  takeProblems(): string[] {
    const texts = this.problems;
    this.problems = [];
    return texts;
  }

  /** Queued random answers nobody asked for; clears them so one miss does not spoil later calls. */
  takeUnusedRandom(): string[] {
    const labels = this.expectedRandom.map((e) => e.label);
    this.expectedRandom.length = 0;
    return labels;
  }

  /** Recorded key pairs never handed out. */
  unusedPairs(): string[] {
    return [...this.pairs.ephemeral, ...this.pairs['key-entry']].map((p) => p.label);
  }
}
