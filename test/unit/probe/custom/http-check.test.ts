import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runHttpCheck } from '../../../../src/probe/custom/http-check.js';
import type { HttpCheck } from '../../../../src/probe/custom/settings.js';
import { makeTestCerts, type TestCerts } from '../../../support/https.js';

const never = new AbortController().signal;
const check = (url: string, extra: Partial<HttpCheck> = {}): HttpCheck => ({ url, method: 'GET', headers: {}, ...extra });

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

describe('probe/custom/http-check', () => {
  let server: Server;
  let port: number;
  let seen: IncomingMessage[];
  let answer: (req: IncomingMessage, res: ServerResponse) => void;

  beforeEach(async () => {
    seen = [];
    answer = (_req, res) => res.writeHead(200).end('ok');
    server = createServer((req, res) => {
      seen.push(req);
      answer(req, res);
    });
    port = await listen(server);
  });

  afterEach(() => close(server));

  it('passes on 200 to 399 by default, as a kubelet httpGet probe, and sends the declared method and headers', async () => {
    answer = (_req, res) => res.writeHead(302, { Location: '/elsewhere' }).end();
    const outcome = await runHttpCheck(check(`http://127.0.0.1:${port}/healthz?deep=1`, { method: 'HEAD', headers: { 'X-Team': 'platform' } }), never);
    assert.equal(outcome.ok, true, outcome.message);
    assert.match(outcome.message, new RegExp(`^HEAD http://127\\.0\\.0\\.1:${port}/healthz answered HTTP 302 in \\d+ ms$`));
    assert.equal(seen.length, 1, 'the redirect is not followed');
    assert.equal(seen[0]!.url, '/healthz?deep=1');
    assert.equal(seen[0]!.headers['x-team'], 'platform');
  });

  it('fails on a status outside the expected ones, quoting the body', async () => {
    answer = (_req, res) => res.writeHead(503).end('backend   down\n');
    const outcome = await runHttpCheck(check(`http://127.0.0.1:${port}/`), never);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.stage, 'status');
    assert.match(outcome.message, /answered HTTP 503 in \d+ ms, expected 200-399: backend down$/);
    const only204 = await runHttpCheck(check(`http://127.0.0.1:${port}/`, { expectStatus: [204] }), never);
    assert.match(only204.message, /expected 204/);
  });

  it('fails when the body lacks the expected text, reading at most 64 KiB of an endless body', async () => {
    answer = (_req, res) => {
      res.writeHead(200);
      const chunk = 'x'.repeat(16 * 1024);
      const timer = setInterval(() => res.write(chunk), 1);
      res.on('close', () => clearInterval(timer));
    };
    const outcome = await runHttpCheck(check(`http://127.0.0.1:${port}/`, { bodyContains: '"status":"ok"' }), never);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.stage, 'body');
    assert.match(outcome.message, /without "\\"status\\":\\"ok\\"" in its body/);
  });

  it('fails with "connection refused" when nothing listens', async () => {
    await close(server);
    const outcome = await runHttpCheck(check(`http://127.0.0.1:${port}/`), never);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.stage, 'connect');
    assert.match(outcome.message, /connection refused/);
    server = createServer();
  });

  it('gives up at the deadline when the server never answers', async () => {
    answer = () => undefined;
    const deadline = new AbortController();
    setTimeout(() => deadline.abort(new Error('context deadline exceeded: custom:slow ran past its 1 s timeout')), 200);
    const outcome = await runHttpCheck(check(`http://127.0.0.1:${port}/`), deadline.signal);
    assert.equal(outcome.ok, false);
    assert.match(outcome.message, /context deadline exceeded: custom:slow ran past its 1 s timeout/);
  });

  it('fails a 200 whose body never ends before the deadline, and one whose connection drops mid-body', async () => {
    answer = (_req, res) => {
      res.writeHead(200, { 'Content-Length': '100' });
      res.write('partial');
    };
    const deadline = new AbortController();
    setTimeout(() => deadline.abort(new Error('context deadline exceeded: custom:hung ran past its 1 s timeout')), 300);
    const hung = await runHttpCheck(check(`http://127.0.0.1:${port}/`), deadline.signal);
    assert.equal(hung.ok, false);
    assert.match(hung.message, /context deadline exceeded: custom:hung ran past its 1 s timeout/);
    answer = (_req, res) => {
      res.writeHead(200, { 'Content-Length': '100' });
      res.write('partial', () => res.socket?.destroy());
    };
    const dropped = await runHttpCheck(check(`http://127.0.0.1:${port}/`), never);
    assert.equal(dropped.ok, false);
    assert.match(dropped.message, /the body was cut short|connection reset by peer/);
  });

  describe('over TLS, with a bearer token from a file', () => {
    let certs: TestCerts;
    let tls: Server;
    let tlsPort: number;
    let authorization: string | undefined;

    before(async () => {
      certs = await makeTestCerts();
      tls = createHttpsServer({ cert: readFileSync(certs.certFile), key: readFileSync(certs.keyFile) }, (req, res) => {
        authorization = req.headers.authorization;
        res.writeHead(200).end('{"status":"ok"}');
      });
      tlsPort = await listen(tls);
    });

    after(async () => {
      await close(tls);
      rmSync(certs.dir, { recursive: true, force: true });
    });

    it('trusts the declared CA and sends the token', async () => {
      const tokenFile = join(certs.dir, 'token');
      writeFileSync(tokenFile, 'secret-token\n');
      const outcome = await runHttpCheck(check(`https://localhost:${tlsPort}/`, { caFile: certs.caFile, bearerTokenFile: tokenFile, bodyContains: '"status":"ok"' }), never);
      assert.equal(outcome.ok, true, outcome.message);
      assert.equal(authorization, 'Bearer secret-token');
    });

    it('fails a server its CA does not vouch for, and a token file that cannot be read', async () => {
      const untrusted = await runHttpCheck(check(`https://localhost:${tlsPort}/`), never);
      assert.equal(untrusted.ok, false);
      assert.match(untrusted.message, /self-signed|unable to verify|certificate/i);
      const noToken = await runHttpCheck(check(`https://localhost:${tlsPort}/`, { caFile: certs.caFile, bearerTokenFile: join(certs.dir, 'missing') }), never);
      assert.equal(noToken.ok, false);
      assert.equal(noToken.stage, 'setup');
      assert.match(noToken.message, /ENOENT/);
    });
  });
});
