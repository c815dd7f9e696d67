import fc from 'fast-check';
import { deploymentReview, scaleReview } from './reviews.js';

/** Shared by the decoder and server fuzz tests: an independent oracle and review mutations. */

const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];
export type Json = Record<string, unknown>;

const isRecord = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const isObjectOrAbsent = (value: unknown): boolean => value === null || value === undefined || (isRecord(value) && (value.metadata === undefined || isRecord(value.metadata)));

/** The contract, read straight from the body: what a review needs before any policy may judge it. */
export function carriesJudgeableRequest(body: unknown): boolean {
  if (!isRecord(body) || body.apiVersion !== 'admission.k8s.io/v1' || body.kind !== 'AdmissionReview' || !isRecord(body.request)) return false;
  const request = body.request;
  const gvk = request.kind;
  const gvr = request.resource;
  if (typeof request.uid !== 'string' || request.uid === '') return false;
  if (!isRecord(gvk) || typeof gvk.kind !== 'string' || gvk.kind === '' || typeof gvk.version !== 'string') return false;
  if (!isRecord(gvr) || typeof gvr.resource !== 'string' || gvr.resource === '' || typeof gvr.version !== 'string') return false;
  if (typeof request.operation !== 'string' || !OPERATIONS.includes(request.operation)) return false;
  if (!isRecord(request.userInfo)) return false;
  if (!isObjectOrAbsent(request.object) || !isObjectOrAbsent(request.oldObject)) return false;
  const hasObject = isRecord(request.object);
  if ((request.operation === 'CREATE' || request.operation === 'UPDATE') && !hasObject) return false;
  if (request.operation === 'UPDATE' && !isRecord(request.oldObject)) return false;
  // A namespaced request's objects are in its namespace (the API server makes them so).
  if (typeof request.namespace === 'string' && request.namespace !== '') {
    for (const object of [request.object, request.oldObject]) {
      const namespace = isRecord(object) && isRecord(object.metadata) ? object.metadata.namespace : undefined;
      if (typeof namespace === 'string' && namespace !== '' && namespace !== request.namespace) return false;
    }
  }
  return true;
}

export const BASES: unknown[] = [
  deploymentReview({ replicas: 0 }),
  deploymentReview({ replicas: 2, operation: 'CREATE' }),
  deploymentReview({ replicas: 3, operation: 'DELETE' }),
  scaleReview({ replicas: 0 }),
];

/** Every path into a JSON value, so a mutation can aim anywhere in the review. */
function pathsOf(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const paths: Array<Array<string | number>> = [prefix];
  if (Array.isArray(value)) value.forEach((child, i) => paths.push(...pathsOf(child, [...prefix, i])));
  else if (isRecord(value)) for (const [key, child] of Object.entries(value)) paths.push(...pathsOf(child, [...prefix, key]));
  return paths;
}

export interface Mutation {
  pick: number;
  action: 'delete' | 'replace';
  value: unknown;
}

export function applyMutations(base: unknown, mutations: Mutation[]): unknown {
  let root = structuredClone(base);
  for (const { pick, action, value } of mutations) {
    const paths = pathsOf(root);
    const path = paths[pick % paths.length]!;
    if (path.length === 0) {
      root = action === 'replace' ? structuredClone(value) : null;
      continue;
    }
    const parent = path.slice(0, -1).reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], root) as Record<string | number, unknown>;
    const key = path[path.length - 1]!;
    if (action === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
    } else {
      // A copy: later mutations must not edit fast-check's value (or make it contain itself).
      parent[key] = structuredClone(value);
    }
  }
  return root;
}

/** Values that look almost right: the wrong type in the right place is what breaks decoders. */
export const nearMiss = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('', 'CREATE', 'PATCH', 'admission.k8s.io/v1beta1', 'AdmissionReview', 'Deployment', 0, -1, 1e308, true, null, [], {}, { metadata: 'x' }, { metadata: null }),
);
export const mutation = fc.record({ pick: fc.nat(), action: fc.constantFrom<'delete' | 'replace'>('delete', 'replace'), value: nearMiss });

