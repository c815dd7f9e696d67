import assert from 'node:assert/strict';
import { buildConfig } from '../../../src/config.js';
import { PROBES, probesFor } from '../../../src/probe/registry.js';
import { context, now } from '../../support/probe-context.js';

describe('probe/registry', () => {
  it('gives every probe loop (each cluster of a fleet) its own restart-burst: one cluster\'s restarts are never counted in another\'s', async () => {
    const config = buildConfig({});
    const [edge, core] = [probesFor(config), probesFor(config)];
    const burstOf = (probes: typeof edge) => probes.find((probe) => probe.id === 'restart-burst')!;
    assert.deepEqual(edge.map((probe) => probe.id), PROBES.map((probe) => probe.id));

    const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
    const crashing = [...Array(6).keys()].map((index) => ({
      metadata: { namespace: `team-${index}`, name: `api-${index}`, uid: `edge-${index}`, ownerReferences: [{ kind: 'StatefulSet', name: `api-${index}`, controller: true }] },
      spec: { nodeName: `edge-node-${index}` },
      status: { startTime: ago(120_000), containerStatuses: [{ name: 'app', restartCount: 4, lastState: { terminated: { finishedAt: ago(10_000) } } }] },
    }));
    const edgeOutcome = await burstOf(edge).run(context({ '/api/v1/pods': { items: crashing } }));
    assert.equal(edgeOutcome.ok, false, edgeOutcome.message);
    assert.match(edgeOutcome.message, /^24 restart\(s\) of 6 workload\(s\) on 6 node\(s\)/);

    const coreOutcome = await burstOf(core).run(context({ '/api/v1/pods': { items: [] } }));
    assert.equal(coreOutcome.ok, true, coreOutcome.message);
    assert.match(coreOutcome.message, /^0 restart\(s\) of 0 workload\(s\)/);
  });
});
