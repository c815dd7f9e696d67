import { expectStatus } from '../kube-api.js';
import type { ProbeContext, ProbeDefinition, ProbeOutcome } from '../types.js';
import { PROBE_LABEL } from '../../probe-verdict.js';
import { ensureNamespace, runSuffix, sweepSoon, sweepStaleWhenDue } from './support.js';

/**
 * The API write path as a user walks it: create a ConfigMap in levee's namespace, read it back,
 * delete it; each step timed. A write that is refused, lost or slower than the threshold fails
 * the probe. Two writes and no edit: levee's RBAC lets it create and delete ConfigMaps in its
 * namespace but never update or patch one, which would reach its own configuration too.
 */
export const apiWritePath: ProbeDefinition = {
  id: 'api-write-path',
  summary: "create, read back and delete a ConfigMap in levee's namespace, timed",
  async run(context: ProbeContext): Promise<ProbeOutcome> {
    const { api, config, signal } = context;
    const namespace = config.leveeNamespace;
    const collection = `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`;
    const name = `levee-probe-write-${runSuffix()}`;
    const path = `${collection}/${name}`;
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace, labels: { [PROBE_LABEL]: 'true' } },
      data: { step: 'created' },
    };
    const steps: Record<string, number> = {};
    const timed = async <T>(step: string, action: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      try {
        return await action();
      } finally {
        steps[step] = Math.round(performance.now() - started);
      }
    };

    let created = await timed('create', () => api.post(collection, body, { signal }));
    if (created.status === 404 && !context.inCluster) {
      await ensureNamespace(api, namespace, signal);
      created = await timed('create', () => api.post(collection, body, { signal }));
    }
    expectStatus(created, `creating ConfigMap ${namespace}/${name}`, 201);
    try {
      const read = expectStatus(await timed('read', () => api.get<{ data?: Record<string, string> }>(path, { signal })), `reading ConfigMap ${namespace}/${name}`, 200);
      if (read.body.data?.step !== body.data.step) {
        return { ok: false, stage: 'read', message: `ConfigMap ${namespace}/${name} read back without what was written (step=${read.body.data?.step ?? 'none'})`, details: { steps } };
      }
    } finally {
      // Not tied to the probe's signal: the ConfigMap goes even when the probe ran out of time.
      const deleted = await timed('delete', () => api.delete(path)).catch((err: unknown) => {
        sweepSoon(api, collection);
        throw err;
      });
      if (![200, 202, 404].includes(deleted.status)) sweepSoon(api, collection);
      expectStatus(deleted, `deleting ConfigMap ${namespace}/${name}`, 200, 202, 404);
    }
    // Leftovers of runs that were cut short between create and delete.
    await sweepStaleWhenDue(api, collection, 5 * 60_000, signal);

    const total = Object.values(steps).reduce((sum, ms) => sum + ms, 0);
    const breakdown = Object.entries(steps).map(([step, ms]) => `${step} ${ms} ms`).join(', ');
    const threshold = config.probe.thresholds.writeLatencyMs;
    if (total > threshold) {
      return { ok: false, stage: 'slow', message: `ConfigMap writes took ${total} ms, over the ${threshold} ms threshold (${breakdown})`, details: { steps } };
    }
    return { ok: true, message: `ConfigMap create, read and delete in ${total} ms (${breakdown})`, details: { steps } };
  },
};
