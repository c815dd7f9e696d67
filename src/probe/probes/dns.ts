import { lookup } from 'node:dns/promises';
import type { ProbeContext, ProbeDefinition, ProbeOutcome } from '../types.js';
import { DNS_FEEDS, dnsFromHost } from './dns-from-host.js';

/**
 * Cluster DNS resolves `kubernetes.default`. In a pod, through the pod's own resolver (its
 * search domains). On a host, through the cluster DNS Service's address when the host can
 * reach it, and otherwise by checking that the DNS Service exists with ready endpoints,
 * saying what was not checked (src/probe/probes/dns-from-host.ts).
 */
export const dns: ProbeDefinition = {
  id: 'dns',
  summary: 'cluster DNS resolves kubernetes.default (on a host: through the DNS Service, or its ready endpoints)',
  // Read on a host only; started anyway, as service-endpoints reads them too.
  feeds: DNS_FEEDS,
  run(context): Promise<ProbeOutcome> {
    return context.inCluster ? resolveInPod(context) : dnsFromHost(context);
  },
};

async function resolveInPod({ config, signal }: ProbeContext): Promise<ProbeOutcome> {
  const name = config.probe.dnsName;
  const started = performance.now();
  // getaddrinfo cannot be cancelled; the race keeps the probe within its deadline.
  const aborted = new Promise<never>((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(new Error(`resolving ${name}: context deadline exceeded`)), { once: true });
  });
  aborted.catch(() => undefined); // settles after the race when the lookup won
  try {
    const addresses = await Promise.race([lookup(name, { all: true }), aborted]);
    const ms = Math.round(performance.now() - started);
    if (addresses.length === 0) return { ok: false, message: `${name} resolved to no address` };
    return { ok: true, message: `${name} resolved to ${addresses.map((a) => a.address).join(', ')} in ${ms} ms` };
  } catch (err) {
    return { ok: false, message: `resolving ${name} failed: ${(err as Error).message}` };
  }
}
