import assert from 'node:assert/strict';
import { restartBurst } from '../../../../src/probe/probes/restart-burst.js';
import { context, now } from '../../../support/probe-context.js';

describe('probe/probes/restart-burst', () => {
  const pod = (name: string, nodeName: string, finishedAt: string) => ({
    metadata: { namespace: 'shop', name },
    spec: { nodeName },
    status: { containerStatuses: [{ name: 'app', lastState: { terminated: { finishedAt } } }] },
  });
  const recent = new Date(now.getTime() - 60_000).toISOString();
  const old = new Date(now.getTime() - 3_600_000).toISOString();
  const PODS = '/api/v1/pods?resourceVersion=0';

  it('fails on many recent restarts spread over several nodes', async () => {
    const pods = [...Array(12).keys()].map((i) => pod(`p${i}`, `node-${i % 4}`, recent));
    const outcome = await restartBurst.run(context({ [PODS]: { items: pods } }));
    assert.equal(outcome.ok, false);
    assert.match(outcome.message, /^12 container restart\(s\) on 4 node\(s\) in the last 600 s/);
  });

  it('passes restarts on one node, and restarts outside the window', async () => {
    const oneNode = [...Array(12).keys()].map((i) => pod(`p${i}`, 'node-1', recent));
    assert.equal((await restartBurst.run(context({ [PODS]: { items: oneNode } }))).ok, true);
    const longAgo = [...Array(12).keys()].map((i) => pod(`p${i}`, `node-${i % 4}`, old));
    const outcome = await restartBurst.run(context({ [PODS]: { items: longAgo } }));
    assert.equal(outcome.ok, true);
    assert.match(outcome.message, /^0 container restart/);
  });
});
