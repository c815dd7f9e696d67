// Certificates for levee's local cluster, made with the openssl CLI (ECDSA P-256: the
// fastest key type to generate, and every Kubernetes component accepts it). Existing
// files are reused, so restarting the cluster keeps its identity; a missing CA means
// everything is issued afresh.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WEBHOOK_CLIENT_NAME } from './admission.mjs';

export const SERVICE_CIDR_FIRST_IP = '10.96.0.1';

const APISERVER_SANS = [
  'IP:127.0.0.1',
  `IP:${SERVICE_CIDR_FIRST_IP}`,
  'DNS:localhost',
  'DNS:kubernetes',
  'DNS:kubernetes.default',
  'DNS:kubernetes.default.svc',
  'DNS:kubernetes.default.svc.cluster.local',
];

// name -> subject and extension section. Client certificates: CN is the user, O the groups.
const CERTS = {
  'kube-apiserver': { subject: '/CN=kube-apiserver', ext: 'server' },
  admin: { subject: '/O=system:masters/CN=levee-admin', ext: 'client' },
  developer: { subject: '/O=developers/CN=developer', ext: 'client' },
  'kube-controller-manager': { subject: '/CN=system:kube-controller-manager', ext: 'client' },
  'kube-scheduler': { subject: '/CN=system:kube-scheduler', ext: 'client' },
  kwok: { subject: '/O=system:masters/CN=kwok-controller', ext: 'client' },
  'front-proxy-client': { subject: '/CN=front-proxy-client', ext: 'client' },
  // What the API server presents to webhooks (admission.mjs).
  'webhook-client': { subject: `/CN=${WEBHOOK_CLIENT_NAME}`, ext: 'client' },
};

const OPENSSL_CONFIG = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = levee
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = ${APISERVER_SANS.join(',')}
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

function openssl(args, cwd) {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (result.error) throw new Error(`levee: cannot run openssl: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`levee: openssl ${args.join(' ')} failed:\n${result.stderr.trim()}`);
  }
}

function newKey(file, cwd) {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file], cwd);
}

/**
 * Makes sure every certificate and key exists under `dir`; returns their paths.
 * @param {string} dir
 */
export function ensurePki(dir) {
  const files = {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
    cert: (name) => join(dir, `${name}.crt`),
    key: (name) => join(dir, `${name}.key`),
  };
  const made = [];

  if (!existsSync(files.caCert) || !existsSync(files.caKey)) {
    if (existsSync(dir)) {
      for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { force: true, recursive: true });
    }
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const config = join(dir, 'openssl.cnf');
  writeFileSync(config, OPENSSL_CONFIG);

  if (!existsSync(files.caCert)) {
    newKey('ca.key', dir);
    openssl(
      ['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=levee-ca', '-config', 'openssl.cnf',
        '-extensions', 'ca', '-days', '3650', '-sha256', '-out', 'ca.crt.tmp'],
      dir,
    );
    // Written last, so an interrupted run starts over rather than keeping a half-made CA.
    openssl(['x509', '-in', 'ca.crt.tmp', '-out', 'ca.crt'], dir);
    rmSync(join(dir, 'ca.crt.tmp'));
    made.push('ca');
  }

  for (const [name, { subject, ext }] of Object.entries(CERTS)) {
    if (existsSync(files.cert(name)) && existsSync(files.key(name))) continue;
    newKey(`${name}.key`, dir);
    openssl(
      ['req', '-x509', '-new', '-key', `${name}.key`, '-CA', 'ca.crt', '-CAkey', 'ca.key',
        '-subj', subject, '-config', 'openssl.cnf', '-extensions', ext, '-days', '3650', '-sha256',
        '-set_serial', `0x${randomBytes(12).toString('hex')}`, '-out', `${name}.crt`],
      dir,
    );
    made.push(name);
  }

  if (!existsSync(files.saKey) || !existsSync(files.saPub)) {
    newKey('sa.key', dir);
    openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
    made.push('service-account');
  }

  return { ...files, made };
}
