import assert from 'node:assert/strict';
import { createRestartBurst } from '../../../../src/probe/probes/restart-burst.js';
import { context, now } from '../../../support/probe-context.js';

describe('probe/probes/restart-burst', () => {
  const PODS = '/api/v1/pods?resourceVersion=0';
  const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();

  /** A pod of Deployment `deployment` (through its ReplicaSet) with one container restarted `restarts` times. */
  function pod(deployment: string, index: number, nodeName: string, restarts: number, options: { startedAgoMs?: number; lastEndedAgoMs?: number; namespace?: string } = {}) {
    const hash = '5d8f7c9b6';
    return {
      metadata: {
        namespace: options.namespace ?? 'shop',
        name: `${deployment}-${hash}-${index}`,
        uid: `${deployment}-${index}`,
        labels: { 'pod-template-hash': hash },
        ownerReferences: [{ kind: 'ReplicaSet', name: `${deployment}-${hash}`, controller: true }],
      },
      spec: { nodeName },
      status: {
        startTime: ago(options.startedAgoMs ?? 120_000),
        containerStatuses: [{ name: 'app', restartCount: restarts, lastState: { terminated: { finishedAt: ago(options.lastEndedAgoMs ?? 30_000) } } }],
      },
    };
  }

  const run = (pods: unknown[], probe: Record<string, unknown> = {}, at = now, probeDefinition = createRestartBurst()) =>
    probeDefinition.run(context({ [PODS]: { items: pods } }, probe, { now: () => at }));

  it('counts restarts, not restarting containers: three pods with 4, 6 and 8 restarts are 18', async () => {
    const outcome = await run([pod('api', 1, 'node-1', 4), pod('web', 2, 'node-2', 6), pod('jobs', 3, 'node-3', 8)]);
    assert.match(outcome.message, /^18 restart\(s\) of 3 workload\(s\) on 3 node\(s\) in the last 600 s/);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.stage, 'shared');
    assert.equal(outcome.severity, undefined, 'a shared cause fails at the configured severity');
    assert.match(outcome.message, /Deployment shop\/jobs 8 restart\(s\) in 1 pod\(s\) on 1 node\(s\)/);
  });

  it('calls one bad Deployment on many nodes its own fault: a minor failure naming it, not a shared cause', async () => {
    const pods = [...Array(6).keys()].map((i) => pod('checkout', i, `node-${i}`, 5));
    const outcome = await run(pods);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.severity, 'minor');
    assert.equal(outcome.stage, 'workload');
    assert.match(outcome.message, /^30 restart\(s\) of 1 workload\(s\) on 6 node\(s\).*all from Deployment shop\/checkout 30 restart\(s\) in 6 pod\(s\) on 6 node\(s\): that workload's own fault/);
  });

  it('needs restartBurstWorkloads workloads to call a cause shared', async () => {
    const pods = [pod('a', 1, 'node-1', 5), pod('b', 2, 'node-2', 5), pod('c', 3, 'node-3', 5)];
    assert.equal((await run(pods, { thresholds: { restartBurstWorkloads: 3 } })).stage, 'shared');
    assert.equal((await run(pods, { thresholds: { restartBurstWorkloads: 4 } })).stage, 'workload');
  });

  it('calls several workloads restarting on one node that node\'s problem, minor', async () => {
    const pods = [pod('a', 1, 'node-7', 5), pod('b', 2, 'node-7', 5), pod('c', 3, 'node-7', 5)];
    const outcome = await run(pods);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.severity, 'minor');
    assert.equal(outcome.stage, 'node');
    assert.match(outcome.message, /only on node-7/);
  });

  it('passes below the restart threshold, and reports the count', async () => {
    const outcome = await run([pod('a', 1, 'node-1', 3), pod('b', 2, 'node-2', 3), pod('c', 3, 'node-3', 3)]);
    assert.equal(outcome.ok, true);
    assert.match(outcome.message, /^9 restart\(s\) of 3 workload\(s\) on 3 node\(s\)/);
  });

  it('counts a pod started before the window once when its last run ended within it (what its status proves), and not at all when it ended before', async () => {
    const long = 3_600_000;
    const recent = [...Array(12).keys()].map((i) => pod(`w${i}`, i, `node-${i % 4}`, 40, { startedAgoMs: long, lastEndedAgoMs: 60_000 }));
    const outcome = await run(recent);
    assert.match(outcome.message, /^12 restart\(s\) of 12 workload\(s\) on 4 node\(s\)/);
    const old = [...Array(12).keys()].map((i) => pod(`w${i}`, i, `node-${i % 4}`, 40, { startedAgoMs: long, lastEndedAgoMs: long }));
    assert.match((await run(old)).message, /^0 restart\(s\)/);
  });

  it('counts the rise of restart counts between two looks, and forgets restarts once they leave the window', async () => {
    const probe = createRestartBurst();
    const long = 3_600_000;
    const first = [pod('a', 1, 'node-1', 10, { startedAgoMs: long, lastEndedAgoMs: long }), pod('b', 2, 'node-2', 2, { startedAgoMs: long, lastEndedAgoMs: long })];
    assert.match((await run(first, {}, now, probe)).message, /^0 restart/);
    const later = new Date(now.getTime() + 30_000);
    const second = [pod('a', 1, 'node-1', 16, { startedAgoMs: long, lastEndedAgoMs: 0 }), pod('b', 2, 'node-2', 3, { startedAgoMs: long, lastEndedAgoMs: 0 })];
    const outcome = await run(second, {}, later, probe);
    assert.match(outcome.message, /^7 restart\(s\) of 2 workload\(s\) on 2 node\(s\)/);
    const muchLater = new Date(later.getTime() + 601_000);
    assert.match((await run(second, {}, muchLater, probe)).message, /^0 restart/);
  });

  it('tells workloads apart by owner: StatefulSets, Jobs, bare pods, and ReplicaSets without a Deployment', async () => {
    const owned = (name: string, kind: string, owner: string) => ({
      metadata: { namespace: 'ops', name, uid: name, ownerReferences: [{ kind, name: owner, controller: true }] },
      spec: { nodeName: `n-${name}` },
      status: { startTime: ago(60_000), containerStatuses: [{ name: 'c', restartCount: 4 }] },
    });
    const bare = { metadata: { namespace: 'ops', name: 'debug', uid: 'debug' }, spec: { nodeName: 'n-debug' }, status: { startTime: ago(60_000), containerStatuses: [{ name: 'c', restartCount: 4 }] } };
    const outcome = await run([owned('db-0', 'StatefulSet', 'db'), owned('db-1', 'StatefulSet', 'db'), owned('backup-x', 'Job', 'backup'), owned('rs-1', 'ReplicaSet', 'legacy'), bare]);
    const workloads = (outcome.details?.workloads as Array<{ workload: string; restarts: number }>).map((entry) => `${entry.workload}=${entry.restarts}`).sort();
    assert.deepEqual(workloads, ['Job ops/backup=4', 'Pod ops/debug=4', 'ReplicaSet ops/legacy=4', 'StatefulSet ops/db=8']);
  });
});
