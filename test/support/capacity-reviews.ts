/** AdmissionReviews and cluster objects for attacking spot-capacity and version-skew: Nodes, Karpenter NodePools, Cluster API pools and control planes. */
import { stateFromManifests } from '../../src/audit/offline-state.js';
import { parseKubeVersion } from '../../src/cluster/versions.js';
import type { GroupVersionKind, GroupVersionResource, KubeObject } from '../../src/kube/types.js';
import { GVK } from './requests.js';
import { useJudgingServers, type Judge } from './server.js';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

export interface ReviewSpec {
  operation: Operation;
  group: string;
  version: string;
  kind: string;
  resource: string;
  subResource?: string;
  name: string;
  namespace?: string;
  object?: unknown;
  oldObject?: unknown;
  username?: string;
  groups?: string[];
  dryRun?: boolean;
  requestKind?: { group: string; version: string; kind: string };
}

let uid = 0;

export function review(spec: ReviewSpec): unknown {
  const kind = { group: spec.group, version: spec.version, kind: spec.kind };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `attack-${++uid}`,
      kind,
      resource: { group: spec.group, version: spec.version, resource: spec.resource },
      requestKind: spec.requestKind ?? kind,
      requestResource: { group: spec.group, version: spec.version, resource: spec.resource },
      ...(spec.subResource ? { subResource: spec.subResource } : {}),
      name: spec.name,
      ...(spec.namespace ? { namespace: spec.namespace } : {}),
      operation: spec.operation,
      userInfo: { username: spec.username ?? 'alice', uid: 'u-1', groups: spec.groups ?? ['system:authenticated'] },
      object: spec.operation === 'DELETE' ? null : spec.object,
      oldObject: spec.operation === 'CREATE' ? null : spec.oldObject,
      dryRun: spec.dryRun ?? false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: spec.operation === 'CREATE' ? 'CreateOptions' : spec.operation === 'DELETE' ? 'DeleteOptions' : 'UpdateOptions' },
    },
  };
}

/** A `/scale` UPDATE of `resource` as the API server sends it: ScaleSpec.replicas is omitempty, so 0 is absent. */
export function scaleSubresourceReview(
  resource: GroupVersionResource,
  name: string,
  namespace: string,
  from: number,
  to: number,
  options: { selector: string; username?: string; groups?: string[]; scaleKind?: GroupVersionKind },
): unknown {
  const scaleKind = options.scaleKind ?? GVK.scale;
  const scale = (replicas: number) => ({
    apiVersion: `${scaleKind.group}/${scaleKind.version}`,
    kind: 'Scale',
    metadata: { name, namespace },
    spec: replicas === 0 ? {} : { replicas },
    status: { replicas: from, selector: options.selector },
  });
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: `attack-${++uid}`,
      kind: scaleKind,
      resource,
      requestKind: scaleKind,
      requestResource: resource,
      subResource: 'scale',
      name,
      namespace,
      operation: 'UPDATE',
      userInfo: { username: options.username ?? 'alice', groups: options.groups ?? ['system:authenticated'] },
      object: scale(to),
      oldObject: scale(from),
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'UpdateOptions' },
    },
  };
}

// ---------------------------------------------------------------- objects

export function node(name: string, labels: Record<string, string> = {}, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, uid: `uid-${name}`, labels: { 'kubernetes.io/hostname': name, ...labels } },
    spec,
    status: { nodeInfo: { kubeletVersion: 'v1.30.2' } },
  } as KubeObject;
}
export const spotLabel = { 'karpenter.sh/capacity-type': 'spot' };
export const onDemandLabel = { 'karpenter.sh/capacity-type': 'on-demand' };

export function nodeReview(operation: Operation, before: KubeObject, after: KubeObject | null, username = 'alice'): unknown {
  return review({ operation, group: '', version: 'v1', kind: 'Node', resource: 'nodes', name: before.metadata!.name!, object: after, oldObject: before, username });
}

export function nodePool(name: string, requirements: unknown[]): KubeObject {
  return {
    apiVersion: 'karpenter.sh/v1',
    kind: 'NodePool',
    metadata: { name, uid: `uid-${name}` },
    spec: { template: { spec: { nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'default' }, requirements } } },
  } as KubeObject;
}
export const capacityType = (operator: string, values?: string[]) => ({ key: 'karpenter.sh/capacity-type', operator, ...(values ? { values } : {}) });

export function nodePoolReview(operation: Operation, before: KubeObject | null, after: KubeObject | null, username = 'alice'): unknown {
  const name = (after ?? before)!.metadata!.name!;
  return review({ operation, group: 'karpenter.sh', version: 'v1', kind: 'NodePool', resource: 'nodepools', name, object: after, oldObject: before, username });
}

export const NS = 'capi';

export function awsTemplate(name: string, spot: boolean): KubeObject {
  return {
    apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2',
    kind: 'AWSMachineTemplate',
    metadata: { name, namespace: NS },
    spec: { template: { spec: { instanceType: 'm5.large', ...(spot ? { spotMarketOptions: {} } : {}) } } },
  } as KubeObject;
}

export function machineDeployment(name: string, template: string, replicas: number | null | undefined, options: { cluster?: string; version?: string; apiVersion?: string } = {}): KubeObject {
  const apiVersion = options.apiVersion ?? 'cluster.x-k8s.io/v1beta1';
  const infrastructureRef = apiVersion.endsWith('v1beta2')
    ? { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'AWSMachineTemplate', name: template }
    : { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2', kind: 'AWSMachineTemplate', name: template };
  const cluster = options.cluster ?? 'prod';
  return {
    apiVersion,
    kind: 'MachineDeployment',
    metadata: { name, namespace: NS, uid: `uid-${name}`, labels: { 'cluster.x-k8s.io/cluster-name': cluster } },
    spec: {
      clusterName: cluster,
      ...(replicas === undefined ? {} : { replicas }),
      selector: { matchLabels: {} },
      template: { spec: { clusterName: cluster, version: options.version ?? 'v1.30.2', bootstrap: { dataSecretName: 'x' }, infrastructureRef } },
    },
  } as KubeObject;
}

export function mdReview(operation: Operation, before: KubeObject | null, after: KubeObject | null, username = 'alice'): unknown {
  const name = (after ?? before)!.metadata!.name!;
  const version = ((after ?? before)!.apiVersion ?? '').split('/')[1]!;
  return review({ operation, group: 'cluster.x-k8s.io', version, kind: 'MachineDeployment', resource: 'machinedeployments', name, namespace: NS, object: after, oldObject: before, username });
}

export function mdScaleReview(name: string, from: number, to: number): unknown {
  const resource = { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machinedeployments' };
  return scaleSubresourceReview(resource, name, NS, from, to, { selector: 'cluster.x-k8s.io/cluster-name=prod' });
}

export function kcp(name: string, version: string, options: { kind?: string; group?: string; apiVersion?: string; labelled?: boolean; extraSpec?: Record<string, unknown> } = {}): KubeObject {
  return {
    apiVersion: options.apiVersion ?? 'controlplane.cluster.x-k8s.io/v1beta1',
    kind: options.kind ?? 'KubeadmControlPlane',
    metadata: { name, namespace: NS, uid: `uid-${name}`, ...(options.labelled === false ? {} : { labels: { 'cluster.x-k8s.io/cluster-name': 'prod' } }) },
    spec: { replicas: 3, version, ...(options.extraSpec ?? {}) },
  } as KubeObject;
}

export function kcpReview(before: KubeObject, after: KubeObject): unknown {
  const [group, version] = after.apiVersion!.split('/') as [string, string];
  const resource = `${after.kind!.toLowerCase()}s`;
  return review({ operation: 'UPDATE', group, version, kind: after.kind!, resource, name: after.metadata!.name!, namespace: NS, object: after, oldObject: before });
}

export function capiCluster(name: string, controlPlaneRef?: Record<string, string>, extraSpec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'cluster.x-k8s.io/v1beta1',
    kind: 'Cluster',
    metadata: { name, namespace: NS, uid: `uid-cluster-${name}` },
    spec: { ...(controlPlaneRef ? { controlPlaneRef } : {}), ...extraSpec },
  } as KubeObject;
}


/** Two on-demand and two spot Nodes (unlabelled counts as on-demand). */
export const nodeFleet = (): KubeObject[] => [node('od-1'), node('od-2'), node('spot-1', spotLabel), node('spot-2', spotLabel)];

/** prod's worker pools: an on-demand and a spot MachineDeployment of 3, each on its own AWS template. */
export const capiFleet = (): KubeObject[] => [
  capiCluster('prod'),
  awsTemplate('workers', false),
  awsTemplate('workers-spot', true),
  machineDeployment('prod-md-0', 'workers', 3),
  machineDeployment('prod-md-spot', 'workers-spot', 3),
];

// ---------------------------------------------------------------- harness

/**
 * Registers mocha hooks in the calling describe; `levee(objects, apiServer?)` starts a server
 * judging against caches filled the way the offline audit fills them (every object given is
 * cluster state that exists before the request), with the API server's version when given.
 */
export function useCapacityLevee(): (objects: KubeObject[], apiServer?: string) => Promise<Judge> {
  const judgeWith = useJudgingServers();
  return (objects, apiServer) => {
    const cluster = stateFromManifests(objects, 'default');
    const version = parseKubeVersion(apiServer);
    if (version) cluster.apiServer.record(version);
    return judgeWith({ cluster });
  };
}
