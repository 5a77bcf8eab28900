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

export function bytes(name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw optionError(`"${name}" must be a byte array`, name);
  return value;
}

export function optionalBytes(name: string, value: unknown): Uint8Array | undefined {
  return value === undefined || value === null ? undefined : bytes(name, value);
}

export function text(name: string, value: unknown): string {
  if (typeof value !== 'string') throw optionError(`"${name}" must be a string`, name);
  return value;
}

export function optionalText(name: string, value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : text(name, value);
}

export function flag(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw optionError(`"${name}" must be a boolean`, name);
  return value;
}

/** An integer of the given Java width; out-of-width values are malformed calls. */
export function int(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw optionError(`"${name}" must be an integer in ${min}..${max}`, name);
  }
  return value;
}

/** A Java `byte` passed as 0..255 or -128..127; returned as its signed value. */
export const byteValue = (name: string, v: unknown): number => (int(name, v, -128, 255) << 24) >> 24;

/** A Java `short` passed as 0..65535 or -32768..32767; returned as its signed value. */
export const shortValue = (name: string, v: unknown): number => (int(name, v, -32768, 65535) << 16) >> 16;

/** A handle as callers pass it: a Java `int` that is not negative (0 is "none" or "start"). */
function handle(name: string, value: unknown): number {
  return int(name, value, 0, 0x7fffffff);
}

// Handles are branded only once checked, so the engine's maps can only be
// indexed with a value that went through here (or came out of the store).
export const provisioningHandle = (name: string, v: unknown): ProvisioningHandle => brandProvisioning(handle(name, v));
export const keyHandle = (name: string, v: unknown): KeyHandle => brandKey(handle(name, v));
export const pinPolicyHandle = (name: string, v: unknown): PinPolicyHandle => brandPinPolicy(handle(name, v));
export const pukPolicyHandle = (name: string, v: unknown): PukPolicyHandle => brandPukPolicy(handle(name, v));

export function textList(name: string, value: unknown): string[] {
  if (!Array.isArray(value)) throw optionError(`"${name}" must be a list`, name);
  return value.map((e) => text(name, e));
}

export function bytesList(name: string, value: unknown): Uint8Array[] {
  if (!Array.isArray(value)) throw optionError(`"${name}" must be a list`, name);
  return value.map((e) => bytes(name, e));
}

export function object(name: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null) throw optionError(`"${name}" must be an object`, name);
  return value as Record<string, unknown>;
}
