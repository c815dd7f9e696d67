// Where a local cluster lives (its state directory: .levee/cluster/ for `npm start`'s, any
// other for a test's) and the ports it listens on.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WEBHOOK_CLIENT_NAME } from './admission.mjs';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The state directory of `npm start`'s cluster (the developer's). */
export const DEV_CLUSTER_DIR = join(repoRoot, '.levee', 'cluster');

// Each component's port, as an offset from the base. Two layouts whose bases are 5 apart, or a
// multiple of 20 apart (up to 7340), never share a port: no two offsets differ by such a step.
const OFFSETS = {
  apiserver: 443,
  controllerManager: 257,
  scheduler: 259,
  kwok: 250,
  etcdClient: 7790,
  etcdPeer: 7800,
};

const MAX_BASE = 65535 - OFFSETS.etcdPeer;
const validBase = (base) => Number.isInteger(base) && base >= 1024 && base <= MAX_BASE;

/** The ports of a cluster laid out from `base`. */
export function portsFromBase(base) {
  if (!validBase(base)) throw new Error(`levee: a cluster port base must be a whole number from 1024 to ${MAX_BASE}, got ${JSON.stringify(base)}`);
  return { base, ...Object.fromEntries(Object.entries(OFFSETS).map(([name, offset]) => [name, base + offset])) };
}

/** The ports of `npm start`'s cluster: LEVEE_CLUSTER_PORT_BASE (default 16000) shifts them all. */
export function clusterPorts(env = process.env) {
  const raw = env.LEVEE_CLUSTER_PORT_BASE;
  const base = raw === undefined || raw === '' ? 16000 : Number(raw);
  if (!validBase(base)) throw new Error(`levee: LEVEE_CLUSTER_PORT_BASE must be a whole number from 1024 to ${MAX_BASE}, got ${JSON.stringify(raw)}`);
  return portsFromBase(base);
}

/** Everything a cluster keeps in its state directory `dir`. */
export function clusterPathsIn(dir) {
  return {
    dir,
    pki: join(dir, 'pki'),
    etcdData: join(dir, 'etcd-data'),
    kubeconfig: join(dir, 'kubeconfig'),
    userKubeconfig: join(dir, 'user.kubeconfig'),
    admissionConfig: join(dir, 'admission-config.yaml'),
    webhookClientKubeconfig: join(dir, 'webhook-client.kubeconfig'),
    portsFile: join(dir, 'ports.json'),
    componentKubeconfig: (name) => join(dir, `${name}.kubeconfig`),
    pidFile: (name) => join(dir, `${name}.pid`),
    logFile: (name) => join(dir, `${name}.log`),
  };
}

/** The paths of the cluster whose state directory is `dir` (default `npm start`'s). */
export function clusterPaths(dir) {
  return clusterPathsIn(resolve(dir || DEV_CLUSTER_DIR));
}

/** The ports a cluster was started with, as recorded in its state directory, or null. */
export function recordedPorts(paths) {
  try {
    const recorded = JSON.parse(readFileSync(paths.portsFile, 'utf8'));
    const ports = recorded?.ports;
    if (ports && Object.keys(OFFSETS).every((name) => Number.isInteger(ports[name]))) return ports;
  } catch {
    // none recorded
  }
  return null;
}

export function recordPorts(paths, ports) {
  writeFileSync(paths.portsFile, `${JSON.stringify({ ports }, null, 2)}\n`);
}

export function summary(paths, ports) {
  return {
    kubeconfig: paths.kubeconfig,
    userKubeconfig: paths.userKubeconfig,
    dir: paths.dir,
    apiServerUrl: `https://127.0.0.1:${ports.apiserver}`,
    // What levee verifies the API server's webhook calls with (--client-ca, --client-name).
    webhookClientCA: join(paths.pki, 'ca.crt'),
    webhookClientName: WEBHOOK_CLIENT_NAME,
    ports,
  };
}
