import { z } from 'zod';

/**
 * `probe.fleet`: one `levee probe` watching several clusters (one kubeconfig context each)
 * and publishing one ProbeVerdict per cluster into the hub cluster. Absent: the probe watches
 * the one cluster of its kubeconfig, as always.
 */

const member = z.strictObject({
  /** The kubeconfig context that reaches the member cluster. */
  context: z.string().min(1),
  /** The hub ProbeVerdict's name; defaults to one made from the context (see fleet/members.ts). */
  name: z.string().min(1).optional(),
});

export const fleetSettings = z.strictObject({
  /** The kubeconfig context of the hub cluster, where every member's ProbeVerdict is written (it may be a member too). */
  hubContext: z.string().min(1),
  members: z.array(member).min(1),
  /** The coordination.k8s.io Lease in the hub's levee namespace that elects the one publishing fleet probe. */
  leaseName: z.string().min(1).default('levee-fleet'),
  /** A member whose API server gave no answer for this long (refused, reset, timed out) is Unknown in the hub. */
  unreachableAfterSeconds: z.number().min(1).default(10),
});

export type FleetSettings = z.infer<typeof fleetSettings>;
export type FleetMemberSettings = z.infer<typeof member>;
