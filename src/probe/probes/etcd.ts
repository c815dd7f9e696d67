import type { ProbeDefinition, ProbeOutcome } from '../types.js';

/**
 * etcd as the API server sees it: its `/readyz/etcd` check, which reaches etcd with a
 * deadline. Falls back to `/readyz?verbose` where individual checks are not exposed.
 */
export const etcd: ProbeDefinition = {
  id: 'etcd',
  summary: "the API server's etcd readiness check (/readyz/etcd)",
  async run({ api, signal }): Promise<ProbeOutcome> {
    const started = performance.now();
    const direct = await api.get('/readyz/etcd', { signal });
    const ms = Math.round(performance.now() - started);
    if (direct.status === 200) return { ok: true, message: `/readyz/etcd ok in ${ms} ms` };
    if (direct.status !== 404) {
      return { ok: false, message: `/readyz/etcd answered HTTP ${direct.status}: ${direct.text.trim().slice(0, 300)}` };
    }
    const verbose = await api.get('/readyz?verbose', { signal });
    const line = verbose.text.split('\n').find((entry) => /^\[[+-]\]etcd\b/.test(entry));
    if (!line) return { ok: false, message: `/readyz?verbose (HTTP ${verbose.status}) lists no etcd check` };
    if (line.startsWith('[+]')) return { ok: true, message: `${line.trim()} (/readyz?verbose)` };
    return { ok: false, message: `${line.trim()} (/readyz?verbose)` };
  },
};
