import { workloadKey, type ScalableKind, type WorkloadRef, type WorkloadView } from '../admission/workload.js';
import { IndexedStore, type StoreStats } from './store.js';
import {
  objectKey,
  selectorPairs,
  type EndpointSliceView,
  type PodView,
  type ReplicaSetView,
  type ServiceView,
} from './views.js';

/** What backs a Service besides one given workload. */
export interface ServiceBacking {
  service: ServiceView;
  readyEndpoints: number;
  /** Ready endpoints whose pods belong to some other workload (or to no workload). */
  otherReadyEndpoints: number;
  otherBackends: string[];
}

/**
 * levee's view of the cluster: one indexed store per kind, and the questions policies ask,
 * each answered from indices. Filled by informers in `serve`, by manifests in `audit`.
 */
export class ClusterState {
  readonly services = new IndexedStore<ServiceView>('services', {
    selectorPair: (svc) => selectorPairs(svc.namespace, svc.selector),
  });
  readonly endpointSlices = new IndexedStore<EndpointSliceView>('endpointslices', {
    service: (slice) => (slice.serviceName ? [objectKey(slice.namespace, slice.serviceName)] : []),
  });
  readonly pods = new IndexedStore<PodView>('pods');
  readonly replicaSets = new IndexedStore<ReplicaSetView>('replicasets');
  readonly workloads = new IndexedStore<WorkloadView>('workloads');

  allStores(): IndexedStore<unknown>[] {
    return [this.services, this.endpointSlices, this.pods, this.replicaSets, this.workloads] as IndexedStore<unknown>[];
  }

  stats(): StoreStats[] {
    return this.allStores().map((store) => store.stats());
  }

  get synced(): boolean {
    return this.allStores().every((store) => store.synced);
  }

  workload(ref: WorkloadRef): WorkloadView | undefined {
    return this.workloads.get(workloadKey(ref));
  }

  /** Services in the workload's namespace whose selector matches its pod template labels. */
  servicesSelecting(namespace: string, podLabels: Readonly<Record<string, string>>): ServiceView[] {
    const seen = new Map<string, ServiceView>();
    for (const pair of selectorPairs(namespace, podLabels)) {
      for (const service of this.services.byIndex('selectorPair', pair)) {
        if (seen.has(service.name)) continue;
        if (selectorMatches(service.selector, podLabels)) seen.set(service.name, service);
      }
    }
    return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * The workload that ultimately owns a pod, following controller ownerReferences
   * (Pod -> ReplicaSet -> Deployment), never by matching selectors.
   */
  topOwnerOfPod(namespace: string, podName: string): WorkloadRef | undefined {
    const owner = this.pods.get(objectKey(namespace, podName))?.owner;
    if (!owner) return undefined;
    if (owner.kind === 'ReplicaSet') {
      const parent = this.replicaSets.get(objectKey(namespace, owner.name))?.owner;
      if (parent?.kind === 'Deployment') return { kind: 'Deployment', namespace, name: parent.name };
      return { kind: 'ReplicaSet', namespace, name: owner.name };
    }
    if (owner.kind === 'StatefulSet' || owner.kind === 'Deployment') {
      return { kind: owner.kind as ScalableKind, namespace, name: owner.name };
    }
    return undefined;
  }

  /** For a Service, how many ready endpoints it has and how many belong to something other than `workload`. */
  backingOf(service: ServiceView, workload: WorkloadRef): ServiceBacking {
    let readyEndpoints = 0;
    let otherReadyEndpoints = 0;
    const others = new Set<string>();
    const self = workloadKey(workload);
    for (const slice of this.endpointSlices.byIndex('service', objectKey(service.namespace, service.name))) {
      for (const endpoint of slice.endpoints) {
        if (!endpoint.ready) continue;
        readyEndpoints++;
        const owner = endpoint.podName ? this.topOwnerOfPod(service.namespace, endpoint.podName) : undefined;
        if (owner && workloadKey(owner) === self) continue;
        otherReadyEndpoints++;
        others.add(owner ? `${owner.kind}/${owner.name}` : endpoint.podName ? `Pod/${endpoint.podName}` : 'an endpoint without a pod');
      }
    }
    return { service, readyEndpoints, otherReadyEndpoints, otherBackends: [...others].sort().slice(0, 5) };
  }
}

export function selectorMatches(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}
