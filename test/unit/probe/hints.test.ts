import assert from 'node:assert/strict';
import { hintFor, hintRuleFor } from '../../../src/probe/hints.js';

describe('probe/hints: root-cause rules', () => {
  it('names kube-controller-manager when a Deployment never gets a ReplicaSet', () => {
    const outcome = { ok: false, stage: 'replicaset', message: 'the Deployment never got a ReplicaSet within 15.0 s' };
    assert.equal(hintFor('workload-lifecycle', outcome), 'Deployment never gets a ReplicaSet: is kube-controller-manager running?');
  });

  it('names kube-scheduler when pods are created but never scheduled', () => {
    assert.match(hintFor('workload-lifecycle', { ok: false, stage: 'scheduled', message: 'the pod was never scheduled' }) ?? '', /pods created but never scheduled: is kube-scheduler running/);
  });

  it('tells each lifecycle stage apart', () => {
    const rules = ['replicaset', 'pods', 'scheduled', 'ready', 'endpoints'].map((stage) => hintRuleFor('workload-lifecycle', { ok: false, stage, message: 'x' }));
    assert.deepEqual(rules, ['no-replicaset', 'no-pods', 'unscheduled', 'never-ready', 'no-endpoints']);
  });

  it('reads "context deadline exceeded" on etcd as an etcd latency problem', () => {
    assert.equal(hintRuleFor('etcd', { ok: false, message: 'GET /readyz/etcd: context deadline exceeded (no answer within 5000 ms)' }), 'etcd-deadline');
  });

  it('reads "connection refused" as a down API server, whichever probe saw it, before probe-specific rules', () => {
    const refused = { ok: false, message: 'GET /readyz/etcd: connection refused (connect ECONNREFUSED 127.0.0.1:16443)' };
    assert.equal(hintRuleFor('etcd', refused), 'connection-refused');
    assert.equal(hintRuleFor('controller-manager', refused), 'connection-refused');
    assert.match(hintFor('api-write-path', refused) ?? '', /is kube-apiserver running\?/);
  });

  it('names the component whose Lease is not renewed', () => {
    assert.match(hintFor('controller-manager', { ok: false, message: 'Lease kube-system/kube-controller-manager last renewed 40 s ago' }) ?? '', /kube-controller-manager running/);
    assert.match(hintFor('scheduler', { ok: false, message: 'Lease kube-system/kube-scheduler last renewed 40 s ago' }) ?? '', /kube-scheduler running/);
  });

  it('blames a slow API server, not the component, when the probe request itself went unanswered', () => {
    const unanswered = { ok: false, message: 'GET /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler: context deadline exceeded (no answer within 5000 ms)' };
    assert.equal(hintRuleFor('scheduler', unanswered), 'api-unanswered');
    assert.equal(hintRuleFor('controller-manager', unanswered), 'api-unanswered');
  });

  it('calls a critical version skew a downgraded API server', () => {
    assert.equal(hintRuleFor('version-skew', { ok: false, severity: 'critical', message: 'API server v1.33.1 is older than ...' }), 'version-skew-critical');
    assert.equal(hintRuleFor('version-skew', { ok: false, message: 'kubelets 4 minors behind' }), 'version-skew');
  });

  it('falls back to generic rules for deadlines and server errors, and gives no hint for passing or skipped probes', () => {
    assert.equal(hintRuleFor('restart-burst', { ok: false, message: 'GET /api/v1/pods: context deadline exceeded' }), 'restart-burst');
    assert.equal(hintRuleFor('api-write-path', { ok: false, message: 'creating ConfigMap: HTTP 500: etcdserver: request timed out' }), 'write-slow');
    assert.equal(hintRuleFor('api-write-path', { ok: false, message: 'creating ConfigMap: HTTP 403: forbidden' }), 'write-forbidden');
    assert.equal(hintFor('etcd', { ok: true, message: 'ok' }), undefined);
    assert.equal(hintFor('dns', { ok: true, skipped: true, message: 'not in a pod' }), undefined);
  });
});
