import type { KubeObject } from '../../kube/types.js';
import type { ControlPlaneLease } from '../cache.js';
import { toLeaseView, type LeaseView } from '../cache-views.js';
import { expectStatus } from '../kube-api.js';
import type { ProbeContext, ProbeOutcome } from '../types.js';

/**
 * Liveness of a leader-elected control-plane component, read from its Lease in kube-system:
 * a live leader renews it every few seconds; a Lease older than its own duration (plus a
 * grace for clock skew) means nobody is doing that component's work.
 *
 * The Lease comes from the cache's watch, which costs no request. Only an answer that
 * would fail the probe (or a watch that cannot be read) is checked with one GET: a watch that
 * fell silent would show an old renewal, and that must not pass for a dead component.
 */
export async function leaseRenewal(context: ProbeContext, component: ControlPlaneLease): Promise<ProbeOutcome> {
  context.cache.start([`lease/${component}`]);
  const watched = context.cache.unavailable([`lease/${component}`]) === undefined ? context.cache.lease(component) : undefined;
  if (watched) {
    const outcome = judge(context, component, watched, 'watch');
    if (outcome.ok) return outcome;
  }
  const path = `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${component}`;
  const response = await context.api.get(path, { signal: context.signal });
  if (response.status === 404) {
    return { ok: false, message: `no Lease kube-system/${component}: ${component} has never run with leader election here` };
  }
  const lease = toLeaseView(expectStatus(response, `reading Lease kube-system/${component}`, 200).body as KubeObject);
  return judge(context, component, lease, 'get');
}

function judge(context: ProbeContext, component: ControlPlaneLease, lease: LeaseView, source: 'watch' | 'get'): ProbeOutcome {
  const duration = lease.durationSeconds;
  const grace = context.config.probe.thresholds.leaseGraceSeconds;
  if (!lease.holder || !Number.isFinite(lease.renewedAt)) {
    return { ok: false, message: `Lease kube-system/${component} has no holder: no ${component} is leading`, details: { source } };
  }
  const ageSeconds = Math.max(0, (context.now().getTime() - lease.renewedAt) / 1000);
  const details = { holder: lease.holder, renewTime: lease.renewTime, ageSeconds: Math.round(ageSeconds), leaseDurationSeconds: duration, source };
  if (ageSeconds > duration + grace) {
    return {
      ok: false,
      message: `Lease kube-system/${component} last renewed ${Math.round(ageSeconds)} s ago by ${lease.holder}, beyond its ${duration} s duration`,
      details,
    };
  }
  return { ok: true, message: `Lease kube-system/${component} renewed ${Math.round(ageSeconds)} s ago by ${lease.holder}`, details };
}
