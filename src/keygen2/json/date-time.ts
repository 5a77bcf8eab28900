/**
 * KeyGen2 date-times (spec §4.6).
 *
 * A date-time keeps both the instant and the exact text it was read from or will be written as:
 * the client must echo `serverTime` character for character (§6.4) and `clientTime` carries a
 * local offset that must survive a round trip.
 */
import { schemaError } from '../errors.js';

/** An instant plus the exact wire text (`YYYY-MM-DDThh:mm:ssZ` or `YYYY-MM-DDThh:mm:ss±hh:mm`). */
export interface DateTime {
  /** Milliseconds since 1970-01-01T00:00:00Z; always a whole number of seconds (no fractions on the wire). */
  readonly epochMs: number;
  /** Offset from UTC in minutes (`Z` and `+00:00` are both 0). */
  readonly offsetMinutes: number;
  /** The wire text, exactly. */
  readonly text: string;
}

/** Which textual form a date-time member requires (§4.6). */
export type DateTimeForm = 'utc' | 'offset';

const UTC_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;
const OFFSET_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})([+-])(\d{2}):(\d{2})$/;

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;
const isLeap = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/**
 * Parses a §4.6 date-time of the given form, or throws SCHEMA at `path`.
 * `utc` accepts only `Z`; `offset` accepts only `±hh:mm` (the reference issuer rejects `Z` in
 * `clientTime`, quirk 7). Fractions are rejected in both forms.
 */
export function parseDateTime(text: string, form: DateTimeForm, path: string): DateTime {
  const match = (form === 'utc' ? UTC_RE : OFFSET_RE).exec(text);
  if (match === null) {
    throw schemaError(path, form === 'utc' ? 'expected YYYY-MM-DDThh:mm:ssZ' : 'expected YYYY-MM-DDThh:mm:ss±hh:mm');
  }
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const monthDays = month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH.at(month - 1);
  if (month < 1 || month > 12 || monthDays === undefined || day < 1 || day > monthDays || hour > 23 || minute > 59 || second > 59) {
    throw schemaError(path, 'date-time field out of range');
  }
  let offsetMinutes = 0;
  if (form === 'offset') {
    const oh = Number(match[8]);
    const om = Number(match[9]);
    if (oh > 23 || om > 59) throw schemaError(path, 'date-time offset out of range');
    offsetMinutes = (match[7] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const local = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC maps years 0..99 to 1900..1999; set the full year explicitly.
  const fixed = new Date(local);
  fixed.setUTCFullYear(year);
  return { epochMs: fixed.getTime() - offsetMinutes * 60_000, offsetMinutes, text };
}

function formatWithOffset(epochMs: number, offsetMinutes: number, utcZ: boolean): string {
  const date = new Date(epochMs + offsetMinutes * 60_000);
  const base =
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  if (utcZ) return `${base}Z`;
  const abs = Math.abs(offsetMinutes);
  return `${base}${offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

/**
 * A UTC date-time for `serverTime`, `issuedBefore`, `issuedAfter` (§4.6); fractions of a second
 * are dropped (the wire has none).
 *
 * @example utcDateTime(Date.parse('2026-11-27T16:57:55Z')).text === '2026-11-27T16:57:55Z'
 */
export function utcDateTime(epochMs: number): DateTime {
  const whole = Math.floor(epochMs / 1000) * 1000;
  return { epochMs: whole, offsetMinutes: 0, text: formatWithOffset(whole, 0, true) };
}

/**
 * A local date-time with a numeric offset for `clientTime` (§4.6, §2.3: `+00:00`, never `Z`).
 *
 * @example offsetDateTime(Date.parse('2026-11-27T17:21:15Z'), 60).text === '2026-11-27T18:21:15+01:00'
 */
export function offsetDateTime(epochMs: number, offsetMinutes: number): DateTime {
  if (!Number.isInteger(offsetMinutes) || Math.abs(offsetMinutes) > 23 * 60 + 59) {
    throw new RangeError('offsetMinutes out of range');
  }
  const whole = Math.floor(epochMs / 1000) * 1000;
  return { epochMs: whole, offsetMinutes, text: formatWithOffset(whole, offsetMinutes, false) };
}

/** Whole seconds since the epoch, the value that enters the session attestation (§5.3). */
export const epochSeconds = (t: DateTime): number => Math.floor(t.epochMs / 1000);
