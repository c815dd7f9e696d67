import type { AdmissionRequest, KubeObject } from '../kube/types.js';
import { isRecord } from '../kube/fields.js';
import { canonicalTemplate, changesRolloutTemplate, rolloutTemplateOf } from '../kube/template-hash.js';
import type { ClusterState } from '../cluster/state.js';
import type { LeveeConfig } from '../config.js';

/**
 * What counts as a change to what the cluster runs on (probe-on-change): the Deployments,
 * DaemonSets and StatefulSets of the platform namespaces (kube-system by default), a kubelet
 * reporting another version, Karpenter NodePools, and Cluster API's clusters, classes, worker
 * pools and control planes. A create, a delete, or an update of the spec; never a change of
 * replicas alone (autoscalers scale CoreDNS and worker pools all day), of metadata or status,
 * never a dry-run's business here (the caller decides what to do with a dry-run).
 */

export type PlatformArea = 'workload' | 'node-version' | 'nodepool' | 'cluster-api';

export interface PlatformChange {
  area: PlatformArea;
  /** For messages: `changing the pod template of Deployment kube-system/coredns`. */
  what: string;
  target: { kind: string; namespace: string; name: string };
  /**
   * Whether levee may make this change wait. A kubelet's status report is a fact, not a request
   * anyone can send again later: it starts a probe run, but it is never held.
   */
  holdable: boolean;
  /** A deletion, or a workload's rollback to a template it ran before: what people recover with. */
  recovery: boolean;
}

const WORKLOAD_KINDS: ReadonlySet<string> = new Set(['Deployment', 'DaemonSet', 'StatefulSet']);
const CLUSTER_API_KINDS: ReadonlySet<string> = new Set(['Cluster', 'ClusterClass', 'MachineDeployment', 'MachinePool']);
const CONTROL_PLANE_GROUP = 'controlplane.cluster.x-k8s.io';

/** The platform change this request makes, or undefined for anything else (every ordinary workload). */
export function platformChangeOf(request: AdmissionRequest, config: LeveeConfig, cluster: ClusterState): PlatformChange | undefined {
  if (config.policies['probe-on-change'].controllers.includes(request.userInfo.username)) return undefined;
  const { group, kind } = request.kind;
  if (group === '' && kind === 'Node') return nodeVersionChange(request);
  if (request.subResource) return undefined;
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE' && request.operation !== 'DELETE') return undefined;
  if (group === 'apps' && WORKLOAD_KINDS.has(kind)) return workloadChange(request, config, cluster);
  if (group === 'karpenter.sh' && kind === 'NodePool') return specChange(request, 'nodepool');
  if ((group === 'cluster.x-k8s.io' && CLUSTER_API_KINDS.has(kind)) || group === CONTROL_PLANE_GROUP) return specChange(request, 'cluster-api');
  return undefined;
}

function targetOf(request: AdmissionRequest): PlatformChange['target'] {
  const object = request.object ?? request.oldObject;
  return { kind: request.kind.kind, namespace: request.namespace ?? '', name: object?.metadata?.name || request.name || object?.metadata?.generateName || '' };
}

function named(target: PlatformChange['target']): string {
  return `${target.kind} ${target.namespace ? `${target.namespace}/` : ''}${target.name}`;
}

function workloadChange(request: AdmissionRequest, config: LeveeConfig, cluster: ClusterState): PlatformChange | undefined {
  if (!config.policies['probe-on-change'].namespaces.includes(request.namespace ?? '')) return undefined;
  const target = targetOf(request);
  const kind = request.kind.kind as 'Deployment' | 'DaemonSet' | 'StatefulSet';
  const base = { area: 'workload' as const, target, holdable: true };
  if (request.operation === 'CREATE') return { ...base, what: `creating ${named(target)}`, recovery: false };
  if (request.operation === 'DELETE') return { ...base, what: `deleting ${named(target)}`, recovery: true };
  if (!changesRolloutTemplate(kind, request.oldObject, request.object)) return undefined;
  const after = rolloutTemplateOf(kind, request.object);
  const uid = request.oldObject?.metadata?.uid;
  const rollback = uid !== undefined && after !== undefined && cluster.ranTemplate(uid, after);
  return { ...base, what: `${rollback ? 'rolling back' : 'changing'} the pod template of ${named(target)}`, recovery: rollback };
}

function kubeletVersionOf(object: KubeObject | null | undefined): string {
  const status = isRecord(object?.status) ? object.status : undefined;
  const nodeInfo = isRecord(status?.nodeInfo) ? status.nodeInfo : undefined;
  return typeof nodeInfo?.kubeletVersion === 'string' ? nodeInfo.kubeletVersion : '';
}

/** An existing Node whose kubelet reports another version (an in-place upgrade); new Nodes join all day. */
function nodeVersionChange(request: AdmissionRequest): PlatformChange | undefined {
  if (request.operation !== 'UPDATE' || (request.subResource && request.subResource !== 'status')) return undefined;
  const before = kubeletVersionOf(request.oldObject);
  const after = kubeletVersionOf(request.object);
  if (before === '' || after === '' || before === after) return undefined;
  const target = targetOf(request);
  return { area: 'node-version', target, what: `the kubelet of Node ${target.name} reporting ${after} (was ${before})`, holdable: false, recovery: false };
}

/** The spec without replicas: what a NodePool or a Cluster API object says the cluster runs. */
function specWithoutReplicas(object: KubeObject | null | undefined): string {
  if (!isRecord(object?.spec)) return 'null';
  const { replicas: _replicas, ...rest } = object.spec;
  return canonicalTemplate(rest);
}

function specChange(request: AdmissionRequest, area: 'nodepool' | 'cluster-api'): PlatformChange | undefined {
  const target = targetOf(request);
  const base = { area, target, holdable: true };
  if (request.operation === 'CREATE') return { ...base, what: `creating ${named(target)}`, recovery: false };
  if (request.operation === 'DELETE') return { ...base, what: `deleting ${named(target)}`, recovery: true };
  if (specWithoutReplicas(request.oldObject) === specWithoutReplicas(request.object)) return undefined;
  return { ...base, what: `changing the spec of ${named(target)}`, recovery: false };
}
