import assert from 'node:assert/strict';
import { manifestObjects } from '../../src/manifests/read.js';
import { kubectl } from './e2e.js';

/**
 * What an identity may do beyond what every ServiceAccount may, as the API server answers
 * `kubectl auth can-i --list` for it, after the RBAC of a kustomize directory is applied.
 */

// A ServiceAccount no binding names: what it may do, every account may.
export const NOBODY = 'system:serviceaccount:levee-system:levee-rbac-test-nobody';

export interface RbacObject {
  kind: string;
  metadata: { name: string; namespace?: string };
}
const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

/** The rows of `kubectl auth can-i --list`, columns joined by ` | ` (Resource Names hold single spaces). */
export async function rights(user: string, namespace: string): Promise<Set<string>> {
  const listed = await kubectl(['auth', 'can-i', '--list', '-n', namespace, '--as', user]);
  assert.equal(listed.code, 0, listed.stderr);
  const rows = listed.stdout.split('\n').slice(1).map((line) => line.trim().split(/\s{2,}/).join(' | ')).filter(Boolean);
  return new Set(rows);
}

export async function beyondEveryAccount(user: string, namespace: string): Promise<string[]> {
  const [granted, nobody] = await Promise.all([rights(user, namespace), rights(NOBODY, namespace)]);
  return [...granted].filter((row) => !nobody.has(row)).sort();
}

/** A kustomize directory's ServiceAccounts and RBAC objects, as kustomize renders them. */
export async function rbacObjectsOf(directory: string): Promise<RbacObject[]> {
  const rendered = await kubectl(['kustomize', directory]);
  assert.equal(rendered.code, 0, rendered.stderr);
  return (manifestObjects(rendered.stdout, `kubectl kustomize ${directory}`) as unknown as RbacObject[]).filter((object) => RBAC_KINDS.has(object.kind));
}

/** Applies `objects` (in levee-system, created if need be); returns them. */
export async function applyRbac(objects: RbacObject[]): Promise<RbacObject[]> {
  await kubectl(['create', 'namespace', 'levee-system']);
  const result = await kubectl(['apply', '-f', '-'], { input: objects.map((object) => JSON.stringify(object)).join('\n') });
  assert.equal(result.code, 0, result.stderr);
  return objects;
}

/** Applies a kustomize directory's ServiceAccounts and RBAC, nothing else of it; returns what was applied. */
export async function applyRbacOf(directory: string): Promise<RbacObject[]> {
  return applyRbac(await rbacObjectsOf(directory));
}
