import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCerts, writeCerts, type GeneratedCerts } from '../../../src/certs/generate.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const leaf = (chain: string): X509Certificate => new X509Certificate(chain);
const mode = (path: string): number => statSync(path).mode & 0o777;

describe('certs/generate: levee certs', () => {
  let dir: string;
  let certs: GeneratedCerts;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'levee-certs-'));
    certs = await generateCerts({ dnsNames: ['localhost', 'levee.levee-system.svc'], ipAddresses: ['127.0.0.1', '::1'], validDays: 30, clientName: 'kube-apiserver-webhook-client' });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('makes a CA that signed the serving certificate, for the names and addresses asked', () => {
    const ca = new X509Certificate(certs.caCert);
    const server = leaf(certs.serverCert);
    assert.equal(ca.ca, true);
    assert.equal(ca.verify(ca.publicKey), true, 'the CA is self-signed');
    assert.equal(server.ca, false);
    assert.equal(server.checkIssued(ca), true);
    assert.equal(server.verify(ca.publicKey), true);
    assert.equal(server.checkHost('localhost'), 'localhost');
    assert.equal(server.checkHost('levee.levee-system.svc'), 'levee.levee-system.svc');
    assert.equal(server.checkHost('elsewhere.example'), undefined);
    assert.equal(server.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(server.checkIP('::1'), '::1');
    assert.deepEqual(server.keyUsage, [SERVER_AUTH]);
    const days = (Date.parse(server.validTo) - Date.parse(server.validFrom)) / 86_400_000;
    assert.equal(Math.round(days), 30);
    assert.equal(Buffer.from(certs.caBundle, 'base64').toString(), certs.caCert);
    assert.equal(createPrivateKey(certs.serverKey).asymmetricKeyType, 'ec');
  });

  it('makes a client certificate from the same CA, for client authentication only', () => {
    const ca = new X509Certificate(certs.caCert);
    const client = leaf(certs.clientCert!);
    assert.equal(client.checkIssued(ca), true);
    assert.equal(client.verify(ca.publicKey), true);
    assert.match(client.subject, /CN=kube-apiserver-webhook-client/);
    assert.deepEqual(client.keyUsage, [CLIENT_AUTH]);
  });

  it('passes openssl verify for the purposes each certificate is for, and only those', () => {
    writeFileSync(join(dir, 'ca.pem'), certs.caCert);
    writeFileSync(join(dir, 'server.pem'), certs.serverCert);
    writeFileSync(join(dir, 'client.pem'), certs.clientCert!);
    const verify = (purpose: string, file: string): number => spawnSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), '-purpose', purpose, join(dir, file)]).status ?? -1;
    assert.equal(verify('sslserver', 'server.pem'), 0);
    assert.equal(verify('sslclient', 'client.pem'), 0);
    assert.notEqual(verify('sslclient', 'server.pem'), 0);
    assert.notEqual(verify('sslserver', 'client.pem'), 0);
  });

  it('serves TLS that a client trusting only the CA accepts, with the client certificate verified', async () => {
    const server = createServer({ cert: certs.serverCert, key: certs.serverKey, ca: certs.caCert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const socket = req.socket as import('node:tls').TLSSocket;
      res.end(socket.getPeerCertificate().subject.CN);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const cn = await new Promise<string>((resolve, reject) => {
        request({ host: '127.0.0.1', port, servername: 'localhost', ca: certs.caCert, cert: certs.clientCert, key: certs.clientKey, path: '/' }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve(text));
        }).on('error', reject).end();
      });
      assert.equal(cn, 'kube-apiserver-webhook-client');
    } finally {
      server.close();
    }
  });

  it('writes key files readable by their owner only, also over an existing file with a wider mode', () => {
    const out = join(dir, 'out');
    const first = writeCerts(out, certs);
    assert.equal(mode(first.keyFile), 0o600);
    assert.equal(mode(first.clientKeyFile!), 0o600);
    rmSync(first.keyFile);
    writeFileSync(first.keyFile, 'old key', { mode: 0o644 });
    writeFileSync(first.clientKeyFile!, 'old key', { mode: 0o666 });
    const again = writeCerts(out, certs);
    assert.equal(mode(again.keyFile), 0o600);
    assert.equal(mode(again.clientKeyFile!), 0o600);
    assert.equal(readFileSync(again.keyFile, 'utf8'), certs.serverKey);
    assert.equal(mode(again.caFile) & 0o044, 0o044, 'certificates stay readable');
  });

  it('replaces a symlink at the key path instead of writing through it', () => {
    const out = join(dir, 'linked');
    writeCerts(out, certs);
    const elsewhere = join(dir, 'elsewhere.txt');
    writeFileSync(elsewhere, 'not a key', { mode: 0o644 });
    rmSync(join(out, 'tls.key'));
    symlinkSync(elsewhere, join(out, 'tls.key'));
    writeCerts(out, certs);
    assert.equal(lstatSync(join(out, 'tls.key')).isSymbolicLink(), false);
    assert.equal(mode(join(out, 'tls.key')), 0o600);
    assert.equal(readFileSync(elsewhere, 'utf8'), 'not a key');
  });

  it('refuses what it cannot make, with a usage error', async () => {
    await assert.rejects(generateCerts({ dnsNames: [], ipAddresses: [], validDays: 1 }), { code: 'CERTS_INVALID_ARGUMENT' });
    await assert.rejects(generateCerts({ dnsNames: [], ipAddresses: ['300.1.1.1'], validDays: 1 }), { code: 'CERTS_INVALID_ARGUMENT' });
    await assert.rejects(generateCerts({ dnsNames: ['x'], ipAddresses: [], validDays: 0 }), { code: 'CERTS_INVALID_ARGUMENT' });
    await assert.rejects(generateCerts({ dnsNames: ['x'], ipAddresses: [], validDays: 1, clientName: ' ' }), { code: 'CERTS_INVALID_ARGUMENT' });
  });
});
