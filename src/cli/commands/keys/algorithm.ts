/**
 * `--alg` values: a full algorithm URI of the registry (spec §9.2) or its
 * short name, the URI fragment after '#' (`ecdsa-sha256`, `rsa.oaep.sha256`).
 */
import { ALGORITHMS, Cap, hasCap, lookupAlgorithm, type AlgorithmDescriptor } from '../../../sks/algorithms.js';
import { usageError } from '../../output.js';

/** What a verb does with the algorithm. */
export type AlgorithmUse = 'sign' | 'decrypt';

const CAPS: Readonly<Record<AlgorithmUse, number>> = {
  sign: Cap.ASYM_SGN | Cap.HMAC,
  decrypt: Cap.ASYM_ENC | Cap.SYM_ENC,
};

export const shortName = (uri: string): string => uri.slice(uri.lastIndexOf('#') + 1);

/** The algorithms a verb accepts, in registry order. */
export const algorithmsFor = (use: AlgorithmUse): AlgorithmDescriptor[] => ALGORITHMS.filter((a) => hasCap(a, CAPS[use]));

/**
 * Resolves `input` for `use`; anything else is a usage error that lists the
 * valid short names.
 */
export function resolveAlgorithm(input: string, use: AlgorithmUse): AlgorithmDescriptor {
  const candidates = algorithmsFor(use);
  const exact = lookupAlgorithm(input);
  const found = exact !== undefined && candidates.includes(exact) ? exact : candidates.find((a) => shortName(a.uri).toLowerCase() === input.toLowerCase());
  if (found !== undefined) return found;
  const known = exact !== undefined || ALGORITHMS.some((a) => shortName(a.uri).toLowerCase() === input.toLowerCase());
  return usageError(
    `${known ? 'cannot use' : 'unknown algorithm'} "${input}" for ${use}; valid --alg values: ` +
      `${candidates.map((a) => shortName(a.uri)).join(', ')} (or their full URIs)`,
  );
}
