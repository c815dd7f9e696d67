import type { AdmissionRequest, KubeObject, Operation } from '../../src/kube/types.js';
import { scaleRequest as scaleRequestOf } from './requests.js';

/** Builders for Nodes, Cluster API objects, NodePools and the requests that carry them. */

export interface NodeOptions {
  capacity?: 'on-demand' | 'spot' | 'none';
  pool?: string;
  kubelet?: string;
  unschedulable?: boolean;
  taints?: Array<{ key: string; effect: string; value?: string }>;
  labels?: Record<string, string>;
}

/** A Node labelled the way Karpenter labels it (the local cluster's nodes carry the same keys). */
export function nodeObject(name: string, options: NodeOptions = {}): KubeObject {
  const capacity = options.capacity ?? 'on-demand';
  const labels: Record<string, string> = { 'kubernetes.io/hostname': name, ...(options.labels ?? {}) };
  if (capacity !== 'none') labels['karpenter.sh/capacity-type'] = capacity;
  if (options.pool) labels['karpenter.sh/nodepool'] = options.pool;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels },
    spec: {
      ...(options.unschedulable ? { unschedulable: true } : {}),
      ...(options.taints ? { taints: options.taints } : {}),
    },
    status: { nodeInfo: { kubeletVersion: options.kubelet ?? 'v1.34.4' } },
  };
}

export function request(
  kind: { group: string; version: string; kind: string; resource: string },
  operation: Operation,
  object: KubeObject | null,
  oldObject: KubeObject | null,
  extra: Partial<AdmissionRequest> = {},
): AdmissionRequest {
  const subject = object ?? oldObject;
  return {
    uid: 'uid-fleet',
    kind: { group: kind.group, version: kind.version, kind: kind.kind },
    resource: { group: kind.group, version: kind.version, resource: kind.resource },
    name: subject?.metadata?.name ?? '',
    ...(subject?.metadata?.namespace ? { namespace: subject.metadata.namespace } : {}),
    operation,
    userInfo: { username: 'alice', groups: ['system:authenticated'] },
    object,
    oldObject,
    dryRun: false,
    ...extra,
  };
}

export const NODE = { group: '', version: 'v1', kind: 'Node', resource: 'nodes' };
export const KCP = { group: 'controlplane.cluster.x-k8s.io', version: 'v1beta2', kind: 'KubeadmControlPlane', resource: 'kubeadmcontrolplanes' };
export const MD = { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'MachineDeployment', resource: 'machinedeployments' };
export const MP = { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'MachinePool', resource: 'machinepools' };
export const CLUSTER = { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'Cluster', resource: 'clusters' };
export const CLUSTER_CLASS = { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'ClusterClass', resource: 'clusterclasses' };

/** A provider kind as the webhook sees it (`awsmachinetemplates.infrastructure.cluster.x-k8s.io`). */
export function infrastructureKind(kind: string): { group: string; version: string; kind: string; resource: string } {
  return { group: 'infrastructure.cluster.x-k8s.io', version: 'v1beta2', kind, resource: `${kind.toLowerCase()}s` };
}

/** `kubectl scale` of a MachineDeployment or MachinePool: an autoscaling/v1 Scale, whose replicas are omitted at 0. */
export function scaleRequest(resource: 'machinedeployments' | 'machinepools', name: string, from: number, to: number, namespace = 'capi', extra: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return { ...scaleRequestOf({ group: 'cluster.x-k8s.io', version: 'v1beta2', resource }, name, from, to, { namespace }), uid: 'uid-scale', ...extra };
}
export const NODEPOOL = { group: 'karpenter.sh', version: 'v1', kind: 'NodePool', resource: 'nodepools' };
export const DEPLOYMENT = { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments' };
export const DAEMONSET = { group: 'apps', version: 'v1', kind: 'DaemonSet', resource: 'daemonsets' };

export function kcpObject(name: string, version: string, cluster = 'prod', namespace = 'default'): KubeObject {
  return {
    apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2',
    kind: 'KubeadmControlPlane',
    metadata: { name, namespace, labels: { 'cluster.x-k8s.io/cluster-name': cluster } },
    spec: { version, replicas: 3 },
  };
}

export function machineDeploymentObject(name: string, version: string, cluster = 'prod', namespace = 'default'): KubeObject {
  return {
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'MachineDeployment',
    metadata: { name, namespace },
    spec: { clusterName: cluster, replicas: 3, template: { spec: { clusterName: cluster, version } } },
  };
}

/** A MachineDeployment made from an infrastructure template; v1beta1 names it by apiVersion, v1beta2 by apiGroup. */
export function spotPoolObject(
  name: string,
  template: { kind: string; name: string } | undefined,
  options: { cluster?: string; namespace?: string; apiVersion?: 'v1beta1' | 'v1beta2' } = {},
): KubeObject {
  const { cluster = 'prod', namespace = 'capi', apiVersion = 'v1beta2' } = options;
  const infrastructureRef = template
    ? apiVersion === 'v1beta2'
      ? { apiGroup: 'infrastructure.cluster.x-k8s.io', ...template }
      : { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2', ...template }
    : undefined;
  return {
    apiVersion: `cluster.x-k8s.io/${apiVersion}`,
    kind: 'MachineDeployment',
    metadata: { name, namespace },
    spec: { clusterName: cluster, replicas: 3, template: { spec: { clusterName: cluster, version: 'v1.34.4', ...(infrastructureRef ? { infrastructureRef } : {}) } } },
  };
}

export function machineTemplateObject(kind: string, name: string, machineSpec: Record<string, unknown>, namespace = 'capi'): KubeObject {
  return {
    apiVersion: kind === 'AWSMachineTemplate' ? 'infrastructure.cluster.x-k8s.io/v1beta2' : 'infrastructure.cluster.x-k8s.io/v1beta1',
    kind,
    metadata: { name, namespace },
    spec: { template: { spec: { instanceType: 'm5.large', ...machineSpec } } },
  };
}

/** A MachinePool made from an infrastructure machine pool (AWSMachinePool, AzureMachinePool, ...). */
export function machinePoolObject(
  name: string,
  infrastructure: { kind: string; name: string } | undefined,
  options: { cluster?: string; namespace?: string; replicas?: unknown; apiVersion?: 'v1beta1' | 'v1beta2' } = {},
): KubeObject {
  const { cluster = 'prod', namespace = 'capi', apiVersion = 'v1beta2' } = options;
  const infrastructureRef = infrastructure
    ? apiVersion === 'v1beta2'
      ? { apiGroup: 'infrastructure.cluster.x-k8s.io', ...infrastructure }
      : { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2', ...infrastructure }
    : undefined;
  return {
    apiVersion: `cluster.x-k8s.io/${apiVersion}`,
    kind: 'MachinePool',
    metadata: { name, namespace },
    spec: {
      clusterName: cluster,
      ...('replicas' in options ? { replicas: options.replicas } : { replicas: 2 }),
      template: { spec: { clusterName: cluster, version: 'v1.34.4', ...(infrastructureRef ? { infrastructureRef } : {}) } },
    },
  };
}

/** A provider object by kind, with its spec as given (machine pools keep their machine spec under `spec`). */
export function infrastructureObject(kind: string, name: string, spec: Record<string, unknown>, namespace = 'capi'): KubeObject {
  return { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2', kind, metadata: { name, namespace }, spec };
}

export interface TopologyEntry {
  name: string;
  class: string;
  replicas?: number;
}

/** A Cluster: v1beta2 spells references by apiGroup and the class by classRef, v1beta1 by apiVersion and class. */
export function clusterObject(
  name: string,
  options: {
    namespace?: string;
    apiVersion?: 'v1beta1' | 'v1beta2';
    controlPlane?: { kind: string; name: string; group?: string };
    topology?: { class: string; version?: string; machineDeployments?: TopologyEntry[]; machinePools?: TopologyEntry[] };
    deleting?: boolean;
  } = {},
): KubeObject {
  const { namespace = 'capi', apiVersion = 'v1beta2' } = options;
  const group = options.controlPlane?.group ?? 'controlplane.cluster.x-k8s.io';
  const controlPlaneRef = options.controlPlane
    ? apiVersion === 'v1beta2'
      ? { apiGroup: group, kind: options.controlPlane.kind, name: options.controlPlane.name }
      : { apiVersion: `${group}/v1beta1`, kind: options.controlPlane.kind, name: options.controlPlane.name, namespace }
    : undefined;
  const topology = options.topology
    ? {
        ...(apiVersion === 'v1beta2' ? { classRef: { name: options.topology.class } } : { class: options.topology.class }),
        version: options.topology.version ?? 'v1.34.4',
        workers: { machineDeployments: options.topology.machineDeployments ?? [], machinePools: options.topology.machinePools ?? [] },
      }
    : undefined;
  return {
    apiVersion: `cluster.x-k8s.io/${apiVersion}`,
    kind: 'Cluster',
    metadata: { name, namespace, ...(options.deleting ? { deletionTimestamp: '2026-11-30T00:00:00Z' } : {}) },
    spec: { ...(controlPlaneRef ? { controlPlaneRef } : {}), ...(topology ? { topology } : {}) },
  };
}

/** A ClusterClass whose worker classes are made from the named templates. */
export function clusterClassObject(
  name: string,
  workers: { machineDeployments?: Record<string, { kind: string; name: string }>; machinePools?: Record<string, { kind: string; name: string }> },
  options: { namespace?: string; apiVersion?: 'v1beta1' | 'v1beta2' } = {},
): KubeObject {
  const { namespace = 'capi', apiVersion = 'v1beta2' } = options;
  const classes = (entries: Record<string, { kind: string; name: string }> = {}) =>
    Object.entries(entries).map(([workerClass, template]) => {
      const ref = { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2', ...template };
      return apiVersion === 'v1beta2' ? { class: workerClass, infrastructure: { templateRef: ref } } : { class: workerClass, template: { infrastructure: { ref } } };
    });
  return {
    apiVersion: `cluster.x-k8s.io/${apiVersion}`,
    kind: 'ClusterClass',
    metadata: { name, namespace },
    spec: { workers: { machineDeployments: classes(workers.machineDeployments), machinePools: classes(workers.machinePools) } },
  };
}

export function machineObject(name: string, version: string, options: { cluster?: string; controlPlane?: boolean } = {}): KubeObject {
  const cluster = options.cluster ?? 'prod';
  return {
    apiVersion: 'cluster.x-k8s.io/v1beta1',
    kind: 'Machine',
    metadata: {
      name,
      namespace: 'default',
      labels: { 'cluster.x-k8s.io/cluster-name': cluster, ...(options.controlPlane ? { 'cluster.x-k8s.io/control-plane': '' } : {}) },
    },
    spec: { clusterName: cluster, version },
  };
}

export function nodePoolObject(name: string, requirements: Array<{ key: string; operator: string; values?: string[] }>): KubeObject {
  return {
    apiVersion: 'karpenter.sh/v1',
    kind: 'NodePool',
    metadata: { name },
    spec: { template: { spec: { nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'default' }, requirements } } },
  };
}

export function capacityRequirement(operator: string, values?: string[]): { key: string; operator: string; values?: string[] } {
  return { key: 'karpenter.sh/capacity-type', operator, ...(values ? { values } : {}) };
}

export interface WorkloadOptions {
  kind?: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'ReplicaSet';
  namespace?: string;
  labels?: Record<string, string>;
  podLabels?: Record<string, string>;
  nodeSelector?: Record<string, string>;
  priorityClassName?: string;
  affinity?: unknown;
  topologySpreadConstraints?: unknown[];
  image?: string;
  controller?: boolean;
}

export function workloadObject(name: string, options: WorkloadOptions = {}): KubeObject {
  const podLabels = options.podLabels ?? { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: options.kind ?? 'Deployment',
    metadata: {
      name,
      namespace: options.namespace ?? 'payments',
      labels: options.labels ?? {},
      ...(options.controller
        ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'owner', uid: 'uid-owner', controller: true }] }
        : {}),
    },
    spec: {
      replicas: 3,
      selector: { matchLabels: podLabels },
      template: {
        metadata: { labels: podLabels },
        spec: {
          containers: [{ name: 'app', image: options.image ?? 'registry.example/ledger:1.0' }],
          ...(options.nodeSelector ? { nodeSelector: options.nodeSelector } : {}),
          ...(options.priorityClassName ? { priorityClassName: options.priorityClassName } : {}),
          ...(options.affinity ? { affinity: options.affinity } : {}),
          ...(options.topologySpreadConstraints ? { topologySpreadConstraints: options.topologySpreadConstraints } : {}),
        },
      },
    },
  };
}

export function requiredAffinity(...terms: Array<Array<{ key: string; operator: string; values?: string[] }>>): unknown {
  return { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms.map((matchExpressions) => ({ matchExpressions })) } } };
}
