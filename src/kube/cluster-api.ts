/**
 * Cluster API's upgrade intents: the kinds whose objects declare the Kubernetes version a
 * workload cluster's control plane or workers should run, where that version is written and
 * how to tell which workload cluster an object belongs to (k8s-reference.md 1.3). Which kinds
 * levee reads is configuration (`policies.version-skew.upgradeIntents`); these are its defaults.
 */

export const CLUSTER_NAME_LABEL = 'cluster.x-k8s.io/cluster-name';
const CAPI_VERSIONS = ['v1beta2', 'v1beta1'];

export type IntentRole = 'control-plane' | 'workers' | 'control-plane-and-workers';

export interface UpgradeIntentKind {
  group: string;
  kind: string;
  versions: readonly string[];
  /** Dot path of the version field, e.g. `spec.template.spec.version`. */
  versionField: string;
  /** Read when `versionField` is empty: a provider's older spelling it still honours. */
  fallbackVersionField?: string;
  role: IntentRole;
  /** Objects of a workers kind that carry this label belong to the control plane (CAPI Machines). */
  controlPlaneLabel?: string;
  /** Label naming the workload cluster, tried first. */
  clusterLabel?: string;
  /** Field naming the workload cluster (`spec.clusterName`; `metadata.name` for Cluster itself). */
  clusterField?: string;
}

/** Cluster API's version-bearing kinds (k8s-reference.md 1.3), v1beta2 and v1beta1. */
export const DEFAULT_UPGRADE_INTENTS: readonly UpgradeIntentKind[] = [
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

/**
 * Control planes found from their group or kind rather than listed one by one: every kind of
 * `groups` (RKE2, K3s, Talos, EKS...) and the `kinds` of other groups (the managed AKS and GKE
 * control planes live in the infrastructure group), with the Kubernetes version in
 * `versionField` as the Cluster API control plane contract puts it. `exclude`: kinds whose
 * version field holds something else (ROSAControlPlane: an OpenShift version).
 */
export interface ControlPlaneDiscovery {
  groups: readonly string[];
  kinds: readonly { group: string; kind: string; fallbackVersionField?: string }[];
  exclude: readonly string[];
  versionField: string;
}

export const DEFAULT_CONTROL_PLANES: ControlPlaneDiscovery = {
  groups: ['controlplane.cluster.x-k8s.io'],
  kinds: [
    { group: 'infrastructure.cluster.x-k8s.io', kind: 'AzureManagedControlPlane' },
    // CAPG still honours the deprecated `spec.controlPlaneVersion` when `spec.version` is unset.
    { group: 'infrastructure.cluster.x-k8s.io', kind: 'GCPManagedControlPlane', fallbackVersionField: 'spec.controlPlaneVersion' },
  ],
  exclude: ['ROSAControlPlane'],
  versionField: 'spec.version',
};
