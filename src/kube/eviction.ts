import type { GroupVersionResource } from './types.js';

/**
 * Whether a request is an Eviction of a pod: the `eviction` subresource of core `pods` (an
 * Eviction of policy/v1, or of v1beta1 converted; it is always created, never updated).
 */
export function isPodEviction(resource: GroupVersionResource, subResource: unknown): boolean {
  return resource.group === '' && resource.resource === 'pods' && subResource === 'eviction';
}
