import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';
import type { AdmissionReview } from '../../src/admission/types.js';
import { createLogger } from '../../src/logger.js';
import { call, type TestCerts } from '../support/https.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { scaleReview } from '../support/reviews.js';

const BODY_LIMIT = 64 * 1024;

function openTls(port: number, ca: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Writes `text` one byte every `everyMs` until the server closes the socket or the text runs out. */
function trickle(socket: TLSSocket, text: string, everyMs: number): Promise<{ closedByServer: boolean; sent: number; received: string }> {
  return new Promise((resolve) => {
    let sent = 0;
    let received = '';
    let done = false;
    const finish = (closedByServer: boolean): void => {
      if (done) return;
      done = true;
      clearInterval(timer);
      socket.destroy();
      resolve({ closedByServer, sent, received });
    };
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    const timer = setInterval(() => {
      if (sent >= text.length) return finish(false);
      socket.write(text[sent++]!);
    }, everyMs);
  });
}

describe('server: hostile and broken clients', function () {
  this.timeout(30_000);
  let certs: TestCerts;
  let running: TestServer;
  let agent: Agent;
  const logLines: string[] = [];

  before(async () => {
    const logger = createLogger('trace', { write: (line: string) => void logLines.push(line) });
    running = await startTestServer({ config: { server: { bodyLimitBytes: BODY_LIMIT, headersTimeoutMs: 1000, requestTimeoutMs: 500 }, logLevel: 'trace' }, logger });
    certs = running.certs;
    agent = new Agent({ keepAlive: true });
  });

  after(async () => {
    agent.destroy();
    await running.close();
  });

  const stillServing = async (): Promise<void> => {
    const answer = await call(running.port, certs.ca, { path: '/validate', body: JSON.stringify(scaleReview({ replicas: 0 })), agent });
    assert.equal(answer.status, 200);
    assert.equal((answer.json() as AdmissionReview).response?.allowed, false);
  };

  it('cuts off a client that sends its headers a byte at a time (slowloris), and keeps serving others meanwhile', async () => {
    const socket = await openTls(running.port, certs.ca);
    const headers = `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-Slow: ${'a'.repeat(400)}\r\n\r\n`;
    const slow = trickle(socket, headers, 50);
    await stillServing();
    const outcome = await slow;
    assert.equal(outcome.closedByServer, true, 'the server waited for all the headers');
    assert.ok(outcome.sent < headers.length, `the whole header was accepted (${outcome.sent} bytes)`);
    assert.doesNotMatch(outcome.received, /HTTP\/1\.1 200/);
    await stillServing();
  });

  it('cuts off a client that sends its body a byte at a time', async () => {
    const socket = await openTls(running.port, certs.ca);
    const body = JSON.stringify(scaleReview({ replicas: 1 }));
    socket.write(`POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    const outcome = await trickle(socket, body, 50);
    assert.equal(outcome.closedByServer, true, 'the server waited for the whole body');
    assert.ok(outcome.sent < body.length);
    assert.doesNotMatch(outcome.received, /HTTP\/1\.1 200/);
    await stillServing();
  });

  it('answers 413 to a declared oversized body without reading it, and keeps serving', async () => {
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: running.port, method: 'POST', path: '/validate', ca: certs.ca, servername: 'localhost', agent: false, headers: { 'content-type': 'application/json', 'content-length': String(100 * 1024 * 1024) } },
        (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      // A first slice only: the answer must not wait for the other 99.9 MiB.
      req.write(Buffer.alloc(BODY_LIMIT, 0x20));
    });
    assert.equal(answer.status, 413);
    assert.match(answer.text, /REVIEW_TOO_LARGE/);
    await stillServing();
  });

  it('answers 413 to a chunked body that grows past the limit, and keeps serving', async () => {
    const answer = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: running.port, method: 'POST', path: '/validate', ca: certs.ca, servername: 'localhost', agent: false, headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      for (let i = 0; i < 8; i++) req.write(chunk);
    });
    assert.equal(answer, 413);
    await stillServing();
  });

  describe('logs', () => {
    const SECRET_DATA = 'c3VwZXItc2VjcmV0LXBhc3N3b3Jk'; // base64 of a password
    const SECRET_STRING = 'plain-text-secret-4f9a';
    const BEARER = 'eyJhbGciOiJSUzI1NiJ9.bench-token-7c1e';
    const FORM_PASSWORD = 'hunter2-form-password';

    it('never contain Secret data, bearer tokens or body fragments, at the most verbose level', async () => {
      const secretReview = (uid: string, operation: 'CREATE' | 'UPDATE') => ({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid,
          kind: { group: '', version: 'v1', kind: 'Secret' },
          resource: { group: '', version: 'v1', resource: 'secrets' },
          name: 'db',
          namespace: 'default',
          operation,
          userInfo: { username: 'alice', groups: ['system:authenticated'], extra: { token: [BEARER] } },
          object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'default', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ data: { password: SECRET_DATA } }) } }, data: { password: SECRET_DATA }, stringData: { token: SECRET_STRING } },
          oldObject: operation === 'UPDATE' ? { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'default' }, data: { password: SECRET_DATA } } : null,
          dryRun: false,
        },
      });
      const auth = { authorization: `Bearer ${BEARER}` };
      const before = logLines.length;
      for (const [path, body] of [
        ['/validate', secretReview('u-secret-create', 'CREATE')],
        ['/mutate', secretReview('u-secret-update', 'UPDATE')],
        ['/validate', { ...secretReview('u-secret-incomplete', 'UPDATE'), request: { ...secretReview('u-secret-incomplete', 'UPDATE').request, operation: 'PATCH' } }],
      ] as const) {
        const answer = await call(running.port, certs.ca, { path, body: JSON.stringify(body), headers: auth, agent });
        assert.equal(answer.status, 200, answer.text);
      }
      // A client posting a form with credentials as JSON: the parser's message quotes the body.
      const form = await call(running.port, certs.ca, { path: '/validate', body: `password=${FORM_PASSWORD}&token=${BEARER}`, headers: auth, agent });
      assert.equal(form.status, 400);
      const truncated = await call(running.port, certs.ca, { path: '/validate', body: `{"data":{"password":"${SECRET_DATA}"}, ${SECRET_STRING}`, headers: auth, agent });
      assert.equal(truncated.status, 400);

      const written = logLines.slice(before).join('');
      assert.match(written, /u-secret-create/, 'the decision was not logged, so this test would prove nothing');
      assert.match(written, /u-secret-incomplete/);
      assert.match(written, /REVIEW_NOT_JSON/);
      for (const secret of [SECRET_DATA, SECRET_STRING, BEARER, FORM_PASSWORD]) {
        assert.ok(!written.includes(secret), `a log line contains ${secret}`);
        assert.ok(!form.text.includes(secret) && !truncated.text.includes(secret), `an error answer echoes ${secret}`);
      }
    });
  });
});
