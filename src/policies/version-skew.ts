import type { AdmissionRequest } from '../kube/types.js';
import type { ClusterState } from '../cluster/state.js';
import { findIntentKind, toIntentView, type VersionRange } from '../cluster/upgrade-intents.js';
import type { UpgradeIntentKind } from '../kube/cluster-api.js';
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
  ['controlplane.cluster.x-k8s.io', 'KubeadmControlPlane', 'kubeadmcontrolplanes'],
  ['cluster.x-k8s.io', 'MachineDeployment', 'machinedeployments'],
  ['cluster.x-k8s.io', 'MachinePool', 'machinepools'],
  ['cluster.x-k8s.io', 'MachineSet', 'machinesets'],
  ['cluster.x-k8s.io', 'Machine', 'machines'],
  ['cluster.x-k8s.io', 'Cluster', 'clusters'],
] as const;

export const versionSkew: PolicyDefinition = {
  id: 'version-skew',
  summary: 'a control plane older than its nodes, moving backwards or skipping a minor, and workers outside the skew policy',
  kinds: [
    NODES,
    ...CAPI_KINDS.map(([group, kind, resource]) => ({ group, version: 'v1beta2', kind, resource, namespaced: true })),
    DEPLOYMENTS,
    DAEMONSETS,
  ],
  buildContext: ({ request, cluster, config }: ContextInput): VersionSkewContext | undefined => {
    const settings = config.policies['version-skew'];
    if (request.kind.group === '' && request.kind.kind === 'Node') return nodeVersion(request, cluster);
    const intentKind = findIntentKind(settings.upgradeIntents, request.kind.group, request.kind.kind);
    if (intentKind) return intentChange(request, intentKind, cluster);
    return addonChange(request, settings.addons);
  },
};

/**
 * A created upgrade intent, or one whose version changes, with the version ranges of the
 * rest of its workload cluster. Edits that leave the version alone are not judged, so a
 * cluster already out of skew can still be repaired (scaled, relabelled, paused).
 */
function intentChange(request: AdmissionRequest, kind: UpgradeIntentKind, cluster: ClusterState): IntentContext | undefined {
  if (request.subResource || !request.object || (request.operation !== 'CREATE' && request.operation !== 'UPDATE')) return undefined;
  const view = toIntentView(request.object, kind, request.namespace);
  if (!view.version) return undefined;
  const previous = request.oldObject ? toIntentView(request.oldObject, kind, request.namespace).version : undefined;
  if (previous && previous.text === view.version.text) return undefined;
  const ranges = cluster.workloadClusterVersions(view);
  return {
    subject: 'intent',
    object: { kind: view.kind, namespace: view.namespace, name: view.name, ...(view.cluster ? { cluster: view.cluster } : {}), role: view.role },
    version: view.version,
    ...(previous ? { previous } : {}),
    ...ranges,
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
