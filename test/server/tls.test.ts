import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import { copyFileSync, writeFileSync } from 'node:fs';
import { call, makeTestCerts, type TestCerts } from '../support/https.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { eventually } from '../support/wait.js';

function peerFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', ca, servername: 'localhost', agent: false }, (res) => {
      const fingerprint = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256;
      res.resume();
      res.on('end', () => resolve(fingerprint));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('server: TLS', () => {
  let first: TestCerts;
  let running: TestServer;

  before(async () => {
    running = await startTestServer();
    first = running.certs;
  });

  after(() => running.close());

  it('refuses TLS versions older than 1.2', async () => {
    await assert.rejects(
      new Promise((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: running.port, path: '/healthz', ca: first.ca, servername: 'localhost', maxVersion: 'TLSv1.1', minVersion: 'TLSv1', agent: false }, resolve);
        req.on('error', reject);
        req.end();
      }),
    );
  });

  it('picks up a rotated certificate without a restart or a dropped connection, and ignores a broken one', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const before = await call(running.port, first.ca, { method: 'GET', path: '/healthz', agent });
    assert.equal(before.status, 200);
    const oldFingerprint = await peerFingerprint(running.port, first.ca);

    const second = await makeTestCerts();
    copyFileSync(second.keyFile, first.keyFile);
    copyFileSync(second.certFile, first.certFile);
    await eventually(async () => (await peerFingerprint(running.port, second.ca)) !== oldFingerprint);

    // The keep-alive connection opened before the rotation still works.
    const sameSocket = await call(running.port, first.ca, { method: 'GET', path: '/healthz', agent });
    assert.equal(sameSocket.status, 200);
    agent.destroy();
    // New handshakes no longer trust the old CA.
    await assert.rejects(peerFingerprint(running.port, first.ca));

    // A half-written rotation is ignored: the last good pair stays in use.
    const goodFingerprint = await peerFingerprint(running.port, second.ca);
    writeFileSync(first.keyFile, 'not a key');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(await peerFingerprint(running.port, second.ca), goodFingerprint);
  });
});

describe('server: the serving certificate\'s expiry metric', () => {
  let running: TestServer;
  let certs: TestCerts;

  const expiryMetric = async (): Promise<number> => {
    const text = (await call(running.port, certs.ca, { method: 'GET', path: '/metrics' })).text;
    const line = /^levee_serving_certificate_expiry_timestamp_seconds (\S+)$/m.exec(text);
    assert.ok(line, 'levee_serving_certificate_expiry_timestamp_seconds is exported');
    return Number(line[1]);
  };

  before(async () => {
    certs = await makeTestCerts(2);
    running = await startTestServer({ certs });
  });

  after(() => running.close());

  it('says when the certificate in use expires, and follows a rotation', async () => {
    const day = 86_400;
    const now = Date.now() / 1000;
    const first = await expiryMetric();
    assert.ok(Math.abs(first - (now + 2 * day)) < 600, `about two days ahead: ${first - now} s`);

    const rotated = await makeTestCerts(9);
    copyFileSync(rotated.keyFile, certs.keyFile);
    copyFileSync(rotated.certFile, certs.certFile);
    await eventually(async () => (await peerFingerprint(running.port, rotated.ca)) !== '');
    await eventually(async () => Math.abs((await expiryMetric()) - (now + 9 * day)) < 600);
  });
});

describe('server: connections and handshakes', () => {
  let running: TestServer;
  let certs: TestCerts;

  /** levee_connections_total by stage, read over a connection of its own (counted too). */
  const connections = async (): Promise<{ accepted: number; tls: number }> => {
    const agent = new Agent({ keepAlive: false });
    try {
      const text = (await call(running.port, certs.ca, { method: 'GET', path: '/metrics', agent })).text;
      const stage = (name: string): number => Number(new RegExp(`^levee_connections_total\\{stage="${name}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
      return { accepted: stage('accepted'), tls: stage('tls') };
    } finally {
      agent.destroy();
    }
  };

  before(async () => {
    running = await startTestServer();
    certs = running.certs;
  });

  after(() => running.close());

  it('counts each connection and TLS handshake, once for all the requests a kept-alive connection carries', async () => {
    const before = await connections();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 5; i++) assert.equal((await call(running.port, certs.ca, { method: 'GET', path: '/healthz', agent })).status, 200);
    agent.destroy();
    const after = await connections();
    // The kept-alive connection and the second read's own.
    assert.deepEqual({ accepted: after.accepted - before.accepted, tls: after.tls - before.tls }, { accepted: 2, tls: 2 });

    for (let i = 0; i < 3; i++) {
      const fresh = new Agent({ keepAlive: false });
      assert.equal((await call(running.port, certs.ca, { method: 'GET', path: '/healthz', agent: fresh })).status, 200);
      fresh.destroy();
    }
    const later = await connections();
    assert.deepEqual({ accepted: later.accepted - after.accepted, tls: later.tls - after.tls }, { accepted: 4, tls: 4 });
  });
});
