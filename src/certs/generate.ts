import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { LeveeError } from '../errors.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface GeneratedCerts {
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** base64 of the CA certificate PEM: the webhook configuration's `caBundle`. */
  caBundle: string;
}

export interface CertRequest {
  dnsNames: string[];
  ipAddresses: string[];
  validDays: number;
}

/** A dev CA and a serving certificate signed by it, for the dev overlay and tests. */
export async function generateCerts({ dnsNames, ipAddresses, validDays }: CertRequest): Promise<GeneratedCerts> {
  if (dnsNames.length + ipAddresses.length === 0) {
    throw new LeveeError('CERTS_INVALID_ARGUMENT', 'give at least one --dns name or --ip address for the serving certificate');
  }
  for (const ip of ipAddresses) {
    if (!/^(\d{1,3}\.){3}\d{1,3}$/.test(ip) && !ip.includes(':')) throw new LeveeError('CERTS_INVALID_ARGUMENT', `not an IP address: ${ip}`);
  }
  if (!Number.isInteger(validDays) || validDays < 1) throw new LeveeError('CERTS_INVALID_ARGUMENT', `--days must be a positive whole number, got ${validDays}`);

  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + validDays * 86_400_000);
  const caKeys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: 'CN=levee dev CA',
    notBefore,
    notAfter,
    keys: caKeys as CryptoKeyPair,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey as CryptoKey),
    ],
  });

  const serverKeys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const names = [
    ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
  ];
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${dnsNames[0] ?? ipAddresses[0]}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingKey: caKeys.privateKey as CryptoKey,
    publicKey: serverKeys.publicKey as CryptoKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });

  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', serverKeys.privateKey as CryptoKey);
  const caCert = ca.toString('pem') + '\n';
  return {
    caCert,
    serverCert: server.toString('pem') + '\n' + caCert,
    serverKey: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') + '\n',
    caBundle: Buffer.from(caCert).toString('base64'),
  };
}

/** Writes ca.crt, tls.crt (leaf + CA) and tls.key (mode 0600) into `dir`. */
export function writeCerts(dir: string, certs: GeneratedCerts): { caFile: string; certFile: string; keyFile: string } {
  mkdirSync(dir, { recursive: true });
  const files = { caFile: join(dir, 'ca.crt'), certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
  writeFileSync(files.caFile, certs.caCert);
  writeFileSync(files.keyFile, certs.serverKey, { mode: 0o600 });
  writeFileSync(files.certFile, certs.serverCert);
  return files;
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
}
