import type { ProbeDefinition, ProbeOutcome } from '../types.js';
import { listNames } from './nodes.js';

interface ServiceList {
  items?: Array<{
    metadata?: { namespace?: string; name?: string; creationTimestamp?: string; deletionTimestamp?: string };
    spec?: { selector?: Record<string, string> | null; type?: string };
  }>;
}

interface SliceList {
  items?: Array<{
    metadata?: { namespace?: string; labels?: Record<string, string> };
    endpoints?: Array<{ conditions?: { ready?: boolean | null } }> | null;
  }>;
}

/**
 * Services that select pods but have no ready endpoint: whatever calls them fails (the Monzo
 * outage's symptom). Services younger than a grace period are still starting and are skipped.
 */
export const serviceEndpoints: ProbeDefinition = {
  id: 'service-endpoints',
  summary: 'every Service with a selector has at least one ready endpoint',
  async run({ config, now, shared }): Promise<ProbeOutcome> {
    const [services, slices] = await Promise.all([
      shared<ServiceList>('/api/v1/services?resourceVersion=0'),
      shared<SliceList>('/apis/discovery.k8s.io/v1/endpointslices?resourceVersion=0'),
    ]);
    const backed = new Set<string>();
    for (const slice of slices.items ?? []) {
      const service = slice.metadata?.labels?.['kubernetes.io/service-name'];
      if (!service) continue;
      // A nil `ready` means ready (discovery.k8s.io/v1).
      if ((slice.endpoints ?? []).some((endpoint) => endpoint.conditions?.ready !== false)) backed.add(`${slice.metadata?.namespace}/${service}`);
    }
    const cutoff = now().getTime() - config.probe.thresholds.serviceGraceSeconds * 1000;
    const empty: string[] = [];
    let judged = 0;
    for (const service of services.items ?? []) {
      const metadata = service.metadata ?? {};
      if (service.spec?.type === 'ExternalName' || Object.keys(service.spec?.selector ?? {}).length === 0) continue;
      if (metadata.deletionTimestamp || !(Date.parse(metadata.creationTimestamp ?? '') < cutoff)) continue;
      judged++;
      const key = `${metadata.namespace}/${metadata.name}`;
      if (!backed.has(key)) empty.push(key);
    }
    const details = { judged, withoutEndpoints: empty.length };
    if (empty.length > 0) {
      return { ok: false, message: `${empty.length} of ${judged} Services with a selector have no ready endpoint: ${listNames(empty.sort())}`, details };
    }
    return { ok: true, message: `all ${judged} Services with a selector have ready endpoints`, details };
  },
};
