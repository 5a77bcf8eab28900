/**
 * The issuing CA's CRL as the public `/crl` serves it: signed once and reused
 * while the revoked set is unchanged, so each unauthenticated request costs
 * one small indexed query, not a read of the credentials table and a
 * signature. Concurrent requests that see the same revoked set share one build.
 */
import { createHash } from 'node:crypto';
import { signCrl, type CaKeyPair } from '../ca/index.js';
import type { IssuerDatabase, RevocationSummary } from '../db/port.js';

const DAY_MS = 86_400_000;
/** nextUpdate is a week after thisUpdate. */
const CRL_VALIDITY_MS = 7 * DAY_MS;
/** A cached CRL is re-signed after a day, so a CRL served always has six days or more before its nextUpdate. */
const CRL_REFRESH_MS = DAY_MS;

export interface SignedCrl {
  readonly der: Buffer;
  readonly pem: string;
}

interface Built {
  readonly key: string;
  readonly crlNumber: number;
  readonly thisUpdate: number;
  readonly crl: SignedCrl;
}

const keyOf = (summary: RevocationSummary): string => `${summary.count}/${summary.latestRevokedAt ?? '-'}`;

export class CrlPublisher {
  readonly #db: IssuerDatabase;
  readonly #issuing: CaKeyPair;
  /** The CA's id in the CRL number table: its certificate's SHA-256. */
  readonly #caId: string;
  readonly #clock: () => number;
  #cached: Built | undefined;
  #building: { readonly key: string; readonly promise: Promise<Built> } | undefined;

  constructor(db: IssuerDatabase, issuing: CaKeyPair, clock: () => number) {
    this.#db = db;
    this.#issuing = issuing;
    this.#caId = createHash('sha256').update(issuing.certificate).digest('hex');
    this.#clock = clock;
  }

  /** The current CRL: the cached one while the revoked set is unchanged and it is less than a day old, else a new one. */
  async current(): Promise<SignedCrl> {
    const key = keyOf(await this.#db.revocationSummary());
    const now = this.#clock();
    const cached = this.#cached;
    if (cached?.key === key && now >= cached.thisUpdate && now - cached.thisUpdate < CRL_REFRESH_MS) return cached.crl;
    let building = this.#building;
    if (building?.key !== key) {
      const started = { key, promise: this.#build() };
      const clear = (): void => {
        if (this.#building === started) this.#building = undefined;
      };
      started.promise.then(clear, clear);
      this.#building = building = started;
    }
    return (await building.promise).crl;
  }

  async #build(): Promise<Built> {
    const now = this.#clock();
    // CRL number = max(last given out + 1, seconds since the epoch). The persisted last number makes
    // it strictly increasing (RFC 5280 §5.2.3) across processes sharing the database and within one
    // second; the seconds keep it above the numbers issued before it was persisted (floor(now/1000))
    // and roughly tell when a CRL was made.
    const { crlNumber, revoked } = await this.#db.nextCrl(this.#caId, Math.floor(now / 1000));
    const crl = signCrl(this.#issuing, {
      crlNumber: BigInt(crlNumber),
      thisUpdate: new Date(now),
      nextUpdate: new Date(now + CRL_VALIDITY_MS),
      revoked: revoked.map((r) => ({ serial: r.serial.length % 2 === 0 ? r.serial : `0${r.serial}`, revokedAt: new Date(r.revokedAt) })),
    });
    // The key of what was listed (not of the summary that asked for it), so the cache matches the CRL.
    const latest = revoked.reduce<number | null>((max, r) => (max === null || r.revokedAt > max ? r.revokedAt : max), null);
    const built = { key: keyOf({ count: revoked.length, latestRevokedAt: latest }), crlNumber, thisUpdate: now, crl };
    // A slower build of an older set never replaces a newer CRL.
    if (this.#cached === undefined || built.crlNumber > this.#cached.crlNumber) this.#cached = built;
    return built;
  }
}
