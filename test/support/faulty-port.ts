/**
 * A persistence port that fails writes on demand, around any real adapter
 * (memory, SQLite): the storage faults an attacker can cause at will (a full
 * disk, `ulimit -f`, a read-only remount) without killing the process.
 *
 * Only `apply` is affected; `load` and `close` pass through, so the store
 * can still be read and reopened over the inner adapter to see what became
 * durable.
 */
import type { KeyStorePort, Mutation, StoreContents, StoreSnapshot } from '../../src/sks/store/records.js';

export interface FaultyPort extends KeyStorePort {
  /** Lets the next `n` writes through, then fails every write (0: fail from now on). */
  failAfter(n: number): void;
  /** Lets every write through again. */
  heal(): void;
  /** Writes attempted so far (failed ones included). */
  readonly attempts: number;
}

/**
 * The error of a failed write: a plain `Error` with an errno, as a file
 * system or SQLite would raise it, so the facade's own mapping to `STORAGE`
 * is what the caller sees.
 */
const writeFailure = (): Error => Object.assign(new Error('write failed'), { code: 'EFBIG' });

export function faultyPort(inner: KeyStorePort): FaultyPort {
  let allowed = Number.POSITIVE_INFINITY;
  let attempts = 0;
  return {
    load: (): StoreSnapshot => inner.load(),
    apply(mutations: readonly Mutation[]): void {
      attempts += 1;
      if (allowed <= 0) throw writeFailure();
      allowed -= 1;
      inner.apply(mutations);
    },
    close: (): void => inner.close(),
    failAfter(count: number): void {
      allowed = count;
    },
    heal(): void {
      allowed = Number.POSITIVE_INFINITY;
    },
    get attempts(): number {
      return attempts;
    },
  };
}

/** The mutations that rebuild `snapshot` (read with `readAll`) in an empty store (to give each test case its own copy). */
export function snapshotMutations(snapshot: StoreContents): Mutation[] {
  return [
    { kind: 'setCounters', counters: snapshot.counters },
    ...(snapshot.device === null ? [] : [{ kind: 'putDevice', device: snapshot.device } as const]),
    ...snapshot.sessions.map((session) => ({ kind: 'putSession', session }) as const),
    ...snapshot.pukPolicies.map((policy) => ({ kind: 'putPukPolicy', policy }) as const),
    ...snapshot.pinPolicies.map((policy) => ({ kind: 'putPinPolicy', policy }) as const),
    ...snapshot.keys.map((key) => ({ kind: 'putKey', key }) as const),
  ];
}
