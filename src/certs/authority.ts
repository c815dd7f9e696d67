import { X509Certificate, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { ipBytes, issueCertificate, issuerFrom } from './x509.js';

/**
 * The CA and serving pair levee keeps for itself (server.certificates.source: self), as the
 * texts of one Secret: what they are, whether they are still good, and new ones when not.
 * Pure: the Secret's reading and writing are in self-managed.ts.
 */

/** The Secret's keys: the CA bundle the webhooks trust, the CA's key, the serving chain and key. */
export const CA_BUNDLE = 'ca.crt';
export const CA_KEY = 'ca.key';
export const SERVING_CERT = 'tls.crt';
export const SERVING_KEY = 'tls.key';
const KEYS = [CA_BUNDLE, CA_KEY, SERVING_CERT, SERVING_KEY] as const;

export type CertificateData = Record<(typeof KEYS)[number], string>;

export interface ServingSpec {
  dnsNames: string[];
  ipAddresses: string[];
  caValiditySeconds: number;
  servingValiditySeconds: number;
}

export interface ReadCertificates {
  data: CertificateData;
  /** The CA that signs now: the first certificate of ca.crt. */
  ca: X509Certificate;
  /** CAs after it in ca.crt: replaced, still trusted until they expire. */
  previous: X509Certificate[];
  caKey: KeyObject;
  /** The serving certificate: the first of tls.crt. */
  serving: X509Certificate;
}

export type SecretReading =
  | { state: 'empty' }
  | {
      state: 'corrupt';
      problem: string;
      /** CA certificates of ca.crt that still parse: trusted on until they expire, since replicas may still serve what they signed. */
      cas: X509Certificate[];
    }
  | { state: 'readable'; certificates: ReadCertificates };

export type RenewalPlan = { action: 'keep' } | { action: 'issue'; renewCa: boolean; reason: string };

/** Certificates are backdated this much, so an API server whose clock is a little behind accepts them at once. */
const BACKDATE_MS = 60_000;
/**
 * A certificate that starts later than this from now was made by a clock far ahead (or this
 * one was set back) and is reissued; within it, replicas whose clocks differ a little never
 * take each other's fresh certificates for bad ones.
 */
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Reads a Secret's `data` (base64 values, as the API returns them). Anything levee could not
 * serve with, or could not sign with, is `corrupt` with the reason, never an exception.
 */
export function readCertificateData(data: Record<string, string> | undefined): SecretReading {
  const present = KEYS.filter((key) => (data?.[key] ?? '') !== '');
  if (present.length === 0) return { state: 'empty' };
  const missing = KEYS.filter((key) => !present.includes(key));
  const text = Object.fromEntries(KEYS.map((key) => [key, Buffer.from(data?.[key] ?? '', 'base64').toString('utf8')])) as CertificateData;
  const corrupt = (problem: string): SecretReading => ({ state: 'corrupt', problem, cas: parseableCas(text[CA_BUNDLE]) });
  if (missing.length > 0) return corrupt(`${missing.join(', ')} missing`);
  try {
    const bundle = certificatesOf(text[CA_BUNDLE], CA_BUNDLE);
    const [ca, ...previous] = bundle;
    if (!ca!.ca) return corrupt(`the first certificate of ${CA_BUNDLE} is not a CA`);
    const caKey = privateKeyOf(text[CA_KEY], CA_KEY);
    if (!ca!.checkPrivateKey(caKey)) return corrupt(`${CA_KEY} is not the key of the CA in ${CA_BUNDLE}`);
    const [serving] = certificatesOf(text[SERVING_CERT], SERVING_CERT);
    if (!serving!.checkPrivateKey(privateKeyOf(text[SERVING_KEY], SERVING_KEY))) return corrupt(`${SERVING_KEY} is not the key of the certificate in ${SERVING_CERT}`);
    return { state: 'readable', certificates: { data: text, ca: ca!, previous, caKey, serving: serving! } };
  } catch (err) {
    return corrupt((err as Error).message);
  }
}

function parseableCas(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.flatMap((block) => {
    try {
      const certificate = new X509Certificate(block);
      return certificate.ca ? [certificate] : [];
    } catch {
      return [];
    }
  });
}

function certificatesOf(pem: string, key: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${key} holds no PEM certificate`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new Error(`certificate ${i + 1} of ${key} cannot be parsed: ${(err as Error).message}`);
    }
  });
}

function privateKeyOf(pem: string, key: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new Error(`${key} is not a PEM private key: ${(err as Error).message}`);
  }
}

const expiresAt = (certificate: X509Certificate): number => Date.parse(certificate.validTo);
const startsAt = (certificate: X509Certificate): number => Date.parse(certificate.validFrom);

/**
 * Whether the certificates must be (re)issued now. Each is renewed once less than a third of
 * the validity it is issued with is left (as cert-manager renews by default), so a rotation
 * happens long before anyone could see an expired certificate, and a replica that has not
 * reloaded yet still serves a valid one.
 */
export function planRenewal(reading: SecretReading, spec: ServingSpec, now: Date): RenewalPlan {
  if (reading.state === 'empty') return { action: 'issue', renewCa: true, reason: 'the Secret holds no certificates yet' };
  if (reading.state === 'corrupt') return { action: 'issue', renewCa: true, reason: `the Secret's certificates are unusable (${reading.problem})` };
  const { ca, serving } = reading.certificates;
  const at = now.getTime();
  const within = (certificate: X509Certificate, validitySeconds: number): boolean =>
    startsAt(certificate) > at + CLOCK_SKEW_MS || expiresAt(certificate) - at < (validitySeconds * 1000) / 3;
  if (within(ca, spec.caValiditySeconds)) return { action: 'issue', renewCa: true, reason: `the CA is valid until ${ca.validTo}: renewed a third of its validity ahead` };
  if (!serving.checkIssued(ca) || !serving.verify(ca.publicKey)) return { action: 'issue', renewCa: false, reason: 'the serving certificate is not signed by the current CA' };
  if (within(serving, spec.servingValiditySeconds)) return { action: 'issue', renewCa: false, reason: `the serving certificate is valid until ${serving.validTo}: renewed a third of its validity ahead` };
  const names = namesOf(serving);
  const wanted = wantedNames(spec);
  if (names.join(',') !== wanted.join(',')) return { action: 'issue', renewCa: false, reason: `the serving certificate names ${names.join(', ') || 'nothing'}, not ${wanted.join(', ')}` };
  return { action: 'keep' };
}

/**
 * The serving certificate's subject alternative names as `DNS:<name>` and `IP:<address>`,
 * sorted; addresses in one spelling (OpenSSL writes `::1` as `0:0:0:0:0:0:0:1`).
 */
export function namesOf(certificate: X509Certificate): string[] {
  return (certificate.subjectAltName ?? '')
    .split(', ')
    .filter(Boolean)
    .map((entry) => (entry.startsWith('IP Address:') ? `IP:${canonicalIp(entry.slice('IP Address:'.length))}` : entry))
    .sort();
}

function wantedNames(spec: ServingSpec): string[] {
  return [...spec.dnsNames.map((name) => `DNS:${name}`), ...spec.ipAddresses.map((ip) => `IP:${canonicalIp(ip)}`)].sort();
}

function canonicalIp(ip: string): string {
  try {
    const bytes = ipBytes(ip);
    return bytes.length === 4 ? [...bytes].join('.') : (bytes.toString('hex').match(/.{4}/g) ?? []).join(':');
  } catch {
    return ip;
  }
}

/**
 * New certificates for a plan: a new serving pair, signed by a new CA when the plan says so.
 * A replaced CA stays in the bundle after the new one until it expires, so the API server keeps
 * trusting replicas that still serve a certificate it signed; so does `stillServed`, the CA of
 * the pair the writing replica serves, which an emptied Secret no longer names.
 */
export function issueCertificates(
  reading: SecretReading,
  plan: Extract<RenewalPlan, { action: 'issue' }>,
  spec: ServingSpec,
  now: Date,
  stillServed: X509Certificate[] = [],
): CertificateData {
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const current = reading.state === 'readable' ? reading.certificates : undefined;
  let caPem: string;
  let caKey: KeyObject;
  let bundle: string;
  if (plan.renewCa || !current) {
    const keys = newKeyPair();
    const notAfter = new Date(now.getTime() + spec.caValiditySeconds * 1000);
    caPem = issueCertificate({ commonName: 'levee serving CA', role: 'ca', publicKey: keys.publicKey, selfSigningKey: keys.privateKey, notBefore, notAfter }).pem;
    caKey = keys.privateKey;
    // The CA replaced (or, from a corrupt Secret, whatever CA still parses) stays trusted until it expires.
    const replaced = [...(current ? [current.ca] : reading.state === 'corrupt' ? reading.cas : []), ...stillServed];
    const kept = new Map(replaced.filter((old) => old.ca && expiresAt(old) > now.getTime()).map((old) => [old.fingerprint256, old.toString()]));
    bundle = [caPem, ...kept.values()].join('');
  } else {
    caPem = current.ca.toString();
    caKey = current.caKey;
    bundle = [current.ca, ...current.previous.filter((old) => expiresAt(old) > now.getTime())].map((certificate) => certificate.toString()).join('');
  }
  if (spec.dnsNames.length + spec.ipAddresses.length === 0) throw new Error('the serving certificate needs a DNS name or an IP address');
  const issuer = issuerFrom(new X509Certificate(caPem).raw, caKey);
  const keys = newKeyPair();
  const servingNotAfter = new Date(Math.min(now.getTime() + spec.servingValiditySeconds * 1000, Date.parse(new X509Certificate(caPem).validTo)));
  const serving = issueCertificate({
    commonName: spec.dnsNames[0] ?? spec.ipAddresses[0]!,
    role: 'server',
    publicKey: keys.publicKey,
    issuer,
    notBefore,
    notAfter: servingNotAfter,
    dnsNames: spec.dnsNames,
    ipAddresses: spec.ipAddresses,
  });
  return {
    [CA_BUNDLE]: bundle,
    [CA_KEY]: pkcs8(caKey),
    [SERVING_CERT]: serving.pem + caPem,
    [SERVING_KEY]: pkcs8(keys.privateKey),
  };
}

function newKeyPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

function pkcs8(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}
