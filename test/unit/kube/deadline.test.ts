import assert from 'node:assert/strict';
import { VersionApi } from '@kubernetes/client-node';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { subjectAccessReviewAuthorizer } from '../../../src/cluster/authorizer.js';
import { kubeEventRecorder } from '../../../src/cluster/events.js';
import { apiClientWithDeadline } from '../../../src/kube/deadline.js';
import { createLogger } from '../../../src/logger.js';
import { Writable } from 'node:stream';
import { kubeconfigFor } from '../../support/kubeconfig.js';

/** An API server that takes every request and never answers: a black-holed path, as the client sees it. */
async function silentServer(): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  const held: ServerResponse[] = [];
  let count = 0;
  const server: Server = createServer((_req, res) => {
    count++;
    held.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => count,
    close: async () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Waits until `check` holds, or fails after `ms` (the machine running the tests may be busy). */
async function until(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('kube/deadline: API calls that end when the API server stops answering', function () {
  this.timeout(20_000);
  it('gives a generated client\'s call a deadline', async () => {
    const silent = await silentServer();
    try {
      const started = Date.now();
      await assert.rejects(apiClientWithDeadline(kubeconfigFor(silent.url), VersionApi, 300).getCode(), /abort/i);
      const took = Date.now() - started;
      // It ends, and not before its deadline; how soon after is the scheduler's business.
      assert.ok(took >= 250 && took < 10_000, `ended after ${took} ms`);
    } finally {
      await silent.close();
    }
  });

  it('answers an override check as failed within 2 s, well inside the webhook\'s 5 s', async () => {
    const silent = await silentServer();
    try {
      const started = Date.now();
      const answer = await subjectAccessReviewAuthorizer(kubeconfigFor(silent.url)).mayOverride({ username: 'alice', groups: [] }, 'scale-to-zero');
      const took = Date.now() - started;
      assert.equal(answer.allowed, false);
      assert.match(answer.reason ?? '', /^authorization check failed: /);
      assert.ok(took < 5000, `answered after ${took} ms, past the webhook's timeout`);
    } finally {
      await silent.close();
    }
  });

  it('frees an Event\'s place in flight when its post gets no answer', async () => {
    const silent = await silentServer();
    const warnings: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        const line = JSON.parse(chunk.toString('utf8')) as { msg: string };
        warnings.push(line.msg);
        done();
      },
    });
    try {
      const dropped: string[] = [];
      const recorder = kubeEventRecorder(kubeconfigFor(silent.url), createLogger('warn', stream), (why) => dropped.push(why), 200);
      const request = { uid: 'u', kind: { group: 'apps', version: 'v1', kind: 'Deployment' }, resource: { group: 'apps', version: 'v1', resource: 'deployments' }, name: 'web', namespace: 'default', operation: 'UPDATE' as const, userInfo: { username: 'alice', groups: [] }, object: null, oldObject: null, dryRun: false };
      // Past MAX_IN_FLIGHT (32) posts that never end, nothing more would be posted for good.
      // Distinct messages: repeats of one Event would be folded into it.
      for (let i = 0; i < 40; i++) recorder.record({ request, reason: 'LeveeDenied', type: 'Warning', message: `refused ${i}` });
      const notRecorded = (): number => warnings.filter((msg) => msg === 'event not recorded').length;
      await until(() => notRecorded() === 32, 10_000);
      assert.equal(notRecorded(), 32);
      assert.equal(dropped.filter((why) => why === 'overload').length, 8);
      assert.equal(dropped.filter((why) => why === 'failed').length, 32);
      // Whether each post reached the server or timed out queued in the client is the
      // scheduler's business on a busy machine; what counts is that the new Event gets a place
      // in flight (not dropped as overload) and ends at its deadline like the others.
      recorder.record({ request, reason: 'LeveeDenied', type: 'Warning', message: 'refused again' });
      await until(() => dropped.filter((why) => why === 'failed').length === 33, 5000);
      assert.equal(dropped.filter((why) => why === 'overload').length, 8, 'the new Event was dropped as overload: the stuck posts never freed their places');
      assert.equal(dropped.filter((why) => why === 'failed').length, 33, 'a new Event is posted once the stuck ones have ended');
      assert.ok(silent.requests() >= 1);
    } finally {
      await silent.close();
    }
  });
});
