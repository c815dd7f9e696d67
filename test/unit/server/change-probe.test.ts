import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../../../src/logger.js';
import { ChangeProbe, probeRunRequester } from '../../../src/server/change-probe.js';
import type { Verdict } from '../../../src/probe-verdict.js';

const logger = createLogger('silent');

/** A probe whose runs the test finishes by hand, counting what it was asked. */
function manualProbe(): { requestRun: (reason: string, signal: AbortSignal) => Promise<Verdict>; asked: string[]; finish(verdict: Verdict): void; fail(message: string): void } {
  const asked: string[] = [];
  const waiting: Array<{ resolve: (verdict: Verdict) => void; reject: (err: Error) => void }> = [];
  return {
    asked,
    requestRun: (reason, signal) =>
      new Promise<Verdict>((resolve, reject) => {
        asked.push(reason);
        waiting.push({ resolve, reject });
        signal.addEventListener('abort', () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted')));
      }),
    finish: (verdict) => waiting.shift()!.resolve(verdict),
    fail: (message) => waiting.shift()!.reject(new Error(message)),
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('server/change-probe: the run after each admitted platform change', () => {
  it('holds from the admitted change until the run has a verdict, then keeps it', async () => {
    const probe = manualProbe();
    let clock = new Date('2026-06-01T12:00:00Z');
    const tracker = new ChangeProbe({ requestRun: probe.requestRun, maxHoldSeconds: 120, logger, now: () => clock });
    assert.equal(tracker.view().state, 'none');
    tracker.admitted('changing the pod template of Deployment kube-system/coredns');
    assert.deepEqual(probe.asked, ['after changing the pod template of Deployment kube-system/coredns']);
    assert.equal(tracker.view().state, 'pending');
    clock = new Date(clock.getTime() + 7000);
    probe.finish('Unhealthy');
    await settle();
    const view = tracker.view();
    assert.equal(view.state, 'done');
    assert.equal(view.verdict, 'Unhealthy');
    assert.equal(view.expectedSeconds, 7, 'the next "retry in" is based on how long this run took');
  });

  it('folds any number of changes admitted during a run into one more run, never two requests at once', async () => {
    const probe = manualProbe();
    const tracker = new ChangeProbe({ requestRun: probe.requestRun, maxHoldSeconds: 120, logger });
    tracker.admitted('a');
    for (const change of ['b', 'c', 'd', 'e']) tracker.admitted(change);
    assert.equal(probe.asked.length, 1);
    probe.finish('Healthy');
    await settle();
    assert.deepEqual(probe.asked, ['after a', 'after e'], 'one more run, for the last change');
    assert.equal(tracker.view().state, 'pending', 'the run after e has no verdict yet');
    assert.equal(tracker.view().change, 'e');
    probe.finish('Healthy');
    await settle();
    assert.equal(tracker.view().state, 'done');
  });

  it("a kubelet's version report starts a run but holds nothing; a held change admitted during that run waits for the run after it", async () => {
    const probe = manualProbe();
    const tracker = new ChangeProbe({ requestRun: probe.requestRun, maxHoldSeconds: 120, logger });
    tracker.admitted('the kubelet of Node worker-1 reporting v1.34.2 (was v1.33.5)', false);
    assert.equal(probe.asked.length, 1);
    assert.equal(tracker.view().state, 'none', 'nothing is held');
    assert.equal(tracker.generation, 0);
    tracker.admitted('creating DaemonSet kube-system/kube-proxy');
    assert.equal(tracker.generation, 1);
    probe.finish('Healthy');
    await settle();
    assert.equal(tracker.view().state, 'pending', 'the kubelet run started before the DaemonSet: it does not answer for it');
    assert.equal(probe.asked.length, 2);
    probe.finish('Healthy');
    await settle();
    assert.equal(tracker.view().state, 'done');
  });

  it('releases the hold when the probe cannot be asked, saying why', async () => {
    const probe = manualProbe();
    const tracker = new ChangeProbe({ requestRun: probe.requestRun, maxHoldSeconds: 120, logger });
    tracker.admitted('a');
    probe.fail('levee probe unreachable at http://127.0.0.1:8081/run: connect ECONNREFUSED');
    await settle();
    assert.equal(tracker.view().state, 'unknown');
    assert.match(tracker.view().reason ?? '', /ECONNREFUSED/);
  });

  it('never holds longer than maxHoldSeconds, even while the request to the probe hangs', () => {
    const probe = manualProbe();
    let clock = new Date('2026-06-01T12:00:00Z');
    const tracker = new ChangeProbe({ requestRun: probe.requestRun, maxHoldSeconds: 30, logger, now: () => clock });
    tracker.admitted('a');
    clock = new Date(clock.getTime() + 31_000);
    assert.equal(tracker.view().state, 'unknown');
    assert.equal(tracker.view().reason, 'no verdict within 30 s');
    tracker.stop();
  });
});

describe('server/change-probe: POST /run on the probe endpoint', () => {
  let server: Server;
  let port: number;
  let answer: { status: number; body: string };
  const seen: string[] = [];

  before(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(answer.status, { 'Content-Type': 'application/json' }).end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('posts the reason and reads the verdict', async () => {
    answer = { status: 200, body: JSON.stringify({ verdict: 'Degraded', probes: [] }) };
    const verdict = await probeRunRequester('0.0.0.0', port, 5000)('after creating DaemonSet kube-system/x', new AbortController().signal);
    assert.equal(verdict, 'Degraded');
    assert.equal(seen.at(-1), 'POST /run?reason=after%20creating%20DaemonSet%20kube-system%2Fx');
  });

  it('refuses an answer without a verdict, or not JSON, or not 200', async () => {
    const ask = probeRunRequester('127.0.0.1', port, 5000);
    answer = { status: 200, body: '{"verdict":"Fine"}' };
    await assert.rejects(ask('r', new AbortController().signal), /has no verdict/);
    answer = { status: 200, body: 'not json' };
    await assert.rejects(ask('r', new AbortController().signal), /not JSON/);
    answer = { status: 500, body: '{}' };
    await assert.rejects(ask('r', new AbortController().signal), /HTTP 500/);
  });

  it('says where the probe was not found', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await assert.rejects(probeRunRequester('127.0.0.1', freePort, 5000)('r', new AbortController().signal), new RegExp(`unreachable at http://127\\.0\\.0\\.1:${freePort}/run`));
  });
});
