import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueCertificate } from '../../src/certs/x509.js';
import { call, type HttpAnswer } from '../support/https.js';
import { deploymentReview } from '../support/reviews.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { eventually } from '../support/wait.js';

/** A CA with a serving certificate for localhost and client certificates for the names asked. */
function pki(clients: Array<{ cn: string; dns?: string[]; role?: 'server' | 'client'; expired?: boolean }>) {
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + 86_400_000);
  const caKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ca = issueCertificate({ commonName: 'test CA', role: 'ca', publicKey: caKeys.publicKey, selfSigningKey: caKeys.privateKey, notBefore, notAfter });
  const issuer = { name: ca.name, privateKey: caKeys.privateKey, keyId: ca.keyId };
  const leaf = (commonName: string, role: 'server' | 'client', dnsNames: string[] = [], ipAddresses: string[] = [], expired = false) => {
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const cert = issueCertificate({ commonName, role, publicKey: keys.publicKey, issuer, notBefore, notAfter: expired ? new Date(Date.now() - 1000) : notAfter, dnsNames, ipAddresses });
    return { cert: cert.pem + ca.pem, key: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  };
  return { ca: ca.pem, server: leaf('localhost', 'server', ['localhost'], ['127.0.0.1']), clients: clients.map(({ cn, dns, role, expired }) => leaf(cn, role ?? 'client', dns, [], expired)) };
}

const API_SERVER = 'kube-apiserver-webhook-client';
const review = JSON.stringify(deploymentReview({ replicas: 2 }));

describe('server: mutual TLS (server.clientCAFile, server.clientNames)', () => {
  const trusted = pki([{ cn: API_SERVER }, { cn: 'developer' }, { cn: 'renamed', dns: [API_SERVER] }, { cn: API_SERVER, role: 'server' }, { cn: API_SERVER, expired: true }]);
  type Client = { cert: string; key: string };
  const [apiServer, developer, bySan, serverOnly, expired] = trusted.clients as [Client, Client, Client, Client, Client];
  const stranger = pki([{ cn: API_SERVER }]);
  let dir: string;
  let running: TestServer;
  const files = { cert: '', key: '', ca: '' };
  const post = (path: string, client?: { cert: string; key: string }): Promise<HttpAnswer> =>
    call(running.port, trusted.ca, { path, body: review, ...(client ? { cert: client.cert, key: client.key } : {}) });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'levee-mtls-'));
    files.cert = join(dir, 'tls.crt');
    files.key = join(dir, 'tls.key');
    files.ca = join(dir, 'client-ca.crt');
    writeFileSync(files.cert, trusted.server.cert);
    writeFileSync(files.key, trusted.server.key);
    writeFileSync(files.ca, trusted.ca);
    running = await startTestServer({
      certs: { dir, caFile: files.ca, certFile: files.cert, keyFile: files.key, ca: trusted.ca },
      config: { server: { clientCAFile: files.ca, clientNames: [API_SERVER] } },
    });
  });

  after(async () => {
    await running.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers reviews from a client certificate the CA signed for an allowed name', async () => {
    for (const path of ['/validate', '/mutate', '/validate/warn-only']) {
      const answer = await post(path, apiServer);
      assert.equal(answer.status, 200, `${path}: ${answer.text}`);
      assert.equal((answer.json() as { response: { allowed: boolean } }).response.allowed, true);
    }
  });

  it('accepts the allowed name as a DNS subject alternative name too', async () => {
    assert.equal((await post('/validate', bySan)).status, 200);
  });

  it('refuses a caller without a client certificate with 401 on every review route', async () => {
    for (const path of ['/validate', '/mutate', '/validate/warn-only', '/VALIDATE/?timeout=5s']) {
      const answer = await post(path);
      assert.equal(answer.status, 401, path);
      assert.equal((answer.json() as { code: string }).code, 'CLIENT_UNAUTHENTICATED');
      assert.equal(answer.headers.connection, 'close');
    }
  });

  it('refuses a certificate from another CA with 401, and one the CA signed for another name with 403', async () => {
    const other = await post('/validate', stranger.clients[0]);
    assert.equal(other.status, 401, other.text);
    const wrongName = await post('/validate', developer);
    assert.equal(wrongName.status, 403, wrongName.text);
    assert.equal((wrongName.json() as { code: string }).code, 'CLIENT_FORBIDDEN');
  });

  it('refuses a certificate of the allowed name that the CA signed for servers only, or that has expired, with 401', async () => {
    assert.equal((await post('/validate', serverOnly)).status, 401, 'extended key usage serverAuth alone');
    assert.equal((await post('/validate', expired)).status, 401, 'expired');
  });

  it('refuses before reading the body: a caller announcing 6 MiB and sending 10 bytes is answered and cut off at once', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: running.port, ca: trusted.ca, servername: 'localhost' }, () => {
        socket.write(`POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${6 * 1024 * 1024}\r\n\r\n{"kind":"A`);
      });
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      setTimeout(() => reject(new Error(`no answer and no close within 3 s: ${text}`)), 3000).unref();
    });
    assert.match(answer, /^HTTP\/1\.1 401 /);
  });

  it('keeps /healthz, /readyz and /metrics open to callers without a certificate (the kubelet, scrapers), and counts refusals', async () => {
    for (const path of ['/healthz', '/readyz']) assert.equal((await call(running.port, trusted.ca, { method: 'GET', path })).status, 200, path);
    const metrics = await call(running.port, trusted.ca, { method: 'GET', path: '/metrics' });
    assert.match(metrics.text, /levee_request_errors_total\{code="CLIENT_UNAUTHENTICATED"\} [1-9]/);
    assert.match(metrics.text, /levee_request_errors_total\{code="CLIENT_FORBIDDEN"\} [1-9]/);
  });

  it('keeps verifying clients against the client CA after the serving certificate rotates, and follows a new client CA', async () => {
    const rotated = pki([]);
    // The new serving certificate comes from another CA: trust both while it rotates.
    writeFileSync(files.cert, rotated.server.cert);
    writeFileSync(files.key, rotated.server.key);
    const bothServingCAs = trusted.ca + rotated.ca;
    // A new connection and a full handshake each time: no pooled connection or resumed session.
    const postTo = (client?: { cert: string; key: string }) =>
      call(running.port, bothServingCAs, { path: '/validate', body: review, agent: new Agent({ keepAlive: false, maxCachedSessions: 0 }), ...(client ? { cert: client.cert, key: client.key } : {}) });
    await eventually(async () => (await postTo(apiServer)).status === 200 && (await peerIssuer(running.port, bothServingCAs)) === rotated.ca);
    assert.equal((await postTo()).status, 401, 'no client certificate is still refused after the reload');
    assert.equal((await postTo(stranger.clients[0])).status, 401, 'the default roots did not replace the client CA');

    writeFileSync(files.ca, stranger.ca);
    await eventually(async () => (await postTo(stranger.clients[0])).status === 200);
    assert.equal((await postTo(apiServer)).status, 401, 'the old client CA is no longer trusted');
  });
});

function peerIssuer(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const chain = socket.getPeerCertificate(true);
      const issuer = chain.issuerCertificate?.raw;
      socket.end();
      resolve(issuer ? `-----BEGIN CERTIFICATE-----\n${issuer.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n` : '');
    });
    socket.on('error', reject);
  });
}
