import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { LeveeError } from '../errors.js';
import { issueCertificate } from './x509.js';

export interface GeneratedCerts {
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** base64 of the CA certificate PEM: the webhook configuration's `caBundle`. */
  caBundle: string;
  /** A client certificate from the same CA, for the API server's admission kubeconfig (mTLS). */
  clientCert?: string;
  clientKey?: string;
}

export interface CertRequest {
  dnsNames: string[];
  ipAddresses: string[];
  validDays: number;
  /** Also make a client certificate with this common name. */
  clientName?: string;
}

/** A dev CA, a serving certificate signed by it and optionally a client certificate, all ECDSA P-256. */
export async function generateCerts({ dnsNames, ipAddresses, validDays, clientName }: CertRequest): Promise<GeneratedCerts> {
  if (dnsNames.length + ipAddresses.length === 0) {
    throw new LeveeError('CERTS_INVALID_ARGUMENT', 'give at least one --dns name or --ip address for the serving certificate');
  }
  for (const ip of ipAddresses) {
    if (isIP(ip) === 0) throw new LeveeError('CERTS_INVALID_ARGUMENT', `not an IP address: ${ip}`);
  }
  if (!Number.isInteger(validDays) || validDays < 1) throw new LeveeError('CERTS_INVALID_ARGUMENT', `--days must be a positive whole number, got ${validDays}`);
  if (clientName !== undefined && clientName.trim() === '') throw new LeveeError('CERTS_INVALID_ARGUMENT', '--client needs a common name');

  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + validDays * 86_400_000);
  const caKeys = newKeyPair();
  const ca = issueCertificate({ commonName: 'levee dev CA', role: 'ca', publicKey: caKeys.publicKey, selfSigningKey: caKeys.privateKey, notBefore, notAfter });
  const issuer = { name: ca.name, privateKey: caKeys.privateKey, keyId: ca.keyId };

  const serverKeys = newKeyPair();
  const server = issueCertificate({
    commonName: dnsNames[0] ?? ipAddresses[0]!,
    role: 'server',
    publicKey: serverKeys.publicKey,
    issuer,
    notBefore,
    notAfter,
    dnsNames,
    ipAddresses,
  });
  const certs: GeneratedCerts = {
    caCert: ca.pem,
    serverCert: server.pem + ca.pem,
    serverKey: pkcs8(serverKeys.privateKey),
    caBundle: Buffer.from(ca.pem).toString('base64'),
  };
  if (clientName !== undefined) {
    const clientKeys = newKeyPair();
    const client = issueCertificate({ commonName: clientName, role: 'client', publicKey: clientKeys.publicKey, issuer, notBefore, notAfter });
    certs.clientCert = client.pem + ca.pem;
    certs.clientKey = pkcs8(clientKeys.privateKey);
  }
  return certs;
}

export interface CertFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  clientCertFile?: string;
  clientKeyFile?: string;
}

/** Writes ca.crt, tls.crt (leaf + CA), tls.key and, when made, client.crt and client.key into `dir`. */
export function writeCerts(dir: string, certs: GeneratedCerts): CertFiles {
  mkdirSync(dir, { recursive: true });
  const files: CertFiles = { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
  writeFileSync(files.caFile, certs.caCert);
  writeKeyFile(files.keyFile, certs.serverKey);
  writeFileSync(files.certFile, certs.serverCert);
  if (certs.clientCert && certs.clientKey) {
    files.clientCertFile = join(dir, 'client.crt');
    files.clientKeyFile = join(dir, 'client.key');
    writeKeyFile(files.clientKeyFile, certs.clientKey);
    writeFileSync(files.clientCertFile, certs.clientCert);
  }
  return files;
}

/**
 * A private key is readable by its owner only, also when a file was there before: open()'s
 * mode applies only to a file it creates, so the key goes to a new 0600 file that replaces
 * the old one (and a symlink in its place, rather than whatever it points at).
 */
function writeKeyFile(path: string, content: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  rmSync(temporary, { force: true });
  writeFileSync(temporary, content, { mode: 0o600, flag: 'wx' });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

function newKeyPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

function pkcs8(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}
