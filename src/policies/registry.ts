import type { PolicyId } from '../config.js';
import { scaleToZero } from './scale-to-zero.js';
import type { PolicyDefinition } from './types.js';

/** Every policy levee ships, in evaluation order. Adding a policy means adding it here. */
export const POLICIES: readonly PolicyDefinition[] = [scaleToZero];

export function policyById(id: string): PolicyDefinition | undefined {
  return POLICIES.find((policy) => policy.id === (id as PolicyId));
}
