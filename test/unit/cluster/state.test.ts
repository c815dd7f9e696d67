import assert from 'node:assert/strict';
import type { WorkloadRef } from '../../../src/kube/workload.js';
import { ClusterState, selectorMatches } from '../../../src/cluster/state.js';
import type { ServiceView } from '../../../src/cluster/views.js';
import {
  addDeploymentWithPods,
  addEndpointSlice,
  addPod,
  addService,
  addServiceOnly,
  cacheOwner,
  clusterWithBackedService,
  podNames,
} from '../../support/cluster.js';

const web: WorkloadRef = { kind: 'Deployment', namespace: 'default', name: 'web' };

function service(cluster: ClusterState, namespace: string, name: string): ServiceView {
  const found = cluster.services.get(`${namespace}/${name}`);
  assert.ok(found, `no Service ${namespace}/${name} in the fixture`);
  return found;
}

describe('cluster/state', () => {
  describe('selectorMatches', () => {
    it('matches when every selector pair is among the labels', () => {
      assert.equal(selectorMatches({ app: 'web' }, { app: 'web', tier: 'front' }), true);
      assert.equal(selectorMatches({ app: 'web', tier: 'back' }, { app: 'web', tier: 'front' }), false);
      assert.equal(selectorMatches({ app: 'web' }, {}), false);
    });

    it('never matches with an empty selector', () => {
      assert.equal(selectorMatches({}, { app: 'web' }), false);
    });
  });

  describe('servicesSelecting', () => {
    it('finds Services whose selector is a subset of the pod labels, sorted by name', () => {
      const cluster = new ClusterState();
      addServiceOnly(cluster, 'web', 'default', { app: 'web' });
      addServiceOnly(cluster, 'all-front', 'default', { tier: 'front' });
      addServiceOnly(cluster, 'web-front', 'default', { app: 'web', tier: 'front' });
      addServiceOnly(cluster, 'web-back', 'default', { app: 'web', tier: 'back' });
      addServiceOnly(cluster, 'api', 'default', { app: 'api' });
      const found = cluster.servicesSelecting('default', { app: 'web', tier: 'front', version: 'v2' });
      assert.deepEqual(found.map((svc) => svc.name), ['all-front', 'web', 'web-front']);
    });

    it('never matches a Service without a selector', () => {
      const cluster = new ClusterState();
      addServiceOnly(cluster, 'manual', 'default', null);
      addServiceOnly(cluster, 'empty', 'default', {});
      assert.deepEqual(cluster.servicesSelecting('default', { app: 'web' }), []);
    });

    it('never matches a Service in another namespace', () => {
      const cluster = new ClusterState();
      addServiceOnly(cluster, 'web', 'staging', { app: 'web' });
      assert.deepEqual(cluster.servicesSelecting('default', { app: 'web' }), []);
      assert.deepEqual(cluster.servicesSelecting('staging', { app: 'web' }).map((svc) => svc.name), ['web']);
    });

    it('forgets a Service once it is removed or its selector changes', () => {
      const cluster = new ClusterState();
      addServiceOnly(cluster, 'web', 'default', { app: 'web' });
      addServiceOnly(cluster, 'old', 'default', { app: 'web' });
      cluster.services.remove('default/old');
      addServiceOnly(cluster, 'web', 'default', { app: 'web-v2' });
      assert.deepEqual(cluster.servicesSelecting('default', { app: 'web' }), []);
    });

    it('finds nothing for pods without labels', () => {
      const cluster = new ClusterState();
      addServiceOnly(cluster, 'web', 'default', { app: 'web' });
      assert.deepEqual(cluster.servicesSelecting('default', {}), []);
    });
  });

  describe('topOwnerOfPod', () => {
    it('follows Pod -> ReplicaSet -> Deployment', () => {
      const cluster = new ClusterState();
      addDeploymentWithPods(cluster, 'web', 'default', 2);
      assert.deepEqual(cluster.topOwnerOfPod('default', 'web-rs-1'), web);
    });

    it('stops at a ReplicaSet that no Deployment controls', () => {
      const cluster = new ClusterState();
      cluster.replicaSets.upsert('default/batch', { namespace: 'default', name: 'batch' });
      cacheOwner(cluster, 'ReplicaSet', 'default', 'batch');
      addPod(cluster, 'batch-1', 'default', { kind: 'ReplicaSet', name: 'batch' });
      assert.deepEqual(cluster.topOwnerOfPod('default', 'batch-1'), { kind: 'ReplicaSet', namespace: 'default', name: 'batch' });
    });

    it('does not guess while the pod or its ReplicaSet is not cached yet', () => {
      const cluster = new ClusterState();
      addPod(cluster, 'web-new-1', 'default', { kind: 'ReplicaSet', name: 'web-new' });
      assert.equal(cluster.topOwnerOfPod('default', 'web-new-1'), undefined);
      assert.deepEqual(cluster.attributePod('default', 'web-new-1'), { kind: 'unknown' });
      assert.deepEqual(cluster.attributePod('default', 'never-seen'), { kind: 'unknown' });
    });

    it('answers the StatefulSet for its pods', () => {
      const cluster = new ClusterState();
      cacheOwner(cluster, 'StatefulSet', 'data', 'db');
      addPod(cluster, 'db-0', 'data', { kind: 'StatefulSet', name: 'db' });
      assert.deepEqual(cluster.topOwnerOfPod('data', 'db-0'), { kind: 'StatefulSet', namespace: 'data', name: 'db' });
    });

    it('answers nothing for a bare pod, a pod of another controller, or an unknown pod', () => {
      const cluster = new ClusterState();
      addPod(cluster, 'debug', 'default');
      addPod(cluster, 'job-abc', 'default', { kind: 'Job', name: 'job' });
      assert.equal(cluster.topOwnerOfPod('default', 'debug'), undefined);
      assert.equal(cluster.topOwnerOfPod('default', 'job-abc'), undefined);
      assert.equal(cluster.topOwnerOfPod('default', 'ghost'), undefined);
    });

    it('does not confuse pods of the same name in different namespaces', () => {
      const cluster = new ClusterState();
      addDeploymentWithPods(cluster, 'web', 'default', 1);
      addPod(cluster, 'web-rs-0', 'other');
      assert.equal(cluster.topOwnerOfPod('other', 'web-rs-0'), undefined);
      assert.deepEqual(cluster.topOwnerOfPod('default', 'web-rs-0'), web);
    });
  });

  describe('backingOf', () => {
    it('counts the ready endpoints of the workload itself as not backing anything else', () => {
      const cluster = clusterWithBackedService({ ready: 3 });
      const backing = cluster.backingOf(service(cluster, 'default', 'web'), web);
      assert.equal(backing.readyEndpoints, 3);
      assert.equal(backing.otherReadyEndpoints, 0);
      assert.deepEqual(backing.otherBackends, []);
      assert.equal(backing.service.name, 'web');
    });

    it('counts the endpoints of another workload as other backends', () => {
      const cluster = clusterWithBackedService({ ready: 2 });
      addDeploymentWithPods(cluster, 'web-v2', 'default', 1, { app: 'web' });
      addEndpointSlice(cluster, 'web', 'default', 'web-fghij', [{ pod: 'web-v2-rs-0', ready: true }]);
      const backing = cluster.backingOf(service(cluster, 'default', 'web'), web);
      assert.equal(backing.readyEndpoints, 3);
      assert.equal(backing.otherReadyEndpoints, 1);
      assert.deepEqual(backing.otherBackends, ['Deployment/web-v2']);
    });

    it('ignores endpoints that are not ready', () => {
      const cluster = clusterWithBackedService({ ready: 2 });
      addDeploymentWithPods(cluster, 'web-v2', 'default', 2, { app: 'web' });
      addEndpointSlice(cluster, 'web', 'default', 'web-fghij', [
        { pod: 'web-v2-rs-0', ready: false },
        { pod: 'web-v2-rs-1', ready: false },
      ]);
      const backing = cluster.backingOf(service(cluster, 'default', 'web'), web);
      assert.equal(backing.readyEndpoints, 2);
      assert.equal(backing.otherReadyEndpoints, 0);
      assert.deepEqual(backing.otherBackends, []);
    });

    it('counts endpoints whose ready condition is null or absent as ready', () => {
      const cluster = new ClusterState();
      addServiceOnly(cluster, 'web', 'default', { app: 'web' });
      addDeploymentWithPods(cluster, 'web', 'default', 1);
      addDeploymentWithPods(cluster, 'other', 'default', 2, { app: 'web' });
      addEndpointSlice(cluster, 'web', 'default', 'web-abcde', [
        { pod: 'web-rs-0', ready: true },
        { pod: 'other-rs-0', ready: null },
        { pod: 'other-rs-1' },
      ]);
      const backing = cluster.backingOf(service(cluster, 'default', 'web'), web);
      assert.equal(backing.readyEndpoints, 3);
      assert.equal(backing.otherReadyEndpoints, 2);
      assert.deepEqual(backing.otherBackends, ['Deployment/other']);
    });

    it('never counts an endpoint whose pod is not cached yet as another backend (cache lag)', () => {
      const cluster = clusterWithBackedService({ ready: 2 });
      addEndpointSlice(cluster, 'web', 'default', 'web-lagging', [{ pod: 'web-rs-new', ready: true }]);
      const backing = cluster.backingOf(service(cluster, 'default', 'web'), web);
      assert.equal(backing.readyEndpoints, 3);
      assert.equal(backing.otherReadyEndpoints, 0);
    });

    it('counts a bare pod behind the Service as another backend', () => {
      const cluster = clusterWithBackedService({ ready: 1 });
      addPod(cluster, 'debug', 'default');
      addEndpointSlice(cluster, 'web', 'default', 'web-debug', [{ pod: 'debug', ready: true }]);
      const backing = cluster.backingOf(service(cluster, 'default', 'web'), web);
      assert.equal(backing.otherReadyEndpoints, 1);
      assert.deepEqual(backing.otherBackends, ['Pod/debug']);
    });

    it('tells apart two Deployments whose pods both match the selector, by ownerReferences', () => {
      const cluster = new ClusterState();
      addDeploymentWithPods(cluster, 'web', 'default', 2, { app: 'web', track: 'stable' });
      addDeploymentWithPods(cluster, 'web-canary', 'default', 1, { app: 'web', track: 'canary' });
      addService(cluster, 'web', 'default', { app: 'web' }, [...podNames('web', 2), ...podNames('web-canary', 1)]);
      const svc = service(cluster, 'default', 'web');

      const stable = cluster.backingOf(svc, web);
      assert.equal(stable.readyEndpoints, 3);
      assert.equal(stable.otherReadyEndpoints, 1);
      assert.deepEqual(stable.otherBackends, ['Deployment/web-canary']);

      const canary = cluster.backingOf(svc, { kind: 'Deployment', namespace: 'default', name: 'web-canary' });
      assert.equal(canary.otherReadyEndpoints, 2);
      assert.deepEqual(canary.otherBackends, ['Deployment/web']);
    });

    it('does not count the pods of a StatefulSet that shares the name of the workload', () => {
      const cluster = new ClusterState();
      addServiceOnly(cluster, 'web', 'default', { app: 'web' });
      cacheOwner(cluster, 'StatefulSet', 'default', 'web');
      addPod(cluster, 'web-0', 'default', { kind: 'StatefulSet', name: 'web' });
      addEndpointSlice(cluster, 'web', 'default', 'web-abcde', [{ pod: 'web-0', ready: true }]);
      const backing = cluster.backingOf(service(cluster, 'default', 'web'), web);
      assert.equal(backing.otherReadyEndpoints, 1);
      assert.deepEqual(backing.otherBackends, ['StatefulSet/web']);
    });

    it('counts bare pods and endpoints without a pod as other backends', () => {
      const cluster = new ClusterState();
      addServiceOnly(cluster, 'web', 'default', { app: 'web' });
      addPod(cluster, 'debug', 'default');
      addEndpointSlice(cluster, 'web', 'default', 'web-abcde', [{ pod: 'debug' }, {}]);
      const backing = cluster.backingOf(service(cluster, 'default', 'web'), web);
      assert.equal(backing.otherReadyEndpoints, 2);
      assert.deepEqual(backing.otherBackends, ['Pod/debug', 'an endpoint without a pod']);
    });

    it('names at most five other backends, sorted', () => {
      const cluster = new ClusterState();
      addServiceOnly(cluster, 'web', 'default', { app: 'web' });
      const pods = ['g', 'f', 'e', 'd', 'c', 'b', 'a'].map((letter) => `bare-${letter}`);
      for (const pod of pods) addPod(cluster, pod, 'default');
      addEndpointSlice(cluster, 'web', 'default', 'web-abcde', pods.map((pod) => ({ pod })));
      const backing = cluster.backingOf(service(cluster, 'default', 'web'), web);
      assert.equal(backing.otherReadyEndpoints, 7);
      assert.deepEqual(backing.otherBackends, ['Pod/bare-a', 'Pod/bare-b', 'Pod/bare-c', 'Pod/bare-d', 'Pod/bare-e']);
    });

    it('reads only the slices of this Service, in its namespace', () => {
      const cluster = clusterWithBackedService({ ready: 1 });
      addPod(cluster, 'stray', 'default');
      addPod(cluster, 'stray', 'staging');
      addEndpointSlice(cluster, 'api', 'default', 'api-abcde', [{ pod: 'stray' }]);
      addEndpointSlice(cluster, 'web', 'staging', 'web-abcde', [{ pod: 'stray' }]);
      const backing = cluster.backingOf(service(cluster, 'default', 'web'), web);
      assert.equal(backing.readyEndpoints, 1);
      assert.equal(backing.otherReadyEndpoints, 0);
    });

    it('sees no endpoints once the slice is gone', () => {
      const cluster = clusterWithBackedService({ ready: 2 });
      cluster.endpointSlices.remove('default/web-abcde');
      const backing = cluster.backingOf(service(cluster, 'default', 'web'), web);
      assert.equal(backing.readyEndpoints, 0);
      assert.equal(backing.otherReadyEndpoints, 0);
    });
  });

  describe('workloads and sync state', () => {
    it('looks a workload up by its ref', () => {
      const cluster = clusterWithBackedService({ name: 'api', namespace: 'shop', ready: 4 });
      assert.equal(cluster.workload({ kind: 'Deployment', namespace: 'shop', name: 'api' })?.replicas, 4);
      assert.equal(cluster.workload({ kind: 'StatefulSet', namespace: 'shop', name: 'api' }), undefined);
    });

    it('is synced only when every store is', () => {
      const cluster = clusterWithBackedService({ synced: false });
      assert.equal(cluster.synced, false);
      const stores = cluster.allStores();
      for (const store of stores.slice(1)) store.markSynced();
      assert.equal(cluster.synced, false);
      stores[0]!.markSynced();
      assert.equal(cluster.synced, true);
    });

    it('reports the size of every store', () => {
      const cluster = clusterWithBackedService({ ready: 3 });
      const sizes = Object.fromEntries(cluster.stats().map((stats) => [stats.name, stats.size]));
      assert.deepEqual(sizes, {
        services: 1,
        endpointslices: 1,
        pods: 3,
        replicasets: 1,
        controllerrevisions: 0,
        // The Deployment and its ReplicaSet: the ReplicaSet informer fills both stores.
        workloads: 2,
        owners: 0,
        horizontalpodautoscalers: 0,
        kedascalers: 0,
        nodes: 0,
        customresourcedefinitions: 0,
        upgradeintents: 0,
        nodepools: 0,
        workerpools: 0,
        infrastructure: 0,
        clusters: 0,
        clusterclasses: 0,
      });
    });
  });
});
