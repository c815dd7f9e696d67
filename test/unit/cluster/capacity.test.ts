import assert from 'node:assert/strict';
import { blockingTaints, capacityTypeOf, isSchedulable, podPlacement, poolOf, requirementForcesSpot } from '../../../src/cluster/capacity.js';
import { buildConfig } from '../../../src/config.js';

const { capacityLabels, poolLabels } = buildConfig().policies['spot-capacity'];

describe('cluster/capacity', () => {
  describe('capacityTypeOf', () => {
    const spot: Array<[string, Record<string, string>]> = [
      ['GKE Spot', { 'cloud.google.com/gke-spot': 'true' }],
      ['GKE preemptible', { 'cloud.google.com/gke-preemptible': 'true' }],
      ['EKS managed node group', { 'eks.amazonaws.com/capacityType': 'SPOT' }],
      ['Karpenter', { 'karpenter.sh/capacity-type': 'spot' }],
      ['AKS', { 'kubernetes.azure.com/scalesetpriority': 'spot' }],
      ['ACK', { 'node.alibabacloud.com/spot-strategy': 'SpotAsPriceGo' }],
      ['OKE', { 'oci.oraclecloud.com/oke-is-preemptible': 'true' }],
    ];
    for (const [provider, labels] of spot) {
      it(`reads ${provider}'s spot label`, () => assert.equal(capacityTypeOf(labels, capacityLabels), 'spot'));
    }

    const onDemand: Array<[string, Record<string, string>]> = [
      ['an unlabelled node', {}],
      ['EKS ON_DEMAND', { 'eks.amazonaws.com/capacityType': 'ON_DEMAND' }],
      ['Karpenter on-demand', { 'karpenter.sh/capacity-type': 'on-demand' }],
      ['Karpenter reserved', { 'karpenter.sh/capacity-type': 'reserved' }],
      ['ACK NoSpot', { 'node.alibabacloud.com/spot-strategy': 'NoSpot' }],
      ['GKE with gke-spot=false', { 'cloud.google.com/gke-spot': 'false' }],
    ];
    for (const [what, labels] of onDemand) {
      it(`counts ${what} as on-demand`, () => assert.equal(capacityTypeOf(labels, capacityLabels), 'on-demand'));
    }

    it('follows a configured label list', () => {
      const rules = [{ label: 'example.com/lifecycle', spotValues: ['preemptible'] }];
      assert.equal(capacityTypeOf({ 'example.com/lifecycle': 'preemptible' }, rules), 'spot');
      assert.equal(capacityTypeOf({ 'karpenter.sh/capacity-type': 'spot' }, rules), 'on-demand');
    });
  });

  it('takes the pool from the first pool label a node carries', () => {
    assert.equal(poolOf({ 'karpenter.sh/nodepool': 'general', 'eks.amazonaws.com/nodegroup': 'ng-1' }, poolLabels), 'general');
    assert.equal(poolOf({ 'cloud.google.com/gke-nodepool': 'pool-a' }, poolLabels), 'pool-a');
    assert.equal(poolOf({}, poolLabels), '');
  });

  it('a node is schedulable unless cordoned or tainted NoSchedule/NoExecute', () => {
    assert.equal(isSchedulable(false, []), true);
    assert.equal(isSchedulable(true, []), false);
    assert.equal(isSchedulable(false, [{ key: 'dedicated', effect: 'PreferNoSchedule' }]), true);
    assert.equal(isSchedulable(false, [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }]), false);
    assert.equal(isSchedulable(false, [{ key: 'karpenter.sh/disrupted', effect: 'NoSchedule' }]), false);
    assert.deepEqual(blockingTaints([{ key: 'a', effect: 'PreferNoSchedule' }, { key: 'b', effect: 'NoSchedule' }]).map((taint) => taint.key), ['b']);
  });

  describe('requirementForcesSpot', () => {
    const cases: Array<[string, { key: string; operator: string; values?: string[] }, boolean]> = [
      ['In [spot]', { key: 'karpenter.sh/capacity-type', operator: 'In', values: ['spot'] }, true],
      ['In [spot, on-demand]', { key: 'karpenter.sh/capacity-type', operator: 'In', values: ['spot', 'on-demand'] }, false],
      ['NotIn [on-demand, reserved]', { key: 'karpenter.sh/capacity-type', operator: 'NotIn', values: ['on-demand', 'reserved'] }, true],
      ['NotIn [spot]', { key: 'karpenter.sh/capacity-type', operator: 'NotIn', values: ['spot'] }, false],
      ['EKS In [SPOT]', { key: 'eks.amazonaws.com/capacityType', operator: 'In', values: ['SPOT'] }, true],
      ['GKE gke-spot Exists (only spot nodes carry it)', { key: 'cloud.google.com/gke-spot', operator: 'Exists' }, true],
      ['Karpenter capacity-type Exists (every node carries it)', { key: 'karpenter.sh/capacity-type', operator: 'Exists' }, false],
      ['GKE gke-spot DoesNotExist', { key: 'cloud.google.com/gke-spot', operator: 'DoesNotExist' }, false],
      ['an unrelated label', { key: 'topology.kubernetes.io/zone', operator: 'In', values: ['us-east-1a'] }, false],
      ['In with no values', { key: 'karpenter.sh/capacity-type', operator: 'In', values: [] }, false],
    ];
    for (const [what, requirement, forces] of cases) {
      it(`${what}: ${forces ? 'spot only' : 'not spot only'}`, () => assert.equal(requirementForcesSpot(requirement, capacityLabels), forces));
    }
  });

  describe('podPlacement', () => {
    it('a nodeSelector on a spot label pins to spot', () => {
      assert.deepEqual(podPlacement({ nodeSelector: { 'cloud.google.com/gke-spot': 'true' } }, capacityLabels), {
        canRunOnDemand: false,
        pinnedBy: 'nodeSelector cloud.google.com/gke-spot=true',
      });
    });

    it('required affinity pins only when every term does', () => {
      const spotTerm = { matchExpressions: [{ key: 'karpenter.sh/capacity-type', operator: 'In', values: ['spot'] }] };
      const zoneTerm = { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['us-east-1a'] }] };
      const pinned = podPlacement({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [spotTerm] } } } }, capacityLabels);
      assert.deepEqual(pinned, { canRunOnDemand: false, pinnedBy: 'required node affinity karpenter.sh/capacity-type In [spot]' });
      const either = podPlacement({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [spotTerm, zoneTerm] } } } }, capacityLabels);
      assert.equal(either.canRunOnDemand, true);
    });

    it('preferred affinity and unrelated selectors do not pin', () => {
      const spec = {
        nodeSelector: { 'kubernetes.io/os': 'linux' },
        affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchExpressions: [{ key: 'karpenter.sh/capacity-type', operator: 'In', values: ['spot'] }] } }] } },
      };
      assert.deepEqual(podPlacement(spec, capacityLabels), { canRunOnDemand: true, pinnedBy: '' });
    });
  });
});
