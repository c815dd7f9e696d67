import { fieldAt, textOf } from '../kube/fields.js';
import type { KubeObject } from '../kube/types.js';
import { infrastructureKey, type InfrastructureRef } from './infrastructure-capacity.js';
import { IndexedStore } from './store.js';
import { objectKey } from './views.js';
import { poolReplicas, referenceOf, type WorkerPoolKind } from './worker-pools.js';

/**
 * Cluster API Clusters and ClusterClasses: which object is a workload cluster's control plane
 * (`spec.controlPlaneRef`), and, for a cluster built from a ClusterClass, the worker pools its
 * topology asks for and the templates the class makes them from.
 */

export interface ObjectRef {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

export interface TopologyPool {
  kind: WorkerPoolKind;
  /** The entry's name; the pool the topology controller makes from it carries it in a label. */
  name: string;
  /** The worker class of the ClusterClass it is made from. */
  class: string;
  /** Absent when the topology leaves replicas to an autoscaler or to the pool. */
  replicas?: number;
}

export interface ClusterView {
  namespace: string;
  name: string;
  /** Being deleted: Cluster API and the garbage collector take its pools down, which is never refused. */
  deleting: boolean;
  controlPlane?: ObjectRef;
  topology?: { class: { namespace: string; name: string }; pools: TopologyPool[] };
}

export interface ClusterClassView {
  namespace: string;
  name: string;
  /** Worker class name -> the provider template its pools are made from, by pool kind. */
  workers: Record<WorkerPoolKind, Record<string, InfrastructureRef>>;
}

export function refKey(ref: Pick<ObjectRef, 'group' | 'kind' | 'namespace' | 'name'>): string {
  return `${ref.group}/${ref.kind}/${objectKey(ref.namespace, ref.name)}`;
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function topologyPools(kind: WorkerPoolKind, entries: unknown[]): TopologyPool[] {
  return entries.flatMap((entry): TopologyPool[] => {
    const name = textOf(fieldAt(entry, 'name'));
    const workerClass = textOf(fieldAt(entry, 'class'));
    if (!name || !workerClass) return [];
    const replicas = fieldAt(entry, 'replicas');
    const defined = replicas !== undefined && replicas !== null;
    return [{ kind, name, class: workerClass, ...(defined ? { replicas: poolReplicas({ spec: { replicas } }) } : {}) }];
  });
}

export function toClusterView(object: KubeObject): ClusterView {
  const namespace = object.metadata?.namespace ?? '';
  const controlPlane = referenceOf(fieldAt(object, 'spec.controlPlaneRef'));
  const topology = fieldAt(object, 'spec.topology');
  // v1beta2: classRef {name, namespace}; v1beta1: class and classNamespace.
  const className = textOf(fieldAt(topology, 'classRef.name')) || textOf(fieldAt(topology, 'class'));
  const classNamespace = textOf(fieldAt(topology, 'classRef.namespace')) || textOf(fieldAt(topology, 'classNamespace')) || namespace;
  return {
    namespace,
    name: object.metadata?.name ?? '',
    deleting: Boolean(object.metadata?.deletionTimestamp),
    ...(controlPlane ? { controlPlane: { ...controlPlane, namespace: controlPlane.namespace || namespace } } : {}),
    ...(className
      ? {
          topology: {
            class: { namespace: classNamespace, name: className },
            pools: [
              ...topologyPools('MachineDeployment', list(fieldAt(topology, 'workers.machineDeployments'))),
              ...topologyPools('MachinePool', list(fieldAt(topology, 'workers.machinePools'))),
            ],
          },
        }
      : {}),
  };
}

/** v1beta2: `infrastructure.templateRef`; v1beta1: `template.infrastructure.ref`. */
function workerClasses(entries: unknown[], namespace: string): Record<string, InfrastructureRef> {
  const out: Record<string, InfrastructureRef> = {};
  for (const entry of entries) {
    const name = textOf(fieldAt(entry, 'class'));
    const ref = referenceOf(fieldAt(entry, 'infrastructure.templateRef') ?? fieldAt(entry, 'template.infrastructure.ref'));
    if (name && ref) out[name] = { ...ref, namespace: ref.namespace || namespace };
  }
  return out;
}

export function toClusterClassView(object: KubeObject): ClusterClassView {
  const namespace = object.metadata?.namespace ?? '';
  return {
    namespace,
    name: object.metadata?.name ?? '',
    workers: {
      MachineDeployment: workerClasses(list(fieldAt(object, 'spec.workers.machineDeployments')), namespace),
      MachinePool: workerClasses(list(fieldAt(object, 'spec.workers.machinePools')), namespace),
    },
  };
}

/** Clusters, indexed by the control plane they point at and by the ClusterClass they are built from. */
export class ClusterStore extends IndexedStore<ClusterView> {
  constructor() {
    super('clusters', {
      controlPlane: (view) => (view.controlPlane ? [refKey(view.controlPlane)] : []),
      class: (view) => (view.topology ? [objectKey(view.topology.class.namespace, view.topology.class.name)] : []),
    });
  }

  project(object: KubeObject): [string, ClusterView] {
    const view = toClusterView(object);
    return [objectKey(view.namespace, view.name), view];
  }

  /** The Clusters whose `spec.controlPlaneRef` names this object (one, normally). */
  pointingAt(ref: ObjectRef): ClusterView[] {
    return this.byIndex('controlPlane', refKey(ref));
  }

  builtFrom(namespace: string, clusterClass: string): ClusterView[] {
    return this.byIndex('class', objectKey(namespace, clusterClass));
  }
}

/** ClusterClasses, indexed by the provider templates their worker classes point at. */
export class ClusterClassStore extends IndexedStore<ClusterClassView> {
  constructor() {
    super('clusterclasses', {
      infrastructure: (view) =>
        [...Object.values(view.workers.MachineDeployment), ...Object.values(view.workers.MachinePool)].map((ref) => infrastructureKey(ref.kind, ref.namespace, ref.name)),
    });
  }

  project(object: KubeObject): [string, ClusterClassView] {
    const view = toClusterClassView(object);
    return [objectKey(view.namespace, view.name), view];
  }

  /** The ClusterClasses with a worker class made from one provider template. */
  using(kind: string, namespace: string, name: string): ClusterClassView[] {
    return this.byIndex('infrastructure', infrastructureKey(kind, namespace, name));
  }
}
