import { randomBytes } from 'node:crypto';
import { PROBE_LABEL } from '../../probe-verdict.js';
import type { FeedName } from '../cache.js';
import { expectStatus, type KubeApi } from '../kube-api.js';
import type { ProbeContext, ProbeOutcome } from '../types.js';

/** Helpers the probes share: names, label selectors, clean-up of what an interrupted run left behind. */

export function runSuffix(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Resolves after `ms`, or at once when the signal aborts (the caller then checks `signal.aborted`). */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Waits for the cache feeds an inspection reads (their first list, the end of a relist);
 * when they cannot be read before the probe's deadline, the outcome to return instead:
 * skipped, since a watch that has not caught up says nothing about the cluster.
 */
export async function unreadFeeds({ cache, signal }: Pick<ProbeContext, 'cache' | 'signal'>, feeds: readonly FeedName[]): Promise<ProbeOutcome | undefined> {
  const why = await cache.ready(feeds, signal);
  return why === undefined ? undefined : { ok: true, skipped: true, message: `not judged: ${why}` };
}

interface Listed {
  items?: Array<{ metadata?: { name?: string; creationTimestamp?: string; deletionTimestamp?: string } }>;
}

/**
 * Deletes probe objects older than `maxAgeMs` under `collectionPath` (a namespaced list URL):
 * leftovers of a run that was cut short. Young ones may belong to another replica's run in
 * progress, so they are left alone.
 */
export async function sweepStale(api: KubeApi, collectionPath: string, maxAgeMs: number, signal: AbortSignal): Promise<number> {
  const listed = expectStatus(await api.get<Listed>(`${collectionPath}?labelSelector=${encodeURIComponent(`${PROBE_LABEL}=true`)}`, { signal }), `listing ${collectionPath}`, 200);
  const cutoff = Date.now() - maxAgeMs;
  let deleted = 0;
  for (const item of listed.body.items ?? []) {
    const name = item.metadata?.name;
    const created = Date.parse(item.metadata?.creationTimestamp ?? '');
    if (!name || item.metadata?.deletionTimestamp || !(created < cutoff)) continue;
    await api.delete(`${collectionPath}/${encodeURIComponent(name)}?propagationPolicy=Background`, { signal });
    deleted++;
  }
  return deleted;
}

/**
 * Leftovers come only from a run cut short (a killed process, a failed delete), so every run
 * need not look: a collection is swept on its first run in a process, then every
 * SWEEP_EVERY_MS, and on the next run after a clean-up that failed (`sweepSoon`).
 */
const SWEEP_EVERY_MS = 10 * 60_000;
const lastSwept = new Map<string, number>();

export async function sweepStaleWhenDue(api: KubeApi, collectionPath: string, maxAgeMs: number, signal: AbortSignal): Promise<number> {
  const key = `${api.server.href}${collectionPath}`;
  const last = lastSwept.get(key);
  if (last !== undefined && Date.now() - last < SWEEP_EVERY_MS) return 0;
  const deleted = await sweepStale(api, collectionPath, maxAgeMs, signal);
  lastSwept.set(key, Date.now());
  return deleted;
}

/** A clean-up under `collectionPath` failed: sweep it on the next run. */
export function sweepSoon(api: KubeApi, collectionPath: string): void {
  lastSwept.delete(`${api.server.href}${collectionPath}`);
}

/** Creates levee's namespace when it is missing (local clusters; in a cluster the install makes it). */
export async function ensureNamespace(api: KubeApi, namespace: string, signal?: AbortSignal): Promise<void> {
  const existing = await api.get(`/api/v1/namespaces/${encodeURIComponent(namespace)}`, signal ? { signal } : {});
  if (existing.status === 200) return;
  expectStatus(existing, `reading namespace ${namespace}`, 404);
  const created = await api.post(
    '/api/v1/namespaces',
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace, labels: { 'app.kubernetes.io/name': 'levee' } } },
    signal ? { signal } : {},
  );
  expectStatus(created, `creating namespace ${namespace}`, 201, 409);
}
