import type { PolicyId } from '../config.js';
import { probeGate } from './probe-gate.js';
import { probeOnChange } from './probe-on-change.js';
import { scaleToZero } from './scale-to-zero.js';
import { spotCapacity } from './spot-capacity.js';
import { spotCapacitySpread } from './spot-capacity-mutation.js';
import type { Mutator, PolicyDefinition } from './types.js';
import { versionSkew } from './version-skew.js';

/** Every policy levee ships, in evaluation order. Adding a policy means adding it here. */
export const POLICIES: readonly PolicyDefinition[] = [versionSkew, scaleToZero, spotCapacity, probeGate, probeOnChange];

/** Every /mutate step levee ships, in order; each edits the same copy of the object. */
export const MUTATORS: readonly Mutator[] = [spotCapacitySpread];

export function policyById(id: string): PolicyDefinition | undefined {
  return POLICIES.find((policy) => policy.id === (id as PolicyId));
}
