// Ways past spot-capacity that levee lets through today, through its real HTTPS /validate,
// judged against caches filled the way the offline audit fills them. Each case asserts the
// right answer, so it fails until levee is fixed.
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/kube/types.js';
import { refusedFor } from '../support/server.js';
import { capacityType, capiCluster, capiFleet, machineDeployment, mdReview, node, nodeFleet, nodePool, nodePoolReview, review, spotLabel, useCapacityLevee } from '../support/capacity-reviews.js';

describe('server: bypasses of spot-capacity (fail until levee closes them)', function () {
  this.timeout(20_000);
  const levee = useCapacityLevee();

  // nodes/status resets spec but keeps metadata (pkg/registry/core/node/strategy.go,
  // nodeStatusStrategy.PrepareForUpdate): labels change through it, and levee registers nodes/status.
  describe('spot-capacity: Nodes', () => {

    it('refuses relabelling an on-demand node as spot through nodes/status (the status strategy keeps label changes)', async () => {
      const judge = await levee(nodeFleet());
      const body = review({ operation: 'UPDATE', group: '', version: 'v1', kind: 'Node', resource: 'nodes', subResource: 'status', name: 'od-1', object: node('od-1', spotLabel), oldObject: node('od-1') });
      refusedFor(await judge(body), /on-demand-floor/);
    });

    it('allows the kubelet status update of an on-demand node at the floor (labels unchanged, conditions changed)', async () => {
      const judge = await levee([node('od-1'), node('spot-1', spotLabel)]);
      const after = { ...node('od-1'), status: { conditions: [{ type: 'Ready', status: 'True' }] } } as KubeObject;
      const body = review({ operation: 'UPDATE', group: '', version: 'v1', kind: 'Node', resource: 'nodes', subResource: 'status', name: 'od-1', object: after, oldObject: node('od-1'), username: 'system:node:od-1' });
      assert.equal((await judge(body)).allowed, true);
    });

    it('allows a nodes/status label change that keeps the node on-demand', async () => {
      const judge = await levee([node('od-1'), node('spot-1', spotLabel)]);
      const after = node('od-1');
      after.metadata = { ...after.metadata, labels: { ...after.metadata?.labels, 'example.com/rack': 'r1' } };
      const body = review({ operation: 'UPDATE', group: '', version: 'v1', kind: 'Node', resource: 'nodes', subResource: 'status', name: 'od-1', object: after, oldObject: node('od-1') });
      assert.equal((await judge(body)).allowed, true);
    });
  });

  // Karpenter provisions nothing from a NodePool whose limits are reached; limits of 0 reach them at once.
  describe('spot-capacity: Karpenter NodePools', () => {
    const onDemandPool = () => nodePool('general', [capacityType('In', ['on-demand'])]);
    const spotPool = () => nodePool('cheap', [capacityType('In', ['spot'])]);

    it('refuses limits of zero on the only on-demand NodePool (it can launch nothing any more)', async () => {
      const judge = await levee([onDemandPool(), spotPool(), node('spot-1', spotLabel)]);
      const limited = { ...onDemandPool(), spec: { ...(onDemandPool() as { spec: object }).spec, limits: { cpu: '0' } } } as KubeObject;
      refusedFor(await judge(nodePoolReview('UPDATE', onDemandPool(), limited)), /all-pools-spot/);
    });

    it('refuses a zero limit on any resource, in any quantity spelling, and allows limits above zero', async () => {
      const judge = await levee([onDemandPool(), spotPool(), node('spot-1', spotLabel)]);
      const withLimits = (limits: Record<string, unknown>) => ({ ...onDemandPool(), spec: { ...(onDemandPool() as { spec: object }).spec, limits } }) as KubeObject;
      refusedFor(await judge(nodePoolReview('UPDATE', onDemandPool(), withLimits({ cpu: '1000', memory: '0Gi' }))), /all-pools-spot/);
      refusedFor(await judge(nodePoolReview('UPDATE', onDemandPool(), withLimits({ 'nvidia.com/gpu': 0 }))), /all-pools-spot/);
      refusedFor(await judge(nodePoolReview('UPDATE', onDemandPool(), withLimits({ cpu: '0.0m' }))), /all-pools-spot/);
      assert.equal((await judge(nodePoolReview('UPDATE', onDemandPool(), withLimits({ cpu: '100', memory: '1000Gi' })))).allowed, true);
    });
  });

  // The failure-handler exemption is for pools taken down with their cluster (README: "take pools
  // down with their cluster, and a cluster being deleted is never judged"). Cluster API's manager
  // also runs the topology controller, which writes whatever a Cluster's variables and a
  // ClusterClass's patches ask for (patches levee does not read), and the garbage collector
  // deletes whatever a forged ownerReference points it at.
  describe('spot-capacity: Cluster API pools changed by an exempt identity while their cluster lives', () => {
    it('refuses the topology controller (capi-manager) repointing the on-demand pool at a spot template', async () => {
      const judge = await levee(capiFleet());
      const before = machineDeployment('prod-md-0', 'workers', 3);
      const after = machineDeployment('prod-md-0', 'workers-spot', 3);
      refusedFor(await judge(mdReview('UPDATE', before, after, 'system:serviceaccount:capi-system:capi-manager')), /all-pools-spot/);
    });

    it('refuses the garbage collector deleting the on-demand pool when its Cluster is not being deleted (owner forged)', async () => {
      const judge = await levee(capiFleet());
      const owned = { ...machineDeployment('prod-md-0', 'workers', 3) } as KubeObject;
      owned.metadata = { ...owned.metadata, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'throwaway', uid: 'uid-throwaway' }] };
      refusedFor(await judge(mdReview('DELETE', owned, null, 'system:serviceaccount:kube-system:generic-garbage-collector')), /all-pools-spot/);
    });

    it('allows the garbage collector and Cluster API\'s manager to delete the on-demand pool of a Cluster gone from the cache, and still refuses anyone else', async () => {
      const judge = await levee(capiFleet().filter((object) => object.kind !== 'Cluster'));
      const pool = machineDeployment('prod-md-0', 'workers', 3);
      for (const controller of ['system:serviceaccount:kube-system:generic-garbage-collector', 'system:serviceaccount:capi-system:capi-manager']) {
        assert.equal((await judge(mdReview('DELETE', pool, null, controller))).allowed, true, controller);
      }
      refusedFor(await judge(mdReview('DELETE', pool, null)), /all-pools-spot/);
    });

    it('allows the garbage collector to delete the on-demand pool of a Cluster being deleted', async () => {
      const deleting = capiCluster('prod');
      deleting.metadata = { ...deleting.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' };
      const judge = await levee([deleting, ...capiFleet().filter((object) => object.kind !== 'Cluster')]);
      const body = mdReview('DELETE', machineDeployment('prod-md-0', 'workers', 3), null, 'system:serviceaccount:kube-system:generic-garbage-collector');
      assert.equal((await judge(body)).allowed, true);
    });
  });

  // The same exemption on Nodes: a Node given a forged ownerReference to a throwaway
  // cluster-scoped object is deleted by the garbage collector once that object goes.
  describe('spot-capacity: on-demand Nodes deleted by the garbage collector', () => {
    it('refuses the garbage collector deleting an on-demand node below the floor (owner forged)', async () => {
      const judge = await levee([node('od-1'), node('od-2'), node('spot-1', spotLabel)]);
      const owned = node('od-1');
      owned.metadata = { ...owned.metadata, ownerReferences: [{ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'throwaway', uid: 'uid-throwaway' }] };
      const body = review({ operation: 'DELETE', group: '', version: 'v1', kind: 'Node', resource: 'nodes', name: 'od-1', oldObject: owned, username: 'system:serviceaccount:kube-system:generic-garbage-collector' });
      refusedFor(await judge(body), /on-demand-floor/);
    });

    it('still allows Karpenter deleting the on-demand node it owns through a NodeClaim (an audit finding)', async () => {
      const judge = await levee([node('od-1'), node('od-2'), node('spot-1', spotLabel)]);
      const owned = node('od-1');
      owned.metadata = { ...owned.metadata, ownerReferences: [{ apiVersion: 'karpenter.sh/v1', kind: 'NodeClaim', name: 'od-1', uid: 'uid-claim' }] };
      const body = review({ operation: 'DELETE', group: '', version: 'v1', kind: 'Node', resource: 'nodes', name: 'od-1', oldObject: owned, username: 'system:serviceaccount:karpenter:karpenter' });
      assert.equal((await judge(body)).allowed, true);
    });
  });
});
