import assert from 'node:assert/strict';
import { memberStatus } from '../../../../src/probe/fleet/hub-status.js';
import type { VerdictDocument } from '../../../../src/probe-verdict.js';

const member = { context: 'admin@edge', name: 'edge' };
const at = '2026-11-30T06:00:00.000Z';
const document: VerdictDocument = {
  verdict: 'Unhealthy',
  since: at,
  generatedAt: at,
  reporter: 'fleet-1',
  leader: true,
  run: 4,
  failing: ['scheduler'],
  probes: [
    { probe: 'scheduler', status: 'Failing', critical: true, lastOk: false, latencyMs: 3, message: 'Lease kube-system/kube-scheduler not renewed for 40 s', consecutiveFailures: 2, consecutiveSuccesses: 0, lastTransitionTime: at, checkedAt: at },
    { probe: 'etcd', status: 'Passing', critical: true, lastOk: true, latencyMs: 2, message: 'ok', consecutiveFailures: 0, consecutiveSuccesses: 3, lastTransitionTime: at, checkedAt: at },
  ],
};

describe('probe/fleet/hub-status: a member\'s ProbeVerdict in the hub', () => {
  it('is the member\'s own verdict, with its context, while its API server answers', () => {
    const written = memberStatus(member, document, { reachable: true }, 'fleet-1', new Date(at));
    assert.ok(written);
    assert.equal(written.status.verdict, 'Unhealthy');
    assert.equal(written.status.cluster, 'admin@edge');
    assert.equal(written.status.reachable, true);
    assert.equal(written.status.failing, 'scheduler');
    assert.deepEqual(written.status.probes?.map((probe) => `${probe.name}=${probe.status}`), ['scheduler=Failing', 'etcd=Passing']);
  });

  it('is Unknown with the error, since when, and no probe results, while its API server does not answer', () => {
    const since = new Date('2026-11-30T05:59:00.000Z');
    const written = memberStatus(member, document, { reachable: false, error: 'GET /api/v1/nodes: connect ECONNREFUSED 127.0.0.1:16846', since }, 'fleet-1', new Date(at));
    assert.ok(written);
    assert.deepEqual(written.status, {
      verdict: 'Unknown',
      cluster: 'admin@edge',
      reachable: false,
      since: since.toISOString(),
      lastProbeTime: at,
      reporter: 'fleet-1',
      failing: '-',
      message: 'unreachable: GET /api/v1/nodes: connect ECONNREFUSED 127.0.0.1:16846',
      probes: [],
    });
  });

  it('has nothing to say for a reachable member before its first verdict', () => {
    assert.equal(memberStatus(member, undefined, { reachable: true }, 'fleet-1', new Date(at)), undefined);
  });

  it('carries the member\'s own cause, found by its own loop, and leads its message with it', () => {
    const cause = { rule: 'scheduler-down', message: 'kube-scheduler is not renewing its leader Lease: new pods stay Pending; is kube-scheduler running?', explains: ['scheduler'] };
    const written = memberStatus(member, { ...document, cause }, { reachable: true }, 'fleet-1', new Date(at));
    assert.ok(written);
    assert.deepEqual(written.status.cause, cause);
    assert.match(written.status.message ?? '', /^cause: kube-scheduler is not renewing its leader Lease: .*; scheduler: Lease kube-system\/kube-scheduler not renewed for 40 s$/);
    assert.equal(written.summary, written.status.message);
  });
});
