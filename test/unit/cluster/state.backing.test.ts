import assert from 'node:assert/strict';
import { workloadKey, type WorkloadRef } from '../../../src/kube/workload.js';
import { ClusterState, ownerKey } from '../../../src/cluster/state.js';
import { toPodView, toWorkloadView } from '../../../src/cluster/views.js';
import { addDeploymentWithPods, addEndpointSlice, addPod, addReplicaSet, addService, cacheOwner, clusterWithBackedService } from '../../support/cluster.js';
import { deploymentObject } from '../../support/reviews.js';

/** What backs a Service once one workload is gone (issue 12 items 4 and 7), and the owners levee can vouch for. */

const web: WorkloadRef = { kind: 'Deployment', namespace: 'default', name: 'web' };

/** ReplicaSet `name` of Deployment `deployment` (uid `uid-<deployment>`), cached with uid `uid-<name>` as its pods name it. */
function addReplicaSetOf(cluster: ClusterState, name: string, deployment: string): void {
  addReplicaSet(cluster, {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment, uid: `uid-${deployment}`, controller: true }] },
    spec: { replicas: 1 },
  });
}

function webService(cluster: ClusterState) {
  return cluster.servicesSelecting('default', { app: 'web' })[0]!;
}

describe('cluster/state: backing and owners', () => {
  it("counts the workload's own ready endpoints, and endpoints of pods not cached yet, as its own", () => {
    const cluster = clusterWithBackedService({ ready: 2 });
    addEndpointSlice(cluster, 'web', 'default', 'web-late', [{ pod: 'web-rs-new', ready: true }, { pod: 'web-rs-starting', ready: false }]);
    const backing = cluster.backingOf(webService(cluster), web);
    assert.equal(backing.readyEndpoints, 3);
    assert.equal(backing.ownReadyEndpoints, 3, 'an unknown pod may be its own: never another backend');
    assert.equal(backing.otherReadyEndpoints, 0);
  });

  it('has no own ready endpoint for a workload whose pods never became ready', () => {
    const cluster = new ClusterState();
    addDeploymentWithPods(cluster, 'web', 'default', 2);
    addService(cluster, 'web', 'default', { app: 'web' }, []);
    addEndpointSlice(cluster, 'web', 'default', 'web-notready', [{ pod: 'web-rs-0', ready: false }, { pod: 'web-rs-1', ready: false }]);
    const backing = cluster.backingOf(webService(cluster), web);
    assert.deepEqual([backing.readyEndpoints, backing.ownReadyEndpoints, backing.otherReadyEndpoints], [0, 0, 0]);
  });

  it('does not count a workload whose cached replicas are already 0 as a backend, while its endpoints still read ready', () => {
    const cluster = clusterWithBackedService({ ready: 2 });
    addDeploymentWithPods(cluster, 'web-v2', 'default', 2, { app: 'web' });
    addEndpointSlice(cluster, 'web', 'default', 'web-v2', [{ pod: 'web-v2-rs-0', ready: true }, { pod: 'web-v2-rs-1', ready: true }]);
    assert.equal(cluster.backingOf(webService(cluster), web).otherReadyEndpoints, 2);
    const scaledDown = toWorkloadView(deploymentObject('web-v2', 'default', 0, { app: 'web' }))!;
    cluster.workloads.upsert(workloadKey(scaledDown.ref), scaledDown);
    const backing = cluster.backingOf(webService(cluster), web);
    assert.equal(backing.otherReadyEndpoints, 0);
    assert.deepEqual(backing.otherBackends, []);
  });

  it('names DaemonSets, ReplicationControllers, Jobs and bare pods behind the Service as other backends', () => {
    const cluster = clusterWithBackedService({ ready: 1 });
    cacheOwner(cluster, 'DaemonSet', 'default', 'agent');
    cacheOwner(cluster, 'ReplicationController', 'default', 'legacy');
    addPod(cluster, 'agent-x1', 'default', { kind: 'DaemonSet', name: 'agent' });
    addPod(cluster, 'legacy-a', 'default', { kind: 'ReplicationController', name: 'legacy' });
    addPod(cluster, 'debug', 'default');
    addEndpointSlice(cluster, 'web', 'default', 'web-more', [{ pod: 'agent-x1' }, { pod: 'legacy-a' }, { pod: 'debug' }]);
    const backing = cluster.backingOf(webService(cluster), web);
    assert.equal(backing.otherReadyEndpoints, 3);
    assert.deepEqual(backing.otherBackends, ['DaemonSet/agent', 'Pod/debug', 'ReplicationController/legacy']);
  });

  it('answers the uid of cached owners: workloads from their view, DaemonSets, Jobs and CronJobs from the owners store', () => {
    const cluster = clusterWithBackedService();
    cluster.owners.upsert(ownerKey('DaemonSet', 'default', 'agent'), 'uid-agent');
    assert.equal(cluster.ownerUid('Deployment', 'default', 'web'), 'uid-web');
    assert.equal(cluster.ownerUid('DaemonSet', 'default', 'agent'), 'uid-agent');
    assert.equal(cluster.ownerUid('DaemonSet', 'other', 'agent'), undefined);
    assert.equal(cluster.ownerUid('ConfigMap', 'default', 'x'), undefined);
  });

  describe('a pod counts as its controller\'s only when levee holds that controller with the uid the pod names', () => {
    /** Service `solo` backed by the one ready pod `solo`, whose controller reference is `owner` (kind, name, uid). */
    function soloBehind(owner?: { kind: string; name: string; uid: string }): ClusterState {
      const cluster = clusterWithBackedService({ ready: 2 });
      cluster.pods.upsert('default/solo', toPodView({
        kind: 'Pod',
        metadata: { name: 'solo', namespace: 'default', ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', controller: true, ...owner }] } : {}) },
      }));
      addService(cluster, 'solo', 'default', { app: 'solo' }, ['solo']);
      return cluster;
    }
    const soloPod = { kind: 'Pod' as const, namespace: 'default', name: 'solo' };
    const solo = (cluster: ClusterState) => cluster.servicesSelecting('default', { app: 'solo' })[0]!;

    it('credits a pod to a cached ReplicaSet with that uid, and through it to the Deployment', () => {
      const cluster = soloBehind({ kind: 'ReplicaSet', name: 'web-rs', uid: 'uid-web-rs' });
      assert.deepEqual(cluster.attributePod('default', 'solo'), { kind: 'workload', ref: web });
      assert.equal(cluster.backingOf(solo(cluster), web).ownReadyEndpoints, 1);
    });

    it('never credits a pod to a cached ReplicaSet of another uid, nor counts it as anyone else\'s backend', () => {
      const cluster = soloBehind({ kind: 'ReplicaSet', name: 'web-rs', uid: 'uid-forged' });
      assert.deepEqual(cluster.podController(cluster.pods.get('default/solo')!), { kind: 'unconfirmed' });
      assert.deepEqual(cluster.attributePod('default', 'solo'), { kind: 'unknown' });
      // Relabelling or deleting the pod itself: its endpoint is its own.
      const asItself = cluster.backingOf(solo(cluster), soloPod);
      assert.deepEqual([asItself.ownReadyEndpoints, asItself.otherReadyEndpoints], [1, 0]);
    });

    it('counts a pod naming an uncached StatefulSet, DaemonSet, ReplicationController or Job, or one of the right name and kind with an empty uid, as the judged backend\'s own', () => {
      for (const owner of [
        { kind: 'StatefulSet', name: 'ghost', uid: 'uid-ghost' },
        { kind: 'DaemonSet', name: 'ghost', uid: 'uid-ghost' },
        { kind: 'ReplicationController', name: 'ghost', uid: 'uid-ghost' },
        { kind: 'Job', name: 'ghost', uid: 'uid-ghost' },
        { kind: 'ReplicaSet', name: 'web-rs', uid: '' },
      ]) {
        const cluster = soloBehind(owner);
        const asItself = cluster.backingOf(solo(cluster), soloPod);
        assert.deepEqual([asItself.ownReadyEndpoints, asItself.otherReadyEndpoints], [1, 0], `${owner.kind}/${owner.name} uid '${owner.uid}'`);
      }
    });

    it('backs the Service as itself when it names an owner of a kind that makes no pods (a ConfigMap, an operator\'s object)', () => {
      for (const kind of ['ConfigMap', 'Cluster', 'Deployment', 'CronJob']) {
        const cluster = soloBehind({ kind, name: 'web', uid: 'uid-web' });
        assert.deepEqual(cluster.attributePod('default', 'solo'), { kind: 'other', label: 'Pod/solo' }, kind);
        const asItself = cluster.backingOf(solo(cluster), soloPod);
        assert.deepEqual([asItself.ownReadyEndpoints, asItself.otherReadyEndpoints], [1, 0], kind);
        const asWeb = cluster.backingOf(solo(cluster), web);
        assert.deepEqual([asWeb.ownReadyEndpoints, asWeb.otherReadyEndpoints, asWeb.otherBackends], [0, 1, ['Pod/solo']], kind);
      }
    });

    it('does not credit a pod whose reference has the uid of a cached owner but another kind', () => {
      // The uid of ReplicaSet web-rs, under kind StatefulSet: no StatefulSet of that name and uid.
      const cluster = soloBehind({ kind: 'StatefulSet', name: 'web-rs', uid: 'uid-web-rs' });
      assert.deepEqual(cluster.attributePod('default', 'solo'), { kind: 'unknown' });
      assert.equal(cluster.backingOf(solo(cluster), soloPod).otherReadyEndpoints, 0);
    });

    it('lagging cache: a new ReplicaSet\'s pod, cached before its ReplicaSet, never makes the Deployment\'s scale to zero look safe', () => {
      // Deployment web rolls out ReplicaSet web-rs2; its first pod is ready and cached, the
      // ReplicaSet is not yet; the old pods are gone from the endpoints.
      const cluster = new ClusterState();
      addDeploymentWithPods(cluster, 'web', 'default', 0);
      addPod(cluster, 'web-rs2-0', 'default', { kind: 'ReplicaSet', name: 'web-rs2' });
      addService(cluster, 'web', 'default', { app: 'web' }, ['web-rs2-0']);
      const backing = cluster.backingOf(webService(cluster), web);
      assert.deepEqual([backing.readyEndpoints, backing.ownReadyEndpoints, backing.otherReadyEndpoints], [1, 1, 0]);
      // Once the ReplicaSet arrives with the uid its pod names, the pod is the Deployment's.
      addReplicaSetOf(cluster, 'web-rs2', 'web');
      assert.deepEqual(cluster.attributePod('default', 'web-rs2-0'), { kind: 'workload', ref: web });
      assert.equal(cluster.backingOf(webService(cluster), web).ownReadyEndpoints, 1);
    });

    it('lagging cache: a pod cached before its StatefulSet or DaemonSet counts as any judged backend\'s own, never as another', () => {
      for (const kind of ['StatefulSet', 'DaemonSet']) {
        const cluster = clusterWithBackedService({ ready: 1 });
        addPod(cluster, 'store-0', 'default', { kind, name: 'store' });
        addEndpointSlice(cluster, 'web', 'default', 'web-store', [{ pod: 'store-0' }]);
        const before = cluster.backingOf(webService(cluster), web);
        assert.deepEqual([before.ownReadyEndpoints, before.otherReadyEndpoints], [2, 0], kind);
        cacheOwner(cluster, kind, 'default', 'store');
        const after = cluster.backingOf(webService(cluster), web);
        assert.deepEqual([after.ownReadyEndpoints, after.otherReadyEndpoints, after.otherBackends], [1, 1, [`${kind}/store`]], kind);
      }
    });
  });
});
