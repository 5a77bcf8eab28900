/**
 * Which post-operations may be combined on one target key (spec §9.2): a delete must be the only
 * operation on its target; an update excludes any other operation on its target (the reference
 * issuer's rule; the SKS alone would accept update + clone); at most one unlock per target.
 * Clone + unlock of one target is fine.
 */
import { createHash } from 'node:crypto';
import type { TargetKeyConfig } from './config.js';
import type { Plan, PlannedKey } from './state.js';
import { configError, unb64u } from './util.js';

type Kind = 'delete' | 'update' | 'unlock' | 'clone';

const targetOf = (t: TargetKeyConfig, where: string): string =>
  `${t.clientSessionId}\u0000${t.serverSessionId}\u0000${createHash('sha256')
    .update(unb64u(t.certificate, `${where}.certificate`))
    .digest('base64url')}`;

/** Throws INTERNAL naming the offending operation when the plan combines operations illegally. */
export function checkPostOperations(plan: Plan): void {
  const byTarget = new Map<string, Kind[]>();
  const add = (targetKeyConfig: TargetKeyConfig, kind: Kind, where: string): void => {
    const key = targetOf(targetKeyConfig, where);
    const kinds = byTarget.get(key) ?? [];
    kinds.push(kind);
    byTarget.set(key, kinds);
    const others = kinds.length - 1;
    if (kind === 'delete' && others > 0) throw configError(where, 'a deleted key can be the target of no other operation');
    if (kinds.includes('delete') && kind !== 'delete') throw configError(where, 'a deleted key can be the target of no other operation');
    if (kind === 'update' && others > 0) throw configError(where, 'an updated key can be the target of no other operation');
    if (kinds.includes('update') && kind !== 'update') throw configError(where, 'an updated key can be the target of no other operation');
    if (kind === 'unlock' && kinds.filter((k) => k === 'unlock').length > 1) throw configError(where, 'at most one unlock per key');
  };
  const keys: PlannedKey[] = [
    ...plan.pukPolicies.flatMap((u) => u.pinPolicies.flatMap((p) => p.keys)),
    ...plan.pinPolicies.flatMap((p) => p.keys),
    ...plan.keys,
  ];
  for (const plannedKey of keys) {
    if (plannedKey.updateKey !== undefined) add(plannedKey.updateKey, 'update', `${plannedKey.id}.updateKey`);
    if (plannedKey.cloneKeyProtection !== undefined) add(plannedKey.cloneKeyProtection, 'clone', `${plannedKey.id}.cloneKeyProtection`);
  }
  plan.unlockKeys.forEach((t, i) => add(t, 'unlock', `unlockKeys[${i}]`));
  plan.deleteKeys.forEach((t, i) => add(t, 'delete', `deleteKeys[${i}]`));
}
