import assert from 'node:assert/strict';
import { diagnose, withDiagnosis, type DiagnosisInput, type FailingProbe } from '../../../src/probe/diagnosis.js';
import type { NodeHealthDetails } from '../../../src/probe/probes/node-health.js';
import type { VerdictDocument } from '../../../src/probe-verdict.js';
import { summarize } from '../../../src/probe-verdict-status.js';

const now = Date.parse('2026-06-01T12:00:00Z');
const NINE = ['ondemand-1', 'ondemand-2', 'ondemand-3', 'ondemand-4', 'ondemand-5', 'spot-1', 'spot-2', 'spot-3', 'spot-4'];

function nodes(ready: number, notReady: readonly string[] = [], reason = 'NodeStatusUnknown'): NodeHealthDetails {
  return { total: ready + notReady.length, ready, notReady: notReady.map((name) => ({ name, reason })), joining: [] };
}

const lifecycleAt = (stage: string): FailingProbe => ({ probe: 'workload-lifecycle', stage, message: `Deployment levee-system/levee-probe-x: stopped at ${stage} within 60.0 s` });
const lease = (probe: 'scheduler' | 'controller-manager'): FailingProbe => ({ probe, message: `Lease kube-system/kube-${probe} last renewed 40 s ago` });

function run(input: Partial<DiagnosisInput> & { failing: FailingProbe[] }) {
  return diagnose({ now, nodes: nodes(9), ...input });
}

describe('probe/diagnosis: the hint tree over all failing probes', () => {
  it('all nine nodes NotReady: names no Ready node and the nodes, and does not blame kube-scheduler for the unscheduled probe pod', () => {
    const diagnosis = run({
      nodes: nodes(0, NINE),
      failing: [lifecycleAt('scheduled'), { probe: 'node-health', stage: 'none-ready', message: 'no node is Ready: ...' }, { probe: 'service-endpoints', message: '2 Services have no ready endpoint' }],
    });
    assert.equal(diagnosis.cause?.rule, 'no-ready-nodes');
    assert.match(diagnosis.cause!.message, /^no node is Ready \(9 NotReady: ondemand-1, ondemand-2, ondemand-3, ondemand-4, ondemand-5 and 4 more; NodeStatusUnknown\)/);
    assert.deepEqual(diagnosis.cause!.explains.sort(), ['node-health', 'service-endpoints', 'workload-lifecycle']);
    assert.equal(diagnosis.hints['workload-lifecycle'], diagnosis.cause!.message);
    assert.doesNotMatch(diagnosis.hints['workload-lifecycle']!, /scheduler/);
  });

  it('no Ready node and a dead scheduler at once: the nodes are the cause, the scheduler probe keeps its own hint', () => {
    const diagnosis = run({ nodes: nodes(0, NINE), failing: [lifecycleAt('scheduled'), lease('scheduler')] });
    assert.equal(diagnosis.cause?.rule, 'no-ready-nodes');
    assert.match(diagnosis.hints.scheduler!, /kube-scheduler is not renewing its leader Lease/);
    assert.match(diagnosis.hints['workload-lifecycle']!, /^no node is Ready/);
  });

  it('a dead scheduler while the nodes are fine: the scheduler, for its own probe and for the unscheduled pod', () => {
    const diagnosis = run({ failing: [lifecycleAt('scheduled'), lease('scheduler')] });
    assert.equal(diagnosis.cause?.rule, 'scheduler-down');
    assert.deepEqual(diagnosis.cause!.explains.sort(), ['scheduler', 'workload-lifecycle']);
    assert.match(diagnosis.hints['workload-lifecycle']!, /^kube-scheduler is not renewing its leader Lease: new pods stay Pending; is kube-scheduler running\?$/);
  });

  it('a dead controller-manager: explains the missing ReplicaSet and the Services without endpoints', () => {
    const diagnosis = run({ failing: [lifecycleAt('replicaset'), lease('controller-manager'), { probe: 'service-endpoints', message: 'x' }] });
    assert.equal(diagnosis.cause?.rule, 'controller-manager-down');
    assert.match(diagnosis.cause!.message, /is kube-controller-manager running\?$/, 'probe-gate\'s refusal quotes the hint: it ends with the question');
    assert.deepEqual(diagnosis.cause!.explains.sort(), ['controller-manager', 'service-endpoints', 'workload-lifecycle']);
  });

  it('a down API server comes before everything it makes fail, whichever probe saw it first', () => {
    const refused = 'GET /readyz/etcd: connection refused (connect ECONNREFUSED 127.0.0.1:16443)';
    const diagnosis = run({ nodes: nodes(0, NINE), failing: [{ probe: 'etcd', message: refused }, { probe: 'scheduler', message: 'GET lease: context deadline exceeded (no answer within 5000 ms)' }] });
    assert.equal(diagnosis.cause?.rule, 'api-server-unreachable');
    assert.deepEqual(diagnosis.cause!.explains.sort(), ['etcd', 'scheduler']);
    assert.match(diagnosis.cause!.message, /is kube-apiserver running\?$/);
  });

  it('etcd unhealthy explains a failing write path', () => {
    const diagnosis = run({ failing: [{ probe: 'etcd', message: '/readyz/etcd: HTTP 500' }, { probe: 'api-write-path', message: 'creating ConfigMap: HTTP 500' }] });
    assert.equal(diagnosis.cause?.rule, 'etcd-unhealthy');
    assert.deepEqual(diagnosis.cause!.explains.sort(), ['api-write-path', 'etcd']);
  });

  it('some nodes NotReady: names them with their reasons when node-health or a canary on them fails', () => {
    const diagnosis = run({ nodes: nodes(6, ['spot-1', 'spot-2', 'spot-3'], 'KubeletNotReady'), failing: [{ probe: 'node-health', stage: 'some-not-ready', message: '6 of 9 nodes Ready' }, { probe: 'node-canary', stage: 'running', message: 'pool spot-a: ...' }] });
    assert.equal(diagnosis.cause?.rule, 'nodes-not-ready');
    assert.match(diagnosis.cause!.message, /^3 of 9 nodes are NotReady \(spot-1: KubeletNotReady, spot-2: KubeletNotReady, spot-3: KubeletNotReady\)/);
    assert.deepEqual(diagnosis.cause!.explains.sort(), ['node-canary', 'node-health']);
  });

  it('a pool whose nodes are all NotReady: its unscheduled canary is put on those nodes, not on the scheduler or a lack of room', () => {
    const diagnosis = run({ nodes: nodes(5, ['spot-1', 'spot-2', 'spot-3', 'spot-4']), failing: [{ probe: 'node-health', stage: 'some-not-ready', message: '5 of 9 nodes Ready' }, { probe: 'node-canary', stage: 'scheduled', message: 'karpenter.sh/nodepool=spot-a (0 of 4 nodes Ready): never scheduled' }] });
    assert.equal(diagnosis.cause?.rule, 'nodes-not-ready');
    assert.deepEqual(diagnosis.cause!.explains.sort(), ['node-canary', 'node-health']);
  });

  it('unscheduled pods while the scheduler renews its Lease and nodes are Ready: no room, not a dead scheduler', () => {
    const diagnosis = run({ failing: [lifecycleAt('scheduled')] });
    assert.equal(diagnosis.cause?.rule, 'no-room');
    assert.match(diagnosis.hints['workload-lifecycle']!, /although kube-scheduler renews its Lease and 9 node\(s\) are Ready: is there no room for them\?/);
  });

  it('a failure no cause explains gets no hint from the tree (it keeps its own), and there is no cause', () => {
    const diagnosis = run({ failing: [{ probe: 'certificate-expiry', message: 'expires in 3 days' }] });
    assert.equal(diagnosis.cause, undefined);
    assert.deepEqual(diagnosis.hints, {});
  });

  it('a user\'s HTTP check refused is about its own target, not the API server', () => {
    const diagnosis = run({ failing: [{ probe: 'custom:ingress', message: 'GET https://shop.example/healthz: connection refused (connect ECONNREFUSED 10.0.0.7:443)' }] });
    assert.equal(diagnosis.cause, undefined);
    assert.deepEqual(diagnosis.hints, {});
  });

  it('a fact that explains none of the failures is not their cause (NotReady nodes beside an expiring certificate)', () => {
    const diagnosis = run({ nodes: nodes(0, NINE), failing: [{ probe: 'certificate-expiry', message: 'expires in 3 days' }] });
    assert.equal(diagnosis.cause, undefined);
  });

  it('names the earliest recent trigger the cause cares about, and forgets old ones', () => {
    const triggers = [
      { reason: 'node spot-1 NotReady', at: now - 40_000 },
      { reason: 'node spot-2 NotReady', at: now - 39_000 },
      { reason: 'configuration file changed', at: now - 20_000 },
      { reason: 'node ondemand-1 NotReady', at: now - 3_600_000 },
    ];
    const diagnosis = run({ nodes: nodes(0, NINE), triggers, failing: [lifecycleAt('scheduled')] });
    assert.match(diagnosis.cause!.message, /^no node is Ready \(.*\); first seen 40 s ago: node spot-1 NotReady and 1 more; no new pod can start; are the kubelets running and reaching the API server\?$/);
    const scheduler = run({ triggers: [{ reason: 'Lease kube-system/kube-scheduler not renewed', at: now - 25_000 }], failing: [lease('scheduler')] });
    assert.equal(scheduler.cause!.message, 'kube-scheduler is not renewing its leader Lease; first seen 25 s ago: Lease kube-system/kube-scheduler not renewed; new pods stay Pending; is kube-scheduler running?');
  });

  it('withDiagnosis: puts the cause in the document, replaces failing probes\' hints, keeps a hint the tree has none for, and summarize leads with the cause', () => {
    const result = (probe: string, status: 'Passing' | 'Failing', hint?: string) => ({
      probe, status, critical: true, lastOk: status === 'Passing', latencyMs: 1, message: `${probe} ${status}`, ...(hint ? { hint } : {}),
      consecutiveFailures: 0, consecutiveSuccesses: 0, lastTransitionTime: '', checkedAt: '',
    });
    const document: VerdictDocument = {
      verdict: 'Unhealthy', since: '', generatedAt: '', reporter: 'r', leader: true, run: 1,
      failing: ['workload-lifecycle', 'dns'],
      probes: [result('workload-lifecycle', 'Failing', 'is kube-scheduler running?'), result('dns', 'Failing', 'leader said so'), result('etcd', 'Passing')],
    };
    const cause = { rule: 'no-ready-nodes', message: 'no node is Ready', explains: ['workload-lifecycle'] };
    const diagnosed = withDiagnosis(document, { cause, hints: { 'workload-lifecycle': 'no node is Ready' } });
    assert.deepEqual(diagnosed.cause, cause);
    assert.equal(diagnosed.probes[0]!.hint, 'no node is Ready');
    assert.equal(diagnosed.probes[1]!.hint, 'leader said so');
    assert.equal(diagnosed.probes[2]!.hint, undefined);
    assert.equal(summarize(diagnosed), 'cause: no node is Ready; workload-lifecycle: workload-lifecycle Failing; dns: dns Failing (hint: leader said so)');
    assert.equal(withDiagnosis(diagnosed, { hints: {} }).cause, undefined, 'a cause that no longer holds leaves the document');
  });
});
