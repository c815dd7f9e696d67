// Attacks on spot-capacity and version-skew through levee's real HTTPS /validate, judged
// against caches filled the way the offline audit fills them (every object given is
// cluster state that exists before the request).
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/kube/types.js';
import { allowed, refusedFor } from '../support/server.js';
import {
  awsTemplate,
  capacityType,
  capiCluster,
  capiFleet,
  kcp,
  kcpReview,
  machineDeployment,
  mdReview,
  mdScaleReview,
  node,
  nodeFleet,
  nodePool,
  nodePoolReview,
  nodeReview,
  NS,
  onDemandLabel,
  review,
  spotLabel,
  useCapacityLevee,
} from '../support/capacity-reviews.js';

describe('server: attacks on spot-capacity and version-skew', function () {
  this.timeout(20_000);
  const levee = useCapacityLevee();

  // ------------------------------------------------------------ spot-capacity: Nodes
  describe('spot-capacity: Nodes', () => {

    it('refuses cordoning an unlabelled on-demand node when only 2 on-demand nodes exist beside spot', async () => {
      const judge = await levee(nodeFleet());
      refusedFor(await judge(nodeReview('UPDATE', node('od-1'), node('od-1', {}, { unschedulable: true }))), /on-demand-floor/);
    });

    it('refuses flipping karpenter.sh/capacity-type from on-demand to spot on a labelled node', async () => {
      const judge = await levee([node('od-1', onDemandLabel), node('od-2', onDemandLabel), node('spot-1', spotLabel)]);
      refusedFor(await judge(nodeReview('UPDATE', node('od-1', onDemandLabel), node('od-1', spotLabel))), /on-demand-floor/);
    });

    it('refuses relabelling an on-demand node as GKE spot (cloud.google.com/gke-spot)', async () => {
      const judge = await levee(nodeFleet());
      refusedFor(await judge(nodeReview('UPDATE', node('od-1'), node('od-1', { 'cloud.google.com/gke-spot': 'true' }))), /on-demand-floor/);
    });

    it('refuses relabelling an on-demand node as an Alibaba spot node (spot-strategy other than NoSpot)', async () => {
      const judge = await levee(nodeFleet());
      refusedFor(await judge(nodeReview('UPDATE', node('od-1'), node('od-1', { 'node.alibabacloud.com/spot-strategy': 'SpotAsPriceGo' }))), /on-demand-floor/);
    });

    it('refuses a NoExecute taint on an on-demand node below the floor', async () => {
      const judge = await levee(nodeFleet());
      const tainted = node('od-1', {}, { taints: [{ key: 'maintenance', value: 'x', effect: 'NoExecute' }] });
      refusedFor(await judge(nodeReview('UPDATE', node('od-1'), tainted)), /on-demand-floor/);
    });

    it('allows a PreferNoSchedule taint on an on-demand node (pods still schedule there)', async () => {
      const judge = await levee(nodeFleet());
      const tainted = node('od-1', {}, { taints: [{ key: 'maintenance', value: 'x', effect: 'PreferNoSchedule' }] });
      allowed(await judge(nodeReview('UPDATE', node('od-1'), tainted)));
    });

    it('refuses deleting an on-demand node below the floor', async () => {
      const judge = await levee(nodeFleet());
      refusedFor(await judge(nodeReview('DELETE', node('od-1'), null)), /on-demand-floor/);
    });

    it('allows cordoning a spot node', async () => {
      const judge = await levee(nodeFleet());
      allowed(await judge(nodeReview('UPDATE', node('spot-1', spotLabel), node('spot-1', spotLabel, { unschedulable: true }))));
    });

    it('allows the node lifecycle controller to taint an on-demand node NoExecute (failure handler)', async () => {
      const judge = await levee(nodeFleet());
      const tainted = node('od-1', {}, { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] });
      allowed(await judge(nodeReview('UPDATE', node('od-1'), tainted, 'system:serviceaccount:kube-system:node-controller')));
    });

    it('refuses another node\'s kubelet identity cordoning an on-demand node ({node} is the node itself only)', async () => {
      const judge = await levee(nodeFleet());
      refusedFor(await judge(nodeReview('UPDATE', node('od-1'), node('od-1', {}, { unschedulable: true }), 'system:node:spot-1')), /on-demand-floor/);
    });

    it('counts Karpenter "reserved" nodes as on-demand: cordoning one of two reserved nodes is refused', async () => {
      const reserved = { 'karpenter.sh/capacity-type': 'reserved' };
      const judge = await levee([node('r-1', reserved), node('r-2', reserved), node('spot-1', spotLabel)]);
      refusedFor(await judge(nodeReview('UPDATE', node('r-1', reserved), node('r-1', reserved, { unschedulable: true }))), /on-demand-floor/);
    });

    it('allows draining one node of an all-on-demand cluster (nothing can vanish)', async () => {
      const judge = await levee([node('od-1'), node('od-2')]);
      allowed(await judge(nodeReview('UPDATE', node('od-1'), node('od-1', {}, { unschedulable: true }))));
    });

    it('counts a cordoned spot node as spot capacity: cordoning an on-demand node is still refused', async () => {
      const judge = await levee([node('od-1'), node('od-2'), node('spot-1', spotLabel, { unschedulable: true })]);
      refusedFor(await judge(nodeReview('UPDATE', node('od-1'), node('od-1', {}, { unschedulable: true }))), /on-demand-floor/);
    });

    it('lets only one of two parallel cordons through when three on-demand nodes exist and the floor is 2', async () => {
      const judge = await levee([node('od-1'), node('od-2'), node('od-3'), node('spot-1', spotLabel)]);
      const answers = await Promise.all(
        ['od-1', 'od-2'].map((name) => judge(nodeReview('UPDATE', node(name), node(name, {}, { unschedulable: true })))),
      );
      assert.equal(answers.filter((answer) => answer.allowed).length, 1, JSON.stringify(answers.map((a) => a.allowed)));
    });

    it('lets only one of two parallel deletes through (delete and cordon count each other)', async () => {
      const judge = await levee([node('od-1'), node('od-2'), node('od-3'), node('spot-1', spotLabel)]);
      const answers = await Promise.all([
        judge(nodeReview('DELETE', node('od-1'), null)),
        judge(nodeReview('UPDATE', node('od-2'), node('od-2', {}, { unschedulable: true }))),
      ]);
      assert.equal(answers.filter((answer) => answer.allowed).length, 1, JSON.stringify(answers.map((a) => a.allowed)));
    });

    it('does not remember a dry-run cordon: the real one after it is still allowed', async () => {
      const judge = await levee([node('od-1'), node('od-2'), node('od-3'), node('spot-1', spotLabel)]);
      const dry = review({ operation: 'UPDATE', group: '', version: 'v1', kind: 'Node', resource: 'nodes', name: 'od-1', object: node('od-1', {}, { unschedulable: true }), oldObject: node('od-1'), dryRun: true });
      allowed(await judge(dry));
      allowed(await judge(nodeReview('UPDATE', node('od-2'), node('od-2', {}, { unschedulable: true }))));
    });

    it('allows Karpenter deleting an on-demand node (failure handler)', async () => {
      const judge = await levee(nodeFleet());
      allowed(await judge(nodeReview('DELETE', node('od-1'), null, 'system:serviceaccount:kube-system:karpenter')));
    });

    it('allows cluster-autoscaler tainting an on-demand node ToBeDeletedByClusterAutoscaler (failure handler)', async () => {
      const judge = await levee(nodeFleet());
      const tainted = node('od-1', {}, { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1700000000', effect: 'NoSchedule' }] });
      allowed(await judge(nodeReview('UPDATE', node('od-1'), tainted, 'system:serviceaccount:kube-system:cluster-autoscaler')));
    });

    it('allows uncordoning an on-demand node of a cluster below the floor', async () => {
      const judge = await levee([node('od-1', {}, { unschedulable: true }), node('od-2'), node('spot-1', spotLabel)]);
      allowed(await judge(nodeReview('UPDATE', node('od-1', {}, { unschedulable: true }), node('od-1'))));
    });
  });

  // ------------------------------------------------------------ spot-capacity: NodePools
  describe('spot-capacity: Karpenter NodePools', () => {
    const onDemandPool = () => nodePool('general', [capacityType('In', ['on-demand'])]);
    const spotPool = () => nodePool('cheap', [capacityType('In', ['spot'])]);

    it('refuses turning the only on-demand NodePool into NotIn [on-demand]', async () => {
      const judge = await levee([onDemandPool(), spotPool(), node('spot-1', spotLabel)]);
      refusedFor(await judge(nodePoolReview('UPDATE', onDemandPool(), nodePool('general', [capacityType('NotIn', ['on-demand'])]))), /all-pools-spot/);
    });

    it('refuses two requirements whose intersection is spot only (In [spot,on-demand] and NotIn [on-demand])', async () => {
      const judge = await levee([onDemandPool(), spotPool()]);
      const after = nodePool('general', [capacityType('In', ['spot', 'on-demand']), capacityType('NotIn', ['on-demand'])]);
      refusedFor(await judge(nodePoolReview('UPDATE', onDemandPool(), after)), /all-pools-spot/);
    });

    it('allows Exists on capacity-type (it can still launch on-demand)', async () => {
      const judge = await levee([onDemandPool(), spotPool()]);
      allowed(await judge(nodePoolReview('UPDATE', onDemandPool(), nodePool('general', [capacityType('Exists')]))));
    });

    it('refuses deleting the last on-demand NodePool beside a spot one', async () => {
      const judge = await levee([onDemandPool(), spotPool()]);
      refusedFor(await judge(nodePoolReview('DELETE', onDemandPool(), null)), /all-pools-spot/);
    });

    it('refuses creating a spot-only NodePool as the first NodePool of a cluster with no on-demand nodes outside Karpenter', async () => {
      const judge = await levee([]);
      refusedFor(await judge(nodePoolReview('CREATE', null, spotPool())), /all-pools-spot/);
    });

    it('allows a spot-only NodePool when enough on-demand nodes exist outside Karpenter', async () => {
      const ng = { 'eks.amazonaws.com/nodegroup': 'system', 'eks.amazonaws.com/capacityType': 'ON_DEMAND' };
      const judge = await levee([node('ng-1', ng), node('ng-2', ng)]);
      allowed(await judge(nodePoolReview('CREATE', null, spotPool())));
    });

    it('lets only one of two parallel deletes of the two on-demand NodePools through', async () => {
      const other = () => nodePool('general-2', [capacityType('In', ['on-demand'])]);
      const judge = await levee([onDemandPool(), other(), spotPool()]);
      const answers = await Promise.all([judge(nodePoolReview('DELETE', onDemandPool(), null)), judge(nodePoolReview('DELETE', other(), null))]);
      assert.equal(answers.filter((answer) => answer.allowed).length, 1, JSON.stringify(answers.map((a) => a.allowed)));
    });

    it('lets only one of a change to spot only and a delete of the other on-demand NodePool through, sent together', async () => {
      const other = () => nodePool('general-2', [capacityType('In', ['on-demand'])]);
      const judge = await levee([onDemandPool(), other(), spotPool()]);
      const answers = await Promise.all([
        judge(nodePoolReview('UPDATE', onDemandPool(), nodePool('general', [capacityType('In', ['spot'])]))),
        judge(nodePoolReview('DELETE', other(), null)),
      ]);
      assert.equal(answers.filter((answer) => answer.allowed).length, 1, JSON.stringify(answers.map((a) => a.allowed)));
    });
  });

  // ------------------------------------------------------------ spot-capacity: Cluster API
  describe('spot-capacity: Cluster API worker pools', () => {
    it('refuses kubectl scale of the on-demand MachineDeployment to 0 (Scale without replicas)', async () => {
      const judge = await levee(capiFleet());
      refusedFor(await judge(mdScaleReview('prod-md-0', 3, 0)), /all-pools-spot/);
    });

    it('allows kubectl scale of the on-demand MachineDeployment from 3 to 1', async () => {
      const judge = await levee(capiFleet());
      allowed(await judge(mdScaleReview('prod-md-0', 3, 1)));
    });

    it('refuses repointing the on-demand MachineDeployment at the spot template', async () => {
      const judge = await levee(capiFleet());
      refusedFor(await judge(mdReview('UPDATE', machineDeployment('prod-md-0', 'workers', 3), machineDeployment('prod-md-0', 'workers-spot', 3))), /all-pools-spot/);
    });

    it('refuses deleting the on-demand MachineDeployment', async () => {
      const judge = await levee(capiFleet());
      refusedFor(await judge(mdReview('DELETE', machineDeployment('prod-md-0', 'workers', 3), null)), /all-pools-spot/);
    });

    it('refuses Cluster API\'s manager deleting the on-demand MachineDeployment of a living Cluster (exempt only once the Cluster is gone)', async () => {
      const judge = await levee(capiFleet());
      refusedFor(await judge(mdReview('DELETE', machineDeployment('prod-md-0', 'workers', 3), null, 'system:serviceaccount:capi-system:capi-manager')), /all-pools-spot/);
    });

    it('refuses the v1beta2 spelling of the same repoint (infrastructureRef.apiGroup)', async () => {
      const judge = await levee(capiFleet());
      const before = machineDeployment('prod-md-0', 'workers', 3, { apiVersion: 'cluster.x-k8s.io/v1beta2' });
      const after = machineDeployment('prod-md-0', 'workers-spot', 3, { apiVersion: 'cluster.x-k8s.io/v1beta2' });
      refusedFor(await judge(mdReview('UPDATE', before, after)), /all-pools-spot/);
    });

    it('refuses setting replicas: 0 by update (not only through /scale)', async () => {
      const judge = await levee(capiFleet());
      refusedFor(await judge(mdReview('UPDATE', machineDeployment('prod-md-0', 'workers', 3), machineDeployment('prod-md-0', 'workers', 0))), /all-pools-spot/);
    });

    it('allows scaling up a spot pool of a cluster that already had no on-demand replica (nothing lost)', async () => {
      const judge = await levee([capiCluster('prod'), awsTemplate('workers-spot', true), machineDeployment('prod-md-spot', 'workers-spot', 3)]);
      allowed(await judge(mdReview('UPDATE', machineDeployment('prod-md-spot', 'workers-spot', 3), machineDeployment('prod-md-spot', 'workers-spot', 5))));
    });

    it('judges a same-named cluster in another namespace on its own: the on-demand pool elsewhere does not count', async () => {
      const elsewhere = { ...machineDeployment('prod-md-0', 'workers', 3), metadata: { name: 'prod-md-0', namespace: 'other', labels: { 'cluster.x-k8s.io/cluster-name': 'prod' } } } as KubeObject;
      const judge = await levee([capiCluster('prod'), awsTemplate('workers', false), awsTemplate('workers-spot', true), elsewhere]);
      refusedFor(await judge(mdReview('CREATE', null, machineDeployment('prod-md-spot', 'workers-spot', 3))), /all-pools-spot/);
    });

    it('lets only one of two parallel scale-downs to 0 of the two on-demand pools through', async () => {
      const judge = await levee([...capiFleet(), machineDeployment('prod-md-1', 'workers', 2)]);
      const answers = await Promise.all([judge(mdScaleReview('prod-md-0', 3, 0)), judge(mdScaleReview('prod-md-1', 2, 0))]);
      assert.equal(answers.filter((answer) => answer.allowed).length, 1, JSON.stringify(answers.map((a) => [a.allowed, a.status?.message])));
    });

    it('refuses an on-demand pool\'s label moved to another cluster (it leaves prod with spot only)', async () => {
      const judge = await levee(capiFleet());
      refusedFor(await judge(mdReview('UPDATE', machineDeployment('prod-md-0', 'workers', 3), machineDeployment('prod-md-0', 'workers', 3, { cluster: 'staging' }))), /all-pools-spot/);
    });
    it('refuses the spot template that an on-demand MachineDeployment already points at, when it arrives after the pool', async () => {
      const judge = await levee([
        capiCluster('prod'),
        awsTemplate('workers-spot', true),
        machineDeployment('prod-md-0', 'workers-next', 3),
        machineDeployment('prod-md-spot', 'workers-spot', 3),
      ]);
      const body = review({ operation: 'CREATE', group: 'infrastructure.cluster.x-k8s.io', version: 'v1beta2', kind: 'AWSMachineTemplate', resource: 'awsmachinetemplates', name: 'workers-next', namespace: NS, object: awsTemplate('workers-next', true) });
      refusedFor(await judge(body), /all-pools-spot/);
    });

    it('refuses kubectl scale of an EKS on-demand MachinePool to 0 beside a spot MachinePool', async () => {
      const managed = (name: string, spot: boolean) => ({
        apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2',
        kind: 'AWSManagedMachinePool',
        metadata: { name, namespace: NS },
        spec: { capacityType: spot ? 'spot' : 'onDemand' },
      }) as KubeObject;
      const pool = (name: string, infra: string, replicas: number) => ({
        apiVersion: 'cluster.x-k8s.io/v1beta1',
        kind: 'MachinePool',
        metadata: { name, namespace: NS, labels: { 'cluster.x-k8s.io/cluster-name': 'prod' } },
        spec: { clusterName: 'prod', replicas, template: { spec: { clusterName: 'prod', version: 'v1.30.2', bootstrap: { dataSecretName: '' }, infrastructureRef: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2', kind: 'AWSManagedMachinePool', name: infra } } } },
      }) as KubeObject;
      const judge = await levee([capiCluster('prod'), managed('od', false), managed('sp', true), pool('prod-mp-0', 'od', 2), pool('prod-mp-spot', 'sp', 3)]);
      const scale = (replicas: number) => ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'prod-mp-0', namespace: NS }, spec: replicas === 0 ? {} : { replicas }, status: { replicas: 2 } });
      const body = review({ operation: 'UPDATE', group: 'autoscaling', version: 'v1', kind: 'Scale', resource: 'machinepools', subResource: 'scale', name: 'prod-mp-0', namespace: NS, object: scale(0), oldObject: scale(2) });
      (body as { request: { resource: object; requestResource: object } }).request.resource = { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machinepools' };
      (body as { request: { resource: object; requestResource: object } }).request.requestResource = { group: 'cluster.x-k8s.io', version: 'v1beta1', resource: 'machinepools' };
      refusedFor(await judge(body), /all-pools-spot/);
    });

    it('refuses a ClusterClass Cluster topology that sets its on-demand worker entry to 0 replicas', async () => {
      const clusterClass = {
        apiVersion: 'cluster.x-k8s.io/v1beta1',
        kind: 'ClusterClass',
        metadata: { name: 'aws', namespace: NS },
        spec: {
          workers: {
            machineDeployments: [
              { class: 'on-demand', template: { bootstrap: { ref: { apiVersion: 'bootstrap.cluster.x-k8s.io/v1beta1', kind: 'KubeadmConfigTemplate', name: 'b' } }, infrastructure: { ref: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2', kind: 'AWSMachineTemplate', name: 'workers' } } } },
              { class: 'spot', template: { bootstrap: { ref: { apiVersion: 'bootstrap.cluster.x-k8s.io/v1beta1', kind: 'KubeadmConfigTemplate', name: 'b' } }, infrastructure: { ref: { apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2', kind: 'AWSMachineTemplate', name: 'workers-spot' } } } },
            ],
          },
        },
      } as KubeObject;
      const topo = (onDemandReplicas: number) => ({
        apiVersion: 'cluster.x-k8s.io/v1beta1',
        kind: 'Cluster',
        metadata: { name: 'prod', namespace: NS },
        spec: { topology: { class: 'aws', version: 'v1.30.2', workers: { machineDeployments: [{ class: 'on-demand', name: 'md-0', replicas: onDemandReplicas }, { class: 'spot', name: 'md-spot', replicas: 3 }] } } },
      }) as KubeObject;
      const judge = await levee([clusterClass, awsTemplate('workers', false), awsTemplate('workers-spot', true), topo(3)]);
      refusedFor(await judge(review({ operation: 'UPDATE', group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'Cluster', resource: 'clusters', name: 'prod', namespace: NS, object: topo(0), oldObject: topo(3) })), /all-pools-spot/);
    });


    it('refuses the namespace controller deleting the on-demand MachineDeployment while its Cluster lives, and allows it once the Cluster is gone', async () => {
      const pool = machineDeployment('prod-md-0', 'workers', 3);
      const living = await levee(capiFleet());
      refusedFor(await living(mdReview('DELETE', pool, null, 'system:serviceaccount:kube-system:namespace-controller')), /all-pools-spot/);
      const gone = await levee(capiFleet().filter((object) => object.kind !== 'Cluster'));
      allowed(await gone(mdReview('DELETE', pool, null, 'system:serviceaccount:kube-system:namespace-controller')));
    });

    it('lets only one of a delete and a /scale to 0 of the two on-demand pools through, sent together', async () => {
      const judge = await levee([...capiFleet(), machineDeployment('prod-md-1', 'workers', 2)]);
      const answers = await Promise.all([judge(mdReview('DELETE', machineDeployment('prod-md-1', 'workers', 2), null)), judge(mdScaleReview('prod-md-0', 3, 0))]);
      assert.equal(answers.filter((answer) => answer.allowed).length, 1, JSON.stringify(answers.map((a) => [a.allowed, a.status?.message])));
    });

    it('lets only one of two repoints of the two on-demand pools at the spot template through, sent together', async () => {
      const judge = await levee([...capiFleet(), machineDeployment('prod-md-1', 'workers', 2)]);
      const answers = await Promise.all([
        judge(mdReview('UPDATE', machineDeployment('prod-md-0', 'workers', 3), machineDeployment('prod-md-0', 'workers-spot', 3))),
        judge(mdReview('UPDATE', machineDeployment('prod-md-1', 'workers', 2), machineDeployment('prod-md-1', 'workers-spot', 2))),
      ]);
      assert.equal(answers.filter((answer) => answer.allowed).length, 1, JSON.stringify(answers.map((a) => [a.allowed, a.status?.message])));
    });
  });

  // ------------------------------------------------------------ version-skew
  describe('version-skew', () => {
    const skewFleet = (cp: string, workers: string) => [
      capiCluster('prod'),
      awsTemplate('workers', false),
      kcp('prod-cp', cp),
      machineDeployment('prod-md-0', 'workers', 3, { version: workers }),
    ];

    it('refuses a patch downgrade of the control plane', async () => {
      const judge = await levee(skewFleet('v1.30.2', 'v1.30.2'));
      refusedFor(await judge(kcpReview(kcp('prod-cp', 'v1.30.2'), kcp('prod-cp', 'v1.30.1'))), /control-plane-downgrade/);
    });

    it('refuses a control plane upgrade that skips a minor', async () => {
      const judge = await levee(skewFleet('v1.29.4', 'v1.29.4'));
      refusedFor(await judge(kcpReview(kcp('prod-cp', 'v1.29.4'), kcp('prod-cp', 'v1.31.0'))), /minor-skip/);
    });

    it('refuses workers set newer than the control plane', async () => {
      const judge = await levee(skewFleet('v1.30.2', 'v1.30.2'));
      refusedFor(await judge(mdReview('UPDATE', machineDeployment('prod-md-0', 'workers', 3, { version: 'v1.30.2' }), machineDeployment('prod-md-0', 'workers', 3, { version: 'v1.31.0' }))), /workers-newer-than-control-plane/);
    });

    it('allows scaling a control plane that is already out of skew (version unchanged)', async () => {
      const judge = await levee(skewFleet('v1.29.0', 'v1.30.2'));
      const before = kcp('prod-cp', 'v1.29.0');
      const after = { ...before, spec: { ...(before as { spec: object }).spec, replicas: 5 } } as KubeObject;
      allowed(await judge(kcpReview(before, after)));
    });

    it('refuses a downgrade of an RKE2 control plane found only through Cluster.spec.controlPlaneRef', async () => {
      const judge = await levee([
        capiCluster('prod', { apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1', kind: 'RKE2ControlPlane', name: 'prod-rke2' }),
        kcp('prod-rke2', 'v1.30.2+rke2r1', { kind: 'RKE2ControlPlane', labelled: false }),
        awsTemplate('workers', false),
        machineDeployment('prod-md-0', 'workers', 3, { version: 'v1.30.2' }),
      ]);
      const before = kcp('prod-rke2', 'v1.30.2+rke2r1', { kind: 'RKE2ControlPlane', labelled: false });
      const after = kcp('prod-rke2', 'v1.29.9+rke2r1', { kind: 'RKE2ControlPlane', labelled: false });
      refusedFor(await judge(kcpReview(before, after)), /version-skew/);
    });

    it('refuses workers set newer than an unlabelled KubeadmControlPlane that the Cluster points at (v1beta2 apiGroup ref)', async () => {
      const judge = await levee([
        capiCluster('prod', { apiGroup: 'controlplane.cluster.x-k8s.io', kind: 'KubeadmControlPlane', name: 'prod-cp' }),
        kcp('prod-cp', 'v1.30.2', { labelled: false }),
        awsTemplate('workers', false),
        machineDeployment('prod-md-0', 'workers', 3, { version: 'v1.30.2' }),
      ]);
      refusedFor(await judge(mdReview('UPDATE', machineDeployment('prod-md-0', 'workers', 3, { version: 'v1.30.2' }), machineDeployment('prod-md-0', 'workers', 3, { version: 'v1.31.0' }))), /workers-newer-than-control-plane/);
    });

    it('refuses a GKE control plane set below its workers through the deprecated spec.controlPlaneVersion', async () => {
      const gcp = (version: string) => ({
        apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
        kind: 'GCPManagedControlPlane',
        metadata: { name: 'prod-gke', namespace: NS, labels: { 'cluster.x-k8s.io/cluster-name': 'prod' } },
        spec: { project: 'p', location: 'europe-west1', controlPlaneVersion: version },
      }) as KubeObject;
      const judge = await levee([capiCluster('prod'), gcp('1.30.5-gke.100'), awsTemplate('workers', false), machineDeployment('prod-md-0', 'workers', 3, { version: 'v1.30.5' })]);
      const answer = await judge(review({ operation: 'UPDATE', group: 'infrastructure.cluster.x-k8s.io', version: 'v1beta1', kind: 'GCPManagedControlPlane', resource: 'gcpmanagedcontrolplanes', name: 'prod-gke', namespace: NS, object: gcp('1.29.8-gke.100'), oldObject: gcp('1.30.5-gke.100') }));
      refusedFor(answer, /version-skew/);
    });

    it('compares k3s-style versions by major.minor.patch: v1.30.0+k3s1 to v1.30.0+k3s2 is not a downgrade', async () => {
      const judge = await levee(skewFleet('v1.30.0+k3s1', 'v1.30.0'));
      allowed(await judge(kcpReview(kcp('prod-cp', 'v1.30.0+k3s1'), kcp('prod-cp', 'v1.30.0+k3s2'))));
    });

    it('refuses a ClusterClass Cluster topology downgrade even with the unsafe version-check annotation', async () => {
      const topo = (version: string) => ({
        apiVersion: 'cluster.x-k8s.io/v1beta1',
        kind: 'Cluster',
        metadata: { name: 'prod', namespace: NS, annotations: { 'unsafe.topology.cluster.x-k8s.io/disable-update-version-check': '' } },
        spec: { topology: { class: 'quick-start', version, workers: { machineDeployments: [{ class: 'default-worker', name: 'md-0', replicas: 3 }] } } },
      }) as KubeObject;
      const judge = await levee([topo('v1.30.2')]);
      refusedFor(await judge(review({ operation: 'UPDATE', group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'Cluster', resource: 'clusters', name: 'prod', namespace: NS, object: topo('v1.29.0'), oldObject: topo('v1.30.2') })), /control-plane-downgrade/);
    });

    it('refuses an EKS control plane (AWSManagedControlPlane, minor-only version) downgraded below its workers', async () => {
      const eks = (version: string) => kcp('prod-eks', version, { kind: 'AWSManagedControlPlane', apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2' });
      const judge = await levee([capiCluster('prod'), eks('v1.30'), awsTemplate('workers', false), machineDeployment('prod-md-0', 'workers', 3, { version: 'v1.30.4' })]);
      refusedFor(await judge(kcpReview(eks('v1.30'), eks('v1.29'))), /version-skew/);
    });

    it('refuses a control plane kind levee has no list entry for (KamajiControlPlane) downgraded below its workers', async () => {
      const kamaji = (version: string) => kcp('prod-kamaji', version, { kind: 'KamajiControlPlane', apiVersion: 'controlplane.cluster.x-k8s.io/v1alpha1', labelled: false });
      const judge = await levee([
        capiCluster('prod', { apiVersion: 'controlplane.cluster.x-k8s.io/v1alpha1', kind: 'KamajiControlPlane', name: 'prod-kamaji' }),
        kamaji('v1.30.2'),
        awsTemplate('workers', false),
        machineDeployment('prod-md-0', 'workers', 3, { version: 'v1.30.2' }),
      ]);
      refusedFor(await judge(kcpReview(kamaji('v1.30.2'), kamaji('v1.29.9'))), /control-plane-older-than-workers|control-plane-downgrade/);
    });

    it('refuses repointing Cluster.spec.controlPlaneRef at an older control plane than its workers', async () => {
      const ref = (name: string) => ({ apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1', kind: 'KubeadmControlPlane', name });
      const judge = await levee([
        capiCluster('prod', ref('prod-cp')),
        kcp('prod-cp', 'v1.31.1', { labelled: false }),
        kcp('old-cp', 'v1.29.0', { labelled: false }),
        awsTemplate('workers', false),
        machineDeployment('prod-md-0', 'workers', 3, { version: 'v1.31.1' }),
      ]);
      const body = review({ operation: 'UPDATE', group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'Cluster', resource: 'clusters', name: 'prod', namespace: NS, object: capiCluster('prod', ref('old-cp')), oldObject: capiCluster('prod', ref('prod-cp')) });
      refusedFor(await judge(body), /control-plane-older-than-workers/);
    });

    it('refuses a MachineSet set newer than the control plane', async () => {
      const machineSet = (version: string) => ({ ...machineDeployment('prod-ms-0', 'workers', 3, { version }), kind: 'MachineSet' }) as KubeObject;
      const judge = await levee([...[capiCluster('prod'), kcp('prod-cp', 'v1.30.2'), awsTemplate('workers', false)], machineSet('v1.30.2')]);
      const body = review({ operation: 'UPDATE', group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'MachineSet', resource: 'machinesets', name: 'prod-ms-0', namespace: NS, object: machineSet('v1.31.0'), oldObject: machineSet('v1.30.2') });
      refusedFor(await judge(body), /workers-newer-than-control-plane/);
    });

    it('refuses a GKE control plane downgraded by dropping spec.version and setting the deprecated spec.controlPlaneVersion', async () => {
      const gcp = (spec: Record<string, string>) => ({
        apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta1',
        kind: 'GCPManagedControlPlane',
        metadata: { name: 'prod-gke', namespace: NS, labels: { 'cluster.x-k8s.io/cluster-name': 'prod' } },
        spec: { project: 'p', location: 'europe-west1', ...spec },
      }) as KubeObject;
      const judge = await levee([capiCluster('prod'), gcp({ version: '1.30.5' }), awsTemplate('workers', false), machineDeployment('prod-md-0', 'workers', 3, { version: 'v1.30.5' })]);
      const answer = await judge(review({ operation: 'UPDATE', group: 'infrastructure.cluster.x-k8s.io', version: 'v1beta1', kind: 'GCPManagedControlPlane', resource: 'gcpmanagedcontrolplanes', name: 'prod-gke', namespace: NS, object: gcp({ controlPlaneVersion: '1.29.8' }), oldObject: gcp({ version: '1.30.5' }) }));
      refusedFor(answer, /version-skew/);
    });

    it('lets only one of a control plane upgrade and a worker downgrade through when together they break the skew policy', async () => {
      const judge = await levee([
        capiCluster('prod'),
        kcp('prod-cp', 'v1.30.2'),
        awsTemplate('workers', false),
        machineDeployment('prod-md-a', 'workers', 3, { version: 'v1.29.0' }),
        machineDeployment('prod-md-b', 'workers', 3, { version: 'v1.29.0' }),
      ]);
      const answers = await Promise.all([
        judge(kcpReview(kcp('prod-cp', 'v1.30.2'), kcp('prod-cp', 'v1.31.0'))),
        judge(mdReview('UPDATE', machineDeployment('prod-md-b', 'workers', 3, { version: 'v1.29.0' }), machineDeployment('prod-md-b', 'workers', 3, { version: 'v1.27.5' }))),
      ]);
      assert.equal(answers.filter((answer) => answer.allowed).length, 1, JSON.stringify(answers.map((a) => [a.allowed, a.status?.message])));
    });

    it('allows a control plane upgrade by one minor with workers on the old minor', async () => {
      const judge = await levee(skewFleet('v1.30.2', 'v1.30.2'));
      allowed(await judge(kcpReview(kcp('prod-cp', 'v1.30.2'), kcp('prod-cp', 'v1.31.0'))));
    });

    it('allows a ClusterClass Cluster topology upgrade by one minor (control plane and workers at once)', async () => {
      const topo = (version: string) => ({
        apiVersion: 'cluster.x-k8s.io/v1beta1',
        kind: 'Cluster',
        metadata: { name: 'prod', namespace: NS },
        spec: { topology: { class: 'quick-start', version, workers: { machineDeployments: [{ class: 'default-worker', name: 'md-0', replicas: 3 }] } } },
      }) as KubeObject;
      const judge = await levee([topo('v1.30.2')]);
      allowed(await judge(review({ operation: 'UPDATE', group: 'cluster.x-k8s.io', version: 'v1beta1', kind: 'Cluster', resource: 'clusters', name: 'prod', namespace: NS, object: topo('v1.31.0'), oldObject: topo('v1.30.2') })));
    });

    const kubeletNode = (name: string, kubelet: string) => ({ ...node(name), status: { nodeInfo: { kubeletVersion: kubelet } } }) as KubeObject;

    it('refuses a Node registering a kubelet a minor newer than the API server', async () => {
      const judge = await levee([kubeletNode('n-1', 'v1.30.2')], 'v1.30.2');
      const body = review({ operation: 'CREATE', group: '', version: 'v1', kind: 'Node', resource: 'nodes', name: 'n-2', object: kubeletNode('n-2', 'v1.31.0'), username: 'system:node:n-2' });
      refusedFor(await judge(body), /kubelet-newer-than-apiserver/);
    });

    it('refuses a kubelet reporting a newer minor than the API server through nodes/status (in-place upgrade)', async () => {
      const judge = await levee([kubeletNode('n-1', 'v1.30.2')], 'v1.30.2');
      const body = review({ operation: 'UPDATE', group: '', version: 'v1', kind: 'Node', resource: 'nodes', subResource: 'status', name: 'n-1', object: kubeletNode('n-1', 'v1.31.0-eks-1a2b3c'), oldObject: kubeletNode('n-1', 'v1.30.2'), username: 'system:node:n-1' });
      refusedFor(await judge(body), /kubelet-newer-than-apiserver/);
    });

    it('allows a kubelet patch release newer than the API server (same minor)', async () => {
      const judge = await levee([kubeletNode('n-1', 'v1.30.2')], 'v1.30.2');
      const body = review({ operation: 'UPDATE', group: '', version: 'v1', kind: 'Node', resource: 'nodes', subResource: 'status', name: 'n-1', object: kubeletNode('n-1', 'v1.30.9'), oldObject: kubeletNode('n-1', 'v1.30.2'), username: 'system:node:n-1' });
      allowed(await judge(body));
    });
  });
});
