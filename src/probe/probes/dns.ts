import { lookup } from 'node:dns/promises';
import type { ProbeDefinition, ProbeOutcome } from '../types.js';

/**
 * In-cluster DNS resolves `kubernetes.default` (through the pod's search domains). Only
 * meaningful inside a pod: on a host there is no cluster DNS to ask.
 */
export const dns: ProbeDefinition = {
  id: 'dns',
  summary: 'in-cluster DNS resolves kubernetes.default (in a pod only)',
  async run({ config, inCluster, signal }): Promise<ProbeOutcome> {
    const name = config.probe.dnsName;
    if (!inCluster) return { ok: true, skipped: true, message: `not running in a pod: ${name} is resolved only in-cluster` };
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
  },
};
