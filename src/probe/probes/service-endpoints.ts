import type { ProbeDefinition, ProbeOutcome } from '../types.js';
import { listNames } from './nodes.js';
import { unreadFeeds } from './support.js';

/**
 * Services that select pods but have no ready endpoint: whatever calls them fails (the Monzo
 * outage's symptom). Services younger than a grace period are still starting and are skipped.
 */
export const serviceEndpoints: ProbeDefinition = {
  id: 'service-endpoints',
  summary: 'every Service with a selector has at least one ready endpoint',
  feeds: ['services', 'endpointslices'],
  async run(context): Promise<ProbeOutcome> {
    const { config, now, cache } = context;
    const unread = await unreadFeeds(context, ['services', 'endpointslices']);
    if (unread) return unread;
    const cutoff = now().getTime() - config.probe.thresholds.serviceGraceSeconds * 1000;
    const empty: string[] = [];
    let judged = 0;
    for (const service of cache.services()) {
      if (service.type === 'ExternalName' || !service.hasSelector) continue;
      if (service.deleting || !(service.createdAt < cutoff)) continue;
      judged++;
      if (!cache.slicesOf(service.namespace, service.name).some((slice) => slice.readyEndpoints > 0)) empty.push(`${service.namespace}/${service.name}`);
    }
    const details = { judged, withoutEndpoints: empty.length };
    if (empty.length > 0) {
      return { ok: false, message: `${empty.length} of ${judged} Services with a selector have no ready endpoint: ${listNames(empty.sort())}`, details };
    }
    return { ok: true, message: `all ${judged} Services with a selector have ready endpoints`, details };
  },
};
