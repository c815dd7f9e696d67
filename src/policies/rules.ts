import type { PolicyId } from '../config.js';

/**
 * Every rule a policy reports, with the help a reader of a report needs and the README
 * section that explains it. Reports that list rules up front (SARIF) take them from here; a
 * test checks that this list and the rules the Rego policies emit are the same.
 */
export interface PolicyRule {
  policy: PolicyId;
  rule: string;
  /** One line: what the rule refuses or reports. */
  summary: string;
  /** What to do about a finding. */
  help: string;
  /** The README section (its anchor) that explains the policy. */
  readmeSection: string;
}

const rule = (policy: PolicyId, id: string, summary: string, help: string, readmeSection: string = policy): PolicyRule => ({ policy, rule: id, summary, help, readmeSection });

export const POLICY_RULES: readonly PolicyRule[] = [
  rule('scale-to-zero', 'scale-to-zero', 'A workload set to 0 replicas while a Service selects its pods and nothing else backs that Service (the Monzo outage).', 'Delete the Service first, scale another workload behind it, or override with levee.dev/override: scale-to-zero.'),
  rule('scale-to-zero', 'autoscaler-to-zero', 'An HPA with minReplicas 0, or a KEDA ScaledObject that can reach zero, in front of a workload a Service selects.', 'Scale-to-zero behind an activator is a legitimate design; check that something answers the Service while the workload is at zero.'),
  rule('scale-to-zero', 'last-backend-deleted', 'Deleting the last workload (a DaemonSet or a bare Pod too) behind a Service that still exists.', 'Delete the Service first, or keep another workload behind it.'),
  rule('scale-to-zero', 'labels-leave-service', 'New pod labels (a Deployment, StatefulSet or DaemonSet template, a bare Pod) that a Service it alone backs no longer selects.', "Keep the labels the Service selects, change the Service's selector first, or override with levee.dev/override: scale-to-zero."),
  rule('version-skew', 'control-plane-older-than-workers', 'A control plane version (minor) below any of its workers (the ride-hailing outage).', 'Downgrade the workers first, or keep the control plane version.', 'version-skew'),
  rule('version-skew', 'control-plane-downgrade', 'A control plane downgrade, patch releases included.', 'A control plane must never move back below the kubelets it serves: keep its version.'),
  rule('version-skew', 'minor-skip', 'A control plane upgrade that skips a minor version.', 'Upgrade one minor at a time.'),
  rule('version-skew', 'workers-newer-than-control-plane', 'Workers on a newer minor than the oldest control plane member.', 'Upgrade the control plane first, or keep the workers version.'),
  rule('version-skew', 'control-plane-too-far-ahead', 'A control plane upgrade that would leave its workers more minors behind than the skew policy allows.', 'Upgrade the workers first, one minor at a time.'),
  rule('version-skew', 'workers-too-old', 'Workers set more minors behind the control plane than the skew policy allows.', 'Keep the workers within the allowed skew of the control plane.'),
  rule('version-skew', 'kubelet-newer-than-apiserver', 'A Node whose kubelet is on a newer minor than the API server.', 'Upgrade the control plane first, or run an older kubelet.'),
  rule('version-skew', 'addon-downgrade', 'A minor downgrade of a well-known add-on image in kube-system (warns by default).', "Check that the add-on version supports the cluster's Kubernetes version."),
  rule('spot-capacity', 'on-demand-floor', 'Deleting, cordoning, tainting or relabelling as spot an on-demand node below the minimum of schedulable on-demand nodes (the cnblogs outage).', 'Add on-demand capacity first, or uncordon another on-demand node.'),
  rule('spot-capacity', 'on-demand-floor-by-failure-handler', "The same change made by one of the cluster's own failure handlers (audited, never refused).", 'Check that on-demand capacity comes back.'),
  rule('spot-capacity', 'all-pools-spot', 'Leaving no NodePool that can launch on-demand capacity, or a Cluster API workload cluster with spot replicas only.', 'Allow on-demand capacity in a NodePool (karpenter.sh/capacity-type In [spot, on-demand]), or keep on-demand replicas in a MachineDeployment or MachinePool.'),
  rule('spot-capacity', 'all-pools-spot-by-failure-handler', "A workload cluster's pools changed that way by Cluster API itself, the garbage collector or the namespace controller (audited, never refused).", 'Check that the workload cluster keeps on-demand replicas.'),
  rule('spot-capacity', 'unknown-capacity', 'A worker pool whose machines levee cannot tell (a provider object not seen yet, or a provider it does not read), counted as on-demand (warns).', 'Create the template or infrastructure machine pool before the pool that uses it, or check the pool yourself.'),
  rule('spot-capacity', 'critical-pinned-to-spot', 'A critical workload whose node selector or affinity allows spot nodes only.', 'Allow on-demand nodes too.'),
  rule('probe-gate', 'cluster-unhealthy', "A rollout while levee's black-box probes say the cluster is Unhealthy.", 'Repair the cluster first (see the failing probes), or override with levee.dev/override: probe-gate.', 'probe-gate-and-levee-probe'),
  rule('probe-gate', 'verdict-unknown', 'A rollout while the probe verdict is missing or stale.', 'Check that levee probe runs next to levee serve.', 'probe-gate-and-levee-probe'),
  rule('probe-on-change', 'run-in-progress', 'A platform change (kube-system workload, NodePool, Cluster API object) while the probe run after the last one levee admitted has no verdict yet.', 'Retry once the run has its verdict (the message says when), or override with levee.dev/override: probe-on-change.', 'probe-on-change'),
  rule('probe-on-change', 'cluster-unhealthy', "A platform change while levee's probes say the cluster is Unhealthy (for instance after the last platform change).", 'Repair the cluster first, roll the last change back, or override with levee.dev/override: probe-on-change.', 'probe-on-change'),
  rule('probe-on-change', 'run-unknown', 'A platform change after a probe run that gave no verdict (warns by default).', 'Check that levee probe runs next to levee serve and answers POST /run.', 'probe-on-change'),
];
