/** Files that hold the issuer's secrets must be readable by their owner alone. */
import { statSync } from 'node:fs';
import { IssuerError } from './errors.js';

/** Refuses (CONFIG, naming `field`) a file that group or others can access; says how to fix it. */
export function requireOwnerOnly(file: string, what: string, field: string): void {
  if (process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) {
    throw new IssuerError('CONFIG', `${what} is accessible by group or others: run "chmod 600 ${file}"`, { field });
  }
}
