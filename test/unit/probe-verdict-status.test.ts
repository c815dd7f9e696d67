import assert from 'node:assert/strict';
import { documentOfStatus, statusOf } from '../../src/probe-verdict-status.js';
import type { VerdictDocument } from '../../src/probe-verdict.js';

describe('probe-verdict-status: the ProbeVerdict status and the verdict document', () => {
  const document: VerdictDocument = {
    verdict: 'Unhealthy', since: '2026-01-01T00:00:00.000Z', generatedAt: '2026-01-01T00:01:00.000Z', reporter: 'r', leader: true, run: 3,
    failing: ['workload-lifecycle', 'restart-burst'],
    cause: { rule: 'no-ready-nodes', message: 'no node is Ready (2 NotReady: a, b)', explains: ['workload-lifecycle'] },
    probes: [
      { probe: 'workload-lifecycle', status: 'Failing', critical: true, severity: 'critical', lastOk: false, latencyMs: 5, message: 'never scheduled', hint: 'no node is Ready (2 NotReady: a, b)', consecutiveFailures: 2, consecutiveSuccesses: 0, lastTransitionTime: '2026-01-01T00:00:00.000Z', checkedAt: '2026-01-01T00:01:00.000Z' },
      { probe: 'restart-burst', status: 'Failing', critical: false, severity: 'minor', lastOk: false, latencyMs: 1, message: 'one workload', consecutiveFailures: 2, consecutiveSuccesses: 0, lastTransitionTime: '2026-01-01T00:00:00.000Z', checkedAt: '2026-01-01T00:01:00.000Z' },
    ],
  };

  it('carries each probe\'s severity and the cause there and back, and the message leads with the cause', () => {
    const status = statusOf(document);
    assert.deepEqual(status.cause, document.cause);
    assert.deepEqual(status.probes?.map((probe) => probe.severity), ['critical', 'minor']);
    assert.match(status.message!, /^cause: no node is Ready \(2 NotReady: a, b\); workload-lifecycle: never scheduled; restart-burst: one workload$/);
    const back = documentOfStatus({ metadata: { name: 'cluster' }, status });
    assert.deepEqual(back.cause, document.cause);
    assert.deepEqual(back.probes.map((probe) => [probe.probe, probe.severity, probe.critical]), [['workload-lifecycle', 'critical', true], ['restart-burst', 'minor', false]]);
  });

  it('reads a status an older levee wrote (no severity, no cause) as before', () => {
    const status = statusOf({ ...document, cause: undefined, probes: document.probes.map(({ severity: _severity, ...rest }) => rest) });
    const back = documentOfStatus({ metadata: { name: 'cluster' }, status: { ...status, probes: status.probes?.map((probe) => ({ ...probe, severity: 'severe' as never })) } });
    assert.equal(back.cause, undefined);
    assert.deepEqual(back.probes.map((probe) => probe.severity), [undefined, undefined], 'an unknown severity is dropped, not trusted');
    assert.deepEqual(back.probes.map((probe) => probe.critical), [true, false]);
  });
});
