import type { AdmissionRequest } from '../kube/types.js';
import type { ClusterState } from '../cluster/state.js';
import type { PendingChange } from '../cluster/recent-decisions.js';
import { intentKey, intentKindFor, toIntentView, type IntentView, type VersionRange } from '../cluster/upgrade-intents.js';
import type { UpgradeIntentKind } from '../kube/cluster-api.js';
import { refKey, toClusterView } from '../cluster/workload-clusters.js';
import { parseKubeVersion, type KubeVersion } from '../cluster/versions.js';
import { NODES, DEPLOYMENTS, DAEMONSETS } from './judged-kinds.js';
import type { ContextInput, PolicyDefinition } from './types.js';
import { addonChange, type AddonContext } from './version-skew-addons.js';

export interface IntentContext {
  subject: 'intent';
  object: { kind: string; namespace: string; name: string; cluster?: string; role: 'control-plane' | 'workers' | 'both' };
  version: KubeVersion;
  previous?: KubeVersion;
  /** The other objects of the same workload cluster, never the management cluster's nodes. */
  controlPlane?: VersionRange;
  workers?: VersionRange;
}

export interface NodeVersionContext {
  subject: 'node';
  node: string;
  kubelet: KubeVersion;
  previousKubelet?: KubeVersion;
  apiServer?: KubeVersion;
  kubelets?: VersionRange;
}

export type VersionSkewContext = IntentContext | NodeVersionContext | AddonContext;

const CAPI_KINDS = [
  ['controlplane.cluster.x-k8s.io', 'KubeadmControlPlane', 'kubeadmcontrolplanes', 'v1beta2'],
  // Other providers' control planes, found from their CRDs in the webhook (any kind of this
  // group); listed here for levee audit --cluster and the webhook registration check.
  ['controlplane.cluster.x-k8s.io', 'RKE2ControlPlane', 'rke2controlplanes', 'v1beta1'],
  ['controlplane.cluster.x-k8s.io', 'KThreesControlPlane', 'kthreescontrolplanes', 'v1beta2'],
  ['controlplane.cluster.x-k8s.io', 'TalosControlPlane', 'taloscontrolplanes', 'v1alpha3'],
  ['controlplane.cluster.x-k8s.io', 'AWSManagedControlPlane', 'awsmanagedcontrolplanes', 'v1beta2'],
  ['infrastructure.cluster.x-k8s.io', 'AzureManagedControlPlane', 'azuremanagedcontrolplanes', 'v1beta1'],
  ['infrastructure.cluster.x-k8s.io', 'GCPManagedControlPlane', 'gcpmanagedcontrolplanes', 'v1beta1'],
  ['cluster.x-k8s.io', 'MachineDeployment', 'machinedeployments', 'v1beta2'],
  ['cluster.x-k8s.io', 'MachinePool', 'machinepools', 'v1beta2'],
  ['cluster.x-k8s.io', 'MachineSet', 'machinesets', 'v1beta2'],
  ['cluster.x-k8s.io', 'Machine', 'machines', 'v1beta2'],
  ['cluster.x-k8s.io', 'Cluster', 'clusters', 'v1beta2'],
] as const;

export const versionSkew: PolicyDefinition = {
  id: 'version-skew',
  summary: 'a control plane older than its nodes, moving backwards or skipping a minor, and workers outside the skew policy',
  kinds: [
    NODES,
    ...CAPI_KINDS.map(([group, kind, resource, version]) => ({ group, version, kind, resource, namespaced: true })),
    DEPLOYMENTS,
    DAEMONSETS,
  ],
  judgedKindOf: (group, kind, config) => {
    const skew = config.policies['version-skew'];
    const found = intentKindFor(skew.upgradeIntents, skew.controlPlanes, group, kind);
    return found ? { group, version: found.versions[0] ?? '', kind, resource: `${kind.toLowerCase()}s`, namespaced: true } : undefined;
  },
  buildContext: ({ request, cluster, config }: ContextInput): VersionSkewContext | undefined => {
    const settings = config.policies['version-skew'];
    if (request.kind.group === '' && request.kind.kind === 'Node') return nodeVersion(request, cluster);
    const intentKind = intentKindFor(settings.upgradeIntents, settings.controlPlanes, request.kind.group, request.kind.kind);
    const intent = intentKind ? intentChange(request, intentKind, cluster) : undefined;
    if (intent) return intent;
    if (request.kind.group === 'cluster.x-k8s.io' && request.kind.kind === 'Cluster') return controlPlaneLink(request, cluster);
    if (intentKind) return undefined;
    return addonChange(request, settings.addons);
  },
  pendingChanges: ({ request, cluster, config }: ContextInput): PendingChange[] => {
    const settings = config.policies['version-skew'];
    const intentKind = intentKindFor(settings.upgradeIntents, settings.controlPlanes, request.kind.group, request.kind.kind);
    const change = intentKind ? changedIntent(request, intentKind) : undefined;
    // What the watch will show: the object's own view, not the cluster levee linked it to.
    return change ? [{ store: cluster.upgradeIntents.name, key: intentKey(change.view), after: { ...change.view } }] : [];
  },
};

/**
 * A created upgrade intent, or one whose version changes, with the version ranges of the
 * rest of its workload cluster. Edits that leave the version alone are not judged, so a
 * cluster already out of skew can still be repaired (scaled, relabelled, paused).
 */
function intentChange(request: AdmissionRequest, kind: UpgradeIntentKind, cluster: ClusterState): IntentContext | undefined {
  const change = changedIntent(request, kind);
  if (!change) return undefined;
  const { view, version, previous } = change;
  const workloadCluster = cluster.workloadClusterOf(view);
  const ranges = cluster.workloadClusterVersions(view, workloadCluster);
  return {
    subject: 'intent',
    object: { kind: view.kind, namespace: view.namespace, name: view.name, ...(workloadCluster ? { cluster: workloadCluster } : {}), role: view.role },
    version,
    ...(previous ? { previous } : {}),
    ...ranges,
  };
}

/** The intent's view when the request creates it with a version or changes its version; what pendingChanges records. */
function changedIntent(request: AdmissionRequest, kind: UpgradeIntentKind): { view: IntentView; version: KubeVersion; previous?: KubeVersion } | undefined {
  if (request.subResource || !request.object || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) return undefined;
  const view = toIntentView(request.object, kind, request.namespace);
  if (!view.version) return undefined;
  const previous = request.oldObject ? toIntentView(request.oldObject, kind, request.namespace).version : undefined;
  if (previous && previous.text === view.version.text) return undefined;
  return { view, version: view.version, ...(previous ? { previous } : {}) };
}

/**
 * A Cluster that starts pointing at a control plane (`spec.controlPlaneRef`): manifests applied
 * in any order link an existing control plane to existing workers here, so the link is judged
 * as if the control plane were set to its version now. A link that stays as it was is not.
 */
function controlPlaneLink(request: AdmissionRequest, cluster: ClusterState): IntentContext | undefined {
  if (request.subResource || !request.object || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) return undefined;
  const namespace = request.object.metadata?.namespace || request.namespace || '';
  const name = request.object.metadata?.name || request.name || '';
  const ref = toClusterView({ ...request.object, metadata: { ...request.object.metadata, namespace } }).controlPlane;
  if (!ref) return undefined;
  const before = request.oldObject ? toClusterView({ ...request.oldObject, metadata: { ...request.oldObject.metadata, namespace } }).controlPlane : undefined;
  if (before && refKey(before) === refKey(ref)) return undefined;
  const key = intentKey({ group: ref.group, kind: ref.kind, namespace: ref.namespace, name: ref.name });
  const controlPlane = cluster.recentDecisions.overlay(cluster.upgradeIntents.name, key, cluster.upgradeIntents.get(key));
  if (!controlPlane?.version) return undefined;
  return {
    subject: 'intent',
    object: { kind: controlPlane.kind, namespace: controlPlane.namespace, name: controlPlane.name, cluster: name, role: 'control-plane' },
    version: controlPlane.version,
    ...cluster.workloadClusterVersions(controlPlane, name),
  };
}

/**
 * A Node registering, or reporting a different kubelet version; heartbeats are not judged.
 * This is the one place that guard lives: version_skew.rego does not check it again.
 */
function nodeVersion(request: AdmissionRequest, cluster: ClusterState): NodeVersionContext | undefined {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return undefined;
  const kubelet = parseKubeVersion(kubeletVersionOf(request.object));
  if (!kubelet) return undefined;
  const previousKubelet = parseKubeVersion(kubeletVersionOf(request.oldObject));
  if (previousKubelet && previousKubelet.text === kubelet.text) return undefined;
  const name = request.object?.metadata?.name ?? request.name ?? '';
  const apiServer = cluster.apiServer.current();
  const kubelets = cluster.kubeletsBesides(name);
  return {
    subject: 'node',
    node: name,
    kubelet,
    ...(previousKubelet ? { previousKubelet } : {}),
    ...(apiServer ? { apiServer } : {}),
    ...(kubelets ? { kubelets } : {}),
  };
}

function kubeletVersionOf(object: AdmissionRequest['object']): unknown {
  return (object?.status as { nodeInfo?: { kubeletVersion?: unknown } } | undefined)?.nodeInfo?.kubeletVersion;
}
