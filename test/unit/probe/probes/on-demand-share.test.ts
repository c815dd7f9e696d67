import assert from 'node:assert/strict';
import { onDemandShare } from '../../../../src/probe/probes/on-demand-share.js';
import { context, node, NODES } from '../../../support/probe-context.js';

describe('probe/probes/on-demand-share', () => {
  it('is below the minimum when most labelled nodes are spot, whatever the provider label', async () => {
    const nodes = [
      node('od', 'v1.34.4', { 'karpenter.sh/capacity-type': 'on-demand' }),
      node('s1', 'v1.34.4', { 'karpenter.sh/capacity-type': 'spot' }),
      node('s2', 'v1.34.4', { 'eks.amazonaws.com/capacityType': 'SPOT' }),
      node('s3', 'v1.34.4', { 'cloud.google.com/gke-spot': 'true' }),
      node('s4', 'v1.34.4', { 'kubernetes.azure.com/scalesetpriority': 'spot' }),
      node('s5', 'v1.34.4', { 'node.alibabacloud.com/spot-strategy': 'SpotAsPriceGo' }),
      node('unlabelled', 'v1.34.4'),
    ];
    const outcome = await onDemandShare.run(context({ [NODES]: { items: nodes } }));
    assert.equal(outcome.ok, false);
    assert.match(outcome.message, /^1 of 6 labelled nodes are on-demand \(17%\), below the 20% minimum$/);
  });

  it("passes the local cluster's five on-demand and four spot nodes, and says so when no node is labelled", async () => {
    const nodes = [...Array(5).keys()].map((i) => node(`od${i}`, 'v1', { 'karpenter.sh/capacity-type': 'on-demand' }))
      .concat([...Array(4).keys()].map((i) => node(`s${i}`, 'v1', { 'karpenter.sh/capacity-type': 'spot' })));
    assert.equal((await onDemandShare.run(context({ [NODES]: { items: nodes } }))).ok, true);
    const bare = await onDemandShare.run(context({ [NODES]: { items: [node('a', 'v1')] } }));
    assert.equal(bare.ok, true);
    assert.match(bare.message, /not judged/);
  });
});
