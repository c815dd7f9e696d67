import { z } from 'zod';
import { enforcementAction } from './action.js';

/**
 * The `policies.version-skew` settings beyond action and exemptions (merged, validated and
 * frozen by src/config.ts with the rest of the configuration).
 */

export const CLUSTER_NAME_LABEL = 'cluster.x-k8s.io/cluster-name';
const CAPI_VERSIONS = ['v1beta2', 'v1beta1'];

const upgradeIntentKind = z.strictObject({
  group: z.string().min(1),
  kind: z.string().min(1),
  versions: z.array(z.string().min(1)).min(1),
  versionField: z.string().min(1),
  role: z.enum(['control-plane', 'workers', 'control-plane-and-workers']),
  controlPlaneLabel: z.string().min(1).optional(),
  clusterLabel: z.string().min(1).optional(),
  clusterField: z.string().min(1).optional(),
});
type UpgradeIntentKind = z.infer<typeof upgradeIntentKind>;

/** Cluster API's version-bearing kinds (k8s-reference.md 1.3), v1beta2 and v1beta1. */
export const DEFAULT_UPGRADE_INTENTS: UpgradeIntentKind[] = [
  {
    group: 'controlplane.cluster.x-k8s.io',
    kind: 'KubeadmControlPlane',
    versions: CAPI_VERSIONS,
    versionField: 'spec.version',
    role: 'control-plane',
    clusterLabel: CLUSTER_NAME_LABEL,
  },
  ...['MachineDeployment', 'MachinePool', 'MachineSet'].map(
    (kind): UpgradeIntentKind => ({
      group: 'cluster.x-k8s.io',
      kind,
      versions: CAPI_VERSIONS,
      versionField: 'spec.template.spec.version',
      role: 'workers',
      clusterLabel: CLUSTER_NAME_LABEL,
      clusterField: 'spec.clusterName',
    }),
  ),
  {
    group: 'cluster.x-k8s.io',
    kind: 'Machine',
    versions: CAPI_VERSIONS,
    versionField: 'spec.version',
    role: 'workers',
    controlPlaneLabel: 'cluster.x-k8s.io/control-plane',
    clusterLabel: CLUSTER_NAME_LABEL,
    clusterField: 'spec.clusterName',
  },
  {
    group: 'cluster.x-k8s.io',
    kind: 'Cluster',
    versions: CAPI_VERSIONS,
    versionField: 'spec.topology.version',
    role: 'control-plane-and-workers',
    clusterField: 'metadata.name',
  },
];

export interface AddonImages {
  name: string;
  /** Image repositories, matched as the whole repository or its trailing path (`calico/node`). */
  repositories: string[];
}

export const DEFAULT_ADDONS: AddonImages[] = [
  { name: 'coredns', repositories: ['coredns', 'coredns/coredns'] },
  { name: 'kube-proxy', repositories: ['kube-proxy'] },
  { name: 'calico', repositories: ['calico/node', 'calico/cni', 'calico/kube-controllers', 'calico/typha'] },
  { name: 'cilium', repositories: ['cilium/cilium', 'cilium/operator', 'cilium/operator-generic', 'cilium/operator-aws'] },
  { name: 'flannel', repositories: ['flannel/flannel', 'flannel/flannel-cni-plugin', 'coreos/flannel'] },
  { name: 'aws-node', repositories: ['amazon-k8s-cni', 'amazon-k8s-cni-init', 'amazon/aws-network-policy-agent'] },
];


export const versionSkewSettings = {
  /** Per-rule actions; a rule not listed takes the policy's action. */
  rules: z
    .strictObject({
      'control-plane-older-than-workers': enforcementAction.optional(),
      'control-plane-downgrade': enforcementAction.optional(),
      'minor-skip': enforcementAction.optional(),
      'workers-newer-than-control-plane': enforcementAction.optional(),
      'workers-too-old': enforcementAction.optional(),
      'kubelet-newer-than-apiserver': enforcementAction.optional(),
      'addon-downgrade': enforcementAction.default('warn'),
    })
    .default({ 'addon-downgrade': 'warn' }),
  /** How often GET /version is asked, off the admission path. */
  apiServerRefreshSeconds: z.number().int().min(5).max(3600).default(60),
  upgradeIntents: z.array(upgradeIntentKind).default(() => structuredClone(DEFAULT_UPGRADE_INTENTS)),
  addons: z
    .strictObject({
      namespaces: z.array(z.string()).default(['kube-system']),
      images: z.array(z.strictObject({ name: z.string().min(1), repositories: z.array(z.string().min(1)) })).default(() => structuredClone(DEFAULT_ADDONS)),
    })
    .default(() => ({ namespaces: ['kube-system'], images: structuredClone(DEFAULT_ADDONS) })),
};
