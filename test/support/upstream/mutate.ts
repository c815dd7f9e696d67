import { parseAllDocuments, stringify } from 'yaml';

/**
 * A mutation derived from an upstream unit: small data in test/fixtures/upstream, applied to
 * the unit's objects after substitution, never a copy of the upstream file.
 */
export interface Selector {
  kind: string;
  name: string;
}

export type Change =
  /** JSON merge patch (RFC 7386, as `kubectl patch --type=merge`): null removes a field, arrays are replaced. */
  | { select: Selector; merge: unknown }
  | { select: Selector; delete: true }
  /** A copy of the selected object under a new name, then merged. */
  | { select: Selector; copyAs: string; merge?: unknown }
  | { add: Record<string, unknown> };

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type KubeLike = { kind?: unknown; metadata?: { name?: unknown } } & Record<string, Json>;

export function mergePatch(target: Json, patch: Json): Json {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const base: { [key: string]: Json } = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete base[key];
    else base[key] = mergePatch(base[key] ?? null, value);
  }
  return base;
}

function matches(object: KubeLike, select: Selector): boolean {
  return object.kind === select.kind && object.metadata?.name === select.name;
}

/** Applies the changes to the unit's text (multi-document YAML); returns the mutated YAML. */
export function mutate(text: string, changes: readonly Change[]): string {
  let objects = parseAllDocuments(text)
    .map((document) => document.toJS({ maxAliasCount: -1 }) as unknown)
    .filter((value): value is KubeLike => value !== null && typeof value === 'object' && !Array.isArray(value));
  for (const change of changes) {
    if ('add' in change) {
      objects.push(change.add as KubeLike);
      continue;
    }
    const index = objects.findIndex((object) => matches(object, change.select));
    if (index < 0) throw new Error(`no ${change.select.kind}/${change.select.name} in the unit: the mutation no longer fits its upstream source`);
    const selected = objects[index]!;
    if ('delete' in change) {
      objects = objects.filter((_, i) => i !== index);
    } else if ('copyAs' in change) {
      const copy = mergePatch(structuredClone(selected), { metadata: { name: change.copyAs } }) as KubeLike;
      objects.push((change.merge === undefined ? copy : mergePatch(copy, change.merge as Json)) as KubeLike);
    } else {
      objects[index] = mergePatch(selected, change.merge as Json) as KubeLike;
    }
  }
  return objects.map((object) => stringify(object)).join('---\n');
}
