import { buildConfig } from '../../src/config.js';
import type { KubeApi } from '../../src/probe/kube-api.js';
import type { ProbeContext } from '../../src/probe/types.js';

/**
 * What a probe is given, with canned API answers: for the inspections' judgement on cluster
 * states the local cluster cannot be put in (a downgraded API server, mass restarts, an
 * all-spot fleet). Their API calls against a real API server are covered in
 * test/e2e/probe-probes.test.ts.
 */

export const now = new Date('2026-06-01T12:00:00Z');

export function context(responses: Record<string, unknown>, probe: Record<string, unknown> = {}, extra: Partial<ProbeContext> = {}): ProbeContext {
  const answer = (path: string) => {
    if (!(path in responses)) throw new Error(`unexpected GET ${path}`);
    return responses[path];
  };
  const api = { get: async (path: string) => ({ status: 200, body: answer(path), text: '' }) } as unknown as KubeApi;
  return {
    api,
    config: buildConfig({ probe }),
    signal: new AbortController().signal,
    now: () => now,
    isLeader: true,
    inCluster: false,
    shared: async <T>(path: string) => answer(path) as T,
    ...extra,
  };
}

export const node = (name: string, kubeletVersion: string, labels: Record<string, string> = {}) => ({ metadata: { name, labels }, status: { nodeInfo: { kubeletVersion } } });
export const NODES = '/api/v1/nodes?resourceVersion=0';
