import assert from 'node:assert/strict';
import { workloadKey, type WorkloadRef } from '../../../src/kube/workload.js';
import { ClusterState, ownerKey } from '../../../src/cluster/state.js';
import { toWorkloadView } from '../../../src/cluster/views.js';
import { addDeploymentWithPods, addEndpointSlice, addPod, addService, clusterWithBackedService } from '../../support/cluster.js';
import { deploymentObject } from '../../support/reviews.js';

/** What backs a Service once one workload is gone (issue 12 items 4 and 7), and the owners levee can vouch for. */

const web: WorkloadRef = { kind: 'Deployment', namespace: 'default', name: 'web' };

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
});
