/**
 * Type guards for values arriving from callers. TypeScript types vanish at
 * run time and callers relay network data, so every argument is checked before
 * use; a wrong shape is `ERROR_OPTION` naming the field. Range rules of the
 * spec are checked later, in the spec's order, by each operation.
 */
import {
  keyHandle as brandKey,
  pinPolicyHandle as brandPinPolicy,
  provisioningHandle as brandProvisioning,
  pukPolicyHandle as brandPukPolicy,
  type KeyHandle,
  type PinPolicyHandle,
  type ProvisioningHandle,
  type PukPolicyHandle,
} from '../api.js';
import { optionError } from '../errors.js';

export function bytes(name: string, v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw optionError(`"${name}" must be a byte array`, name);
  return v;
}

export function optionalBytes(name: string, v: unknown): Uint8Array | undefined {
  return v === undefined || v === null ? undefined : bytes(name, v);
}

export function text(name: string, v: unknown): string {
  if (typeof v !== 'string') throw optionError(`"${name}" must be a string`, name);
  return v;
}

export function optionalText(name: string, v: unknown): string | undefined {
  return v === undefined || v === null ? undefined : text(name, v);
}

export function flag(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw optionError(`"${name}" must be a boolean`, name);
  return v;
}

/** An integer of the given Java width; out-of-width values are malformed calls. */
export function int(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw optionError(`"${name}" must be an integer in ${min}..${max}`, name);
  }
  return v;
}

/** A Java `byte` passed as 0..255 or -128..127; returned as its signed value. */
export const byteValue = (name: string, v: unknown): number => (int(name, v, -128, 255) << 24) >> 24;

/** A Java `short` passed as 0..65535 or -32768..32767; returned as its signed value. */
export const shortValue = (name: string, v: unknown): number => (int(name, v, -32768, 65535) << 16) >> 16;

/** A handle as callers pass it: a Java `int` that is not negative (0 is "none" or "start"). */
function handle(name: string, v: unknown): number {
  return int(name, v, 0, 0x7fffffff);
}

// Handles are branded only once checked, so the engine's maps can only be
// indexed with a value that went through here (or came out of the store).
export const provisioningHandle = (name: string, v: unknown): ProvisioningHandle => brandProvisioning(handle(name, v));
export const keyHandle = (name: string, v: unknown): KeyHandle => brandKey(handle(name, v));
export const pinPolicyHandle = (name: string, v: unknown): PinPolicyHandle => brandPinPolicy(handle(name, v));
export const pukPolicyHandle = (name: string, v: unknown): PukPolicyHandle => brandPukPolicy(handle(name, v));

export function textList(name: string, v: unknown): string[] {
  if (!Array.isArray(v)) throw optionError(`"${name}" must be a list`, name);
  return v.map((e) => text(name, e));
}

export function bytesList(name: string, v: unknown): Uint8Array[] {
  if (!Array.isArray(v)) throw optionError(`"${name}" must be a list`, name);
  return v.map((e) => bytes(name, e));
}

export function object(name: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null) throw optionError(`"${name}" must be an object`, name);
  return v as Record<string, unknown>;
}
