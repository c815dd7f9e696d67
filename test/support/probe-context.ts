import { buildConfig } from '../../src/config.js';
import { FEEDS, ProbeCache, type FeedName } from '../../src/probe/cache.js';
import type { KubeApi } from '../../src/probe/kube-api.js';
import type { KubeObject } from '../../src/kube/types.js';
import type { ProbeContext } from '../../src/probe/types.js';

/**
 * What a probe is given, with canned API answers: for the inspections' judgement on cluster
 * states the local cluster cannot be put in (a downgraded API server, mass restarts, an
 * all-spot fleet). Their API calls against a real API server are covered in
 * test/e2e/probe-probes.test.ts.
 */

export const now = new Date('2026-06-01T12:00:00Z');

/** The collections whose answers fill the watch cache instead (as its watches would), by the feed that keeps them. */
const FEED_OF: Record<string, FeedName> = {
  '/api/v1/nodes': 'nodes',
  '/api/v1/pods': 'pods',
  '/api/v1/services': 'services',
  '/apis/discovery.k8s.io/v1/endpointslices': 'endpointslices',
};

/** A cache every feed of which has listed: `objects` by feed, the rest empty. */
export function filledCache(objects: Partial<Record<FeedName, unknown[]>> = {}): ProbeCache {
  const cache = new ProbeCache();
  for (const feed of FEEDS) {
    for (const object of objects[feed] ?? []) cache.apply(feed, 'upsert', object as KubeObject);
    cache.markSynced(feed);
  }
  return cache;
}

export function context(responses: Record<string, unknown>, probe: Record<string, unknown> = {}, extra: Partial<ProbeContext> = {}): ProbeContext {
  const answer = (path: string) => {
    if (!(path in responses)) throw new Error(`unexpected GET ${path}`);
    return responses[path];
  };
  const watched: Partial<Record<FeedName, unknown[]>> = {};
  for (const [path, body] of Object.entries(responses)) {
    const feed = FEED_OF[path.split('?')[0]!];
    if (feed) watched[feed] = (body as { items?: unknown[] }).items ?? [];
  }
  const api = { get: async (path: string) => ({ status: 200, body: answer(path), text: '' }) } as unknown as KubeApi;
  return {
    api,
    config: buildConfig({ probe }),
    signal: new AbortController().signal,
    now: () => now,
    isLeader: true,
    inCluster: false,
    cache: filledCache(watched),
    ...extra,
  };
}

export const node = (name: string, kubeletVersion: string, labels: Record<string, string> = {}) => ({ metadata: { name, labels }, status: { nodeInfo: { kubeletVersion } } });
export const NODES = '/api/v1/nodes';
