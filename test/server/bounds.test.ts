import assert from 'node:assert/strict';
import { connect, type TLSSocket } from 'node:tls';
import { buildConfig, type ConfigInput } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { serve, type RunningServer } from '../../src/server/serve.js';
import { BUNDLE_PATH } from '../support/bundle.js';
import { clusterWithBackedService } from '../support/cluster.js';
import { call, makeTestCerts, type TestCerts } from '../support/https.js';
import { deploymentReview } from '../support/reviews.js';

/**
 * The bounds on what a caller can make levee hold (issue 18: 40 unfinished bodies held about
 * 280 MiB). The figures of memory and event-loop stalls are the bench's (`npm run bench --
 * --bounds`); these tests check the bounds themselves: who is shed, with what answer, and that
 * a share comes back when its review ends.
 */

interface Opened {
  socket: TLSSocket;
  /** The status line, once levee answers. */
  answer: Promise<string>;
}

/** A review that announces `declared` bytes (or none: chunked) and sends only a first part of them. */
function unfinished(port: number, ca: string, declared: number | 'chunked'): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const length = declared === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${declared}`;
      socket.write(`POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n${length}\r\n\r\n${declared === 'chunked' ? '5\r\n{"a":\r\n' : '{"a":'}`);
      let text = '';
      const answer = new Promise<string>((done) => {
        socket.on('data', (chunk: Buffer) => {
          text += chunk.toString('latin1');
          if (text.includes('\r\n\r\n')) done(text);
        });
        socket.on('close', () => done(text));
      });
      // Once levee has read the headers, the request is in flight (or already answered).
      setTimeout(() => resolve({ socket, answer }), 150);
    });
    socket.once('error', reject);
  });
}

async function start(server: ConfigInput['server'], certs: TestCerts): Promise<RunningServer> {
  const config = buildConfig({
    server: { port: 0, host: '127.0.0.1', tlsCertFile: certs.certFile, tlsKeyFile: certs.keyFile, ...server },
    bundlePath: BUNDLE_PATH,
    logLevel: 'silent',
  });
  return serve({ config, logger: createLogger('silent'), cluster: clusterWithBackedService() });
}

const small = JSON.stringify(deploymentReview({ replicas: 2 }));
const settled = (opened: Opened, ms = 300): Promise<string | undefined> => Promise.race([opened.answer, new Promise<undefined>((resolve) => setTimeout(resolve, ms))]);

describe('server: bounds on the work a caller can make levee hold', function () {
  this.timeout(30_000);
  let certs: TestCerts;
  const open: TLSSocket[] = [];
  before(async () => (certs = await makeTestCerts()));
  /** Open requests first: levee's close waits for the connections it is still reading. */
  const closeAll = async (running: RunningServer): Promise<void> => {
    for (const socket of open.splice(0)) socket.destroy();
    await running.close();
  };

  it('sizes the body limit for two objects at etcd\'s 1.5 MiB and an envelope, and refuses more unread', async () => {
    const running = await start({}, certs);
    try {
      const over = await unfinished(running.port, certs.ca, 3.25 * 1024 * 1024 + 1);
      open.push(over.socket);
      assert.match(await over.answer, /^HTTP\/1\.1 413 /);
      const fits = await unfinished(running.port, certs.ca, 3.25 * 1024 * 1024);
      open.push(fits.socket);
      assert.equal(await settled(fits), undefined, 'a body at the limit is read, not refused');
    } finally {
      await closeAll(running);
    }
  });

  it('sheds reviews past the concurrency bound with 429 and Retry-After, before reading them, and takes them again once one ends', async () => {
    const running = await start({ maxConcurrentReviews: 2 }, certs);
    try {
      const held = [await unfinished(running.port, certs.ca, 4096), await unfinished(running.port, certs.ca, 4096)];
      open.push(...held.map((h) => h.socket));
      for (const h of held) assert.equal(await settled(h), undefined, 'the first two are in flight');
      const shed = await call(running.port, certs.ca, { path: '/validate', body: small });
      assert.equal(shed.status, 429);
      assert.equal(shed.headers['retry-after'], '1');
      assert.equal((shed.json() as { code: string }).code, 'REVIEW_OVERLOADED');
      held[0]!.socket.destroy();
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal((await call(running.port, certs.ca, { path: '/validate', body: small })).status, 200, 'the aborted review gave its share back');
      const metrics = await call(running.port, certs.ca, { method: 'GET', path: '/metrics' });
      assert.match(metrics.text, /levee_request_errors_total\{code="REVIEW_OVERLOADED"\} [1-9]/);
    } finally {
      await closeAll(running);
    }
  });

  it('sheds a review whose bytes would pass the bound on bytes in flight; a body without Content-Length counts the whole body limit', async () => {
    const running = await start({ bodyLimitBytes: 512 * 1024, maxBytesInFlight: 1024 * 1024 }, certs);
    try {
      const held = [await unfinished(running.port, certs.ca, 400 * 1024), await unfinished(running.port, certs.ca, 400 * 1024)];
      open.push(...held.map((h) => h.socket));
      const third = await unfinished(running.port, certs.ca, 400 * 1024);
      open.push(third.socket);
      assert.match((await settled(third, 2000)) ?? '', /^HTTP\/1\.1 429 /);
      const chunked = await unfinished(running.port, certs.ca, 'chunked');
      open.push(chunked.socket);
      assert.match((await settled(chunked, 2000)) ?? '', /^HTTP\/1\.1 429 /, 'a chunked body reserves the body limit');
      // As the API server sends it: with its Content-Length.
      const fits = await call(running.port, certs.ca, { path: '/validate', body: small, headers: { 'content-length': String(Buffer.byteLength(small)) } });
      assert.equal(fits.status, 200, `a small review still fits: ${fits.text}`);
    } finally {
      await closeAll(running);
    }
  });

  it('holds at most maxBytesInFlight of the issue\'s 40 unfinished bodies just under the limit, with the defaults', async () => {
    const running = await start({}, certs);
    try {
      const declared = 3.25 * 1024 * 1024 - 1024;
      const opened = await Promise.all(Array.from({ length: 40 }, () => unfinished(running.port, certs.ca, declared)));
      open.push(...opened.map((o) => o.socket));
      const answers = await Promise.all(opened.map((o) => settled(o, 2000)));
      const inFlight = answers.filter((a) => a === undefined).length;
      assert.equal(inFlight, Math.floor((32 * 1024 * 1024) / declared), `held ${inFlight}`);
      assert.ok(answers.every((a) => a === undefined || /^HTTP\/1\.1 429 /.test(a)));
    } finally {
      await closeAll(running);
    }
  });

  it('closes connections past maxConnections at once', async () => {
    const running = await start({ maxConnections: 3 }, certs);
    try {
      const held = await Promise.all([1, 2, 3].map(() => unfinished(running.port, certs.ca, 4096)));
      open.push(...held.map((h) => h.socket));
      await assert.rejects(unfinished(running.port, certs.ca, 4096), /socket disconnected|ECONNRESET|EPIPE/);
    } finally {
      await closeAll(running);
    }
  });
});
