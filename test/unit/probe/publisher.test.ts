import assert from 'node:assert/strict';
import { createLogger } from '../../../src/logger.js';
import type { KubeApi } from '../../../src/probe/kube-api.js';
import { failingChange, VerdictPublisher } from '../../../src/probe/publisher.js';
import type { ProbeResult, VerdictDocument } from '../../../src/probe-verdict.js';
import type { ProbeVerdictObject } from '../../../src/probe-verdict-status.js';

/** An API server holding one ProbeVerdict; records the Events posted. */
function fakeApi() {
  let object: ProbeVerdictObject | undefined;
  const events: Array<{ reason: string; type: string; message: string }> = [];
  const api = {
    get: async () => (object ? { status: 200, body: object } : { status: 404, body: {} }),
    post: async (path: string, body: unknown) => {
      if (path.endsWith('/events')) {
        events.push(body as { reason: string; type: string; message: string });
        return { status: 201, body };
      }
      object = { ...(body as ProbeVerdictObject), metadata: { name: 'cluster', uid: 'u1' } };
      return { status: 201, body: object };
    },
    mergePatch: async (_path: string, patch: { status: ProbeVerdictObject['status'] }) => {
      object = { ...object, status: patch.status };
      return { status: 200, body: object };
    },
  } as unknown as KubeApi;
  return { api, events };
}

function document(verdict: VerdictDocument['verdict'], failing: string[]): VerdictDocument {
  const probes: ProbeResult[] = failing.map((probe) => ({
    probe, status: 'Failing', critical: false, severity: 'major', lastOk: false, latencyMs: 1, message: `${probe} fails`,
    consecutiveFailures: 2, consecutiveSuccesses: 0, lastTransitionTime: '2026-01-01T00:00:00Z', checkedAt: '2026-01-01T00:00:00Z',
  }));
  return { verdict, since: '2026-01-01T00:00:00Z', generatedAt: new Date().toISOString(), reporter: 'r', leader: true, run: 1, failing, probes };
}

describe('probe/publisher', () => {
  it('records VerdictChanged when the verdict changes, and FailingProbesChanged when only the failing set does', async () => {
    const { api, events } = fakeApi();
    const publisher = new VerdictPublisher(api, createLogger('silent'));
    await publisher.publish(document('Healthy', []));
    await publisher.publish(document('Degraded', ['node-health']));
    await publisher.publish(document('Degraded', ['node-health']));
    await publisher.publish(document('Degraded', ['node-health', 'restart-burst']));
    await publisher.publish(document('Degraded', ['restart-burst', 'node-health']));
    await publisher.publish(document('Degraded', ['restart-burst']));
    assert.deepEqual(events.map((event) => [event.reason, event.type]), [
      ['VerdictChanged', 'Normal'],
      ['VerdictChanged', 'Warning'],
      ['FailingProbesChanged', 'Warning'],
      ['FailingProbesChanged', 'Normal'],
    ]);
    assert.match(events[2]!.message, /^failing probes changed, cluster verdict still Degraded: now failing restart-burst; node-health: node-health fails/);
    assert.match(events[3]!.message, /^failing probes changed, cluster verdict still Degraded: no longer failing node-health;/);
  });

  it('failingChange: compares sets, not order', () => {
    assert.equal(failingChange(['a', 'b'], ['b', 'a']), undefined);
    assert.deepEqual(failingChange(['a'], ['b']), { added: ['b'], removed: ['a'], text: 'now failing b; no longer failing a' });
  });

  it('a minor failure under a Healthy verdict: the ProbeVerdict stays Healthy, names it, and a FailingProbesChanged Event says so (and when it clears)', async () => {
    const { api, events } = fakeApi();
    const publisher = new VerdictPublisher(api, createLogger('silent'));
    await publisher.publish(document('Healthy', []));
    const minor = document('Healthy', ['on-demand-share']);
    minor.probes[0]!.severity = 'minor';
    await publisher.publish(minor);
    await publisher.publish(document('Healthy', []));
    assert.deepEqual(events.map((event) => [event.reason, event.type]), [
      ['VerdictChanged', 'Normal'],
      ['FailingProbesChanged', 'Warning'],
      ['FailingProbesChanged', 'Normal'],
    ]);
    assert.match(events[1]!.message, /^failing probes changed, cluster verdict still Healthy: now failing on-demand-share; on-demand-share: on-demand-share fails/);
  });
});
