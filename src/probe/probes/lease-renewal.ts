import { expectStatus } from '../kube-api.js';
import type { ProbeContext, ProbeOutcome } from '../types.js';

interface Lease {
  spec?: { holderIdentity?: string | null; renewTime?: string | null; leaseDurationSeconds?: number };
}

/**
 * Liveness of a leader-elected control-plane component, read from its Lease in kube-system:
 * a live leader renews it every few seconds; a Lease older than its own duration (plus a
 * grace for clock skew) means nobody is doing that component's work.
 */
export async function leaseRenewal(context: ProbeContext, component: string): Promise<ProbeOutcome> {
  const path = `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${component}`;
  const response = await context.api.get<Lease>(path, { signal: context.signal });
  if (response.status === 404) {
    return { ok: false, message: `no Lease kube-system/${component}: ${component} has never run with leader election here` };
  }
  const spec = expectStatus(response, `reading Lease kube-system/${component}`, 200).body.spec ?? {};
  const renewed = Date.parse(spec.renewTime ?? '');
  const duration = spec.leaseDurationSeconds ?? 15;
  const grace = context.config.probe.thresholds.leaseGraceSeconds;
  if (!spec.holderIdentity || !Number.isFinite(renewed)) {
    return { ok: false, message: `Lease kube-system/${component} has no holder: no ${component} is leading` };
  }
  const ageSeconds = Math.max(0, (context.now().getTime() - renewed) / 1000);
  const details = { holder: spec.holderIdentity, renewTime: spec.renewTime, ageSeconds: Math.round(ageSeconds), leaseDurationSeconds: duration };
  if (ageSeconds > duration + grace) {
    return {
      ok: false,
      message: `Lease kube-system/${component} last renewed ${Math.round(ageSeconds)} s ago by ${spec.holderIdentity}, beyond its ${duration} s duration`,
      details,
    };
  }
  return { ok: true, message: `Lease kube-system/${component} renewed ${Math.round(ageSeconds)} s ago by ${spec.holderIdentity}`, details };
}
