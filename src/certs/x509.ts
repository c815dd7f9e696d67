import { createHash, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import * as der from './der.js';

/** What a certificate is for: a CA, a TLS server, or a TLS client (the API server calling levee). */
export type CertificateRole = 'ca' | 'server' | 'client';

export interface CertificateSpec {
  commonName: string;
  /** The subject's O= values (Kubernetes reads them as groups). */
  organizations?: string[];
  role: CertificateRole;
  publicKey: KeyObject;
  /** Who signs: the CA's name and private key; absent for a self-signed CA. */
  issuer?: { name: Buffer; privateKey: KeyObject; keyId: Buffer };
  /** The signing key of a self-signed certificate. */
  selfSigningKey?: KeyObject;
  notBefore: Date;
  notAfter: Date;
  dnsNames?: string[];
  ipAddresses?: string[];
}

export interface IssuedCertificate {
  der: Buffer;
  pem: string;
  /** The subject Name, DER: a certificate this one signs names it as its issuer. */
  name: Buffer;
  /** Subject key identifier: a certificate this one signs names it as its authority key. */
  keyId: Buffer;
}

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 };

/** An X.509 v3 certificate signed with ECDSA P-256 / SHA-256 (the only key type levee makes). */
export function issueCertificate(spec: CertificateSpec): IssuedCertificate {
  const signingKey = spec.issuer?.privateKey ?? spec.selfSigningKey;
  if (!signingKey) throw new Error('a certificate needs an issuer or a self-signing key');
  const name = distinguishedName(spec.commonName, spec.organizations ?? []);
  const keyId = subjectKeyId(spec.publicKey);
  const algorithm = der.sequence(der.objectIdentifier(OID.ecdsaWithSha256));
  const tbs = der.sequence(
    der.explicit(0, der.smallInteger(2)),
    der.unsignedInteger(serialNumber()),
    algorithm,
    spec.issuer?.name ?? name,
    der.sequence(der.time(spec.notBefore), der.time(spec.notAfter)),
    name,
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    der.explicit(3, der.sequence(...extensions(spec, keyId))),
  );
  const signature = sign('sha256', tbs, signingKey);
  const certificate = der.sequence(tbs, algorithm, der.bitString(signature));
  return { der: certificate, pem: pem(certificate), name, keyId };
}

function extensions(spec: CertificateSpec, keyId: Buffer): Buffer[] {
  const list = [
    extension(OID.basicConstraints, true, spec.role === 'ca' ? der.sequence(der.boolean(true), der.smallInteger(0)) : der.sequence()),
    extension(
      OID.keyUsage,
      true,
      der.namedBits(spec.role === 'ca' ? [KEY_USAGE.digitalSignature, KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign] : [KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment]),
    ),
    extension(OID.subjectKeyIdentifier, false, der.octetString(keyId)),
  ];
  if (spec.role !== 'ca') list.push(extension(OID.extKeyUsage, false, der.sequence(der.objectIdentifier(spec.role === 'server' ? OID.serverAuth : OID.clientAuth))));
  const names = [...(spec.dnsNames ?? []).map((dns) => der.implicit(2, Buffer.from(dns, 'ascii'))), ...(spec.ipAddresses ?? []).map((ip) => der.implicit(7, ipBytes(ip)))];
  if (names.length > 0) list.push(extension(OID.subjectAltName, false, der.sequence(...names)));
  if (spec.issuer) list.push(extension(OID.authorityKeyIdentifier, false, der.sequence(der.implicit(0, spec.issuer.keyId))));
  return list;
}

function extension(oid: string, critical: boolean, value: Buffer): Buffer {
  return der.sequence(der.objectIdentifier(oid), ...(critical ? [der.boolean(true)] : []), der.octetString(value));
}

function distinguishedName(commonName: string, organizations: string[]): Buffer {
  const attribute = (oid: string, value: string): Buffer => der.set(der.sequence(der.objectIdentifier(oid), der.utf8String(value)));
  return der.sequence(...organizations.map((org) => attribute(OID.organization, org)), attribute(OID.commonName, commonName));
}

/** RFC 5280's method 1: SHA-1 of the public key's bits (here the uncompressed EC point). */
export function subjectKeyId(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  if (!jwk.x || !jwk.y) throw new Error('only EC public keys are supported');
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
  return createHash('sha1').update(point).digest();
}

/** 16 random bytes, positive (RFC 5280 allows up to 20 octets). */
function serialNumber(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes;
}

export function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new Error(`not an IP address: ${ip}`);
  const [head = '', tail] = ip.split('::');
  const groups = (part: string): number[] => (part === '' ? [] : part.split(':').flatMap(group));
  const start = groups(head);
  const end = tail === undefined ? [] : groups(tail);
  const words = [...start, ...new Array<number>(8 - start.length - end.length).fill(0), ...end];
  return Buffer.from(words.flatMap((word) => [word >> 8, word & 0xff]));
}

/** One IPv6 group, or an embedded IPv4 address (two groups), as 16-bit words. */
function group(text: string): number[] {
  if (isIPv4(text)) {
    const [a = 0, b = 0, c = 0, d = 0] = text.split('.').map(Number);
    return [(a << 8) | b, (c << 8) | d];
  }
  return [parseInt(text, 16)];
}

/**
 * What signing with an existing CA needs: its subject Name exactly as its certificate encodes
 * it (a signed certificate's issuer must match byte for byte) and its key identifier.
 */
export function issuerFrom(certificateDer: Buffer, privateKey: KeyObject): { name: Buffer; privateKey: KeyObject; keyId: Buffer } {
  const certificate = der.readTlv(certificateDer);
  const [tbs] = der.children(certificate.contents);
  if (!tbs) throw new Error('not a certificate');
  const fields = der.children(tbs.contents);
  // version [0], serial, signature algorithm, issuer, validity, subject
  const subject = fields[fields[0]?.tag === 0xa0 ? 5 : 4];
  if (!subject || subject.tag !== 0x30) throw new Error('a certificate without a subject');
  return { name: Buffer.from(subject.whole), privateKey, keyId: subjectKeyId(createPublicKey(privateKey)) };
}

export function pem(certificate: Buffer): string {
  const lines = certificate.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
