import assert from 'node:assert/strict';
import { nodeHealth } from '../../../../src/probe/probes/node-health.js';
import { context, NODES, now } from '../../../support/probe-context.js';

describe('probe/probes/node-health', () => {
  const hourAgo = new Date(now.getTime() - 3_600_000).toISOString();
  const node = (name: string, ready: 'True' | 'False' | 'Unknown' | undefined, options: { created?: string; reason?: string } = {}) => ({
    metadata: { name, creationTimestamp: options.created ?? hourAgo },
    status: { conditions: ready ? [{ type: 'Ready', status: ready, ...(options.reason ? { reason: options.reason } : {}) }] : [] },
  });
  const run = (nodes: unknown[], probe: Record<string, unknown> = {}) => nodeHealth.run(context({ [NODES]: { items: nodes } }, probe));

  it('passes with every node Ready, and names NotReady ones while enough are Ready', async () => {
    assert.deepEqual(await run([node('a', 'True'), node('b', 'True')]).then((o) => [o.ok, o.message]), [true, '2 of 2 nodes Ready']);
    const outcome = await run([...Array(9).keys()].map((i) => node(`n${i}`, 'True')).concat([node('bad', 'Unknown', { reason: 'NodeStatusUnknown' })]));
    assert.equal(outcome.ok, true);
    assert.equal(outcome.message, '9 of 10 nodes Ready; NotReady: bad (NodeStatusUnknown)');
  });

  it('fails, at its configured severity, below the Ready share', async () => {
    const outcome = await run([node('a', 'True'), node('b', 'False', { reason: 'KubeletNotReady' }), node('c', 'Unknown', { reason: 'NodeStatusUnknown' })]);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.severity, undefined);
    assert.equal(outcome.stage, 'some-not-ready');
    assert.equal(outcome.message, '1 of 3 nodes Ready, below the 80% minimum; NotReady: b (KubeletNotReady), c (NodeStatusUnknown)');
    assert.equal((await run([node('a', 'True'), node('b', 'False')], { thresholds: { nodeReadyMinShare: 0.5 } })).ok, true);
  });

  it('is critical with no node Ready, naming them (a node without a Ready condition counts as NotReady)', async () => {
    const outcome = await run([node('ondemand-1', 'Unknown', { reason: 'NodeStatusUnknown' }), node('spot-1', undefined)]);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.severity, 'critical');
    assert.equal(outcome.stage, 'none-ready');
    assert.equal(outcome.message, 'no node is Ready: ondemand-1 (NodeStatusUnknown), spot-1 (no Ready condition)');
    assert.deepEqual(outcome.details?.notReady, [{ name: 'ondemand-1', reason: 'NodeStatusUnknown' }, { name: 'spot-1', reason: 'no Ready condition' }]);
  });

  it('leaves nodes still joining out of the count, and passes a cluster without nodes', async () => {
    const joining = node('new', 'False', { created: new Date(now.getTime() - 10_000).toISOString() });
    const outcome = await run([node('a', 'True'), joining]);
    assert.deepEqual([outcome.ok, outcome.message], [true, '1 of 1 nodes Ready']);
    assert.deepEqual(outcome.details?.joining, ['new']);
    assert.deepEqual(await run([]).then((o) => [o.ok, o.message]), [true, 'no nodes']);
    assert.equal((await run([joining])).ok, true);
  });

  it('counts a young node whose kubelet reported and then went silent (NodeStatusUnknown) as NotReady, not joining: a fresh cluster whose nodes all died is not "no nodes"', async () => {
    const young = new Date(now.getTime() - 30_000).toISOString();
    const died = ['ondemand-1', 'ondemand-2', 'spot-1'].map((name) => node(name, 'Unknown', { created: young, reason: 'NodeStatusUnknown' }));
    const outcome = await run([...died, node('never-posted', 'Unknown', { created: young, reason: 'NodeStatusNeverUpdated' })]);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.stage, 'none-ready');
    assert.equal(outcome.message, 'no node is Ready: ondemand-1 (NodeStatusUnknown), ondemand-2 (NodeStatusUnknown), spot-1 (NodeStatusUnknown)');
    assert.deepEqual(outcome.details?.joining, ['never-posted']);
  });
});
