// Where the local cluster lives (.levee/cluster/ under the repository) and the ports it
// listens on (LEVEE_CLUSTER_PORT_BASE shifts them all).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WEBHOOK_CLIENT_NAME } from './admission.mjs';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The ports the cluster listens on. */
export function clusterPorts(env = process.env) {
  const raw = env.LEVEE_CLUSTER_PORT_BASE;
  const base = raw === undefined || raw === '' ? 16000 : Number(raw);
  if (!Number.isInteger(base) || base < 1024 || base + 7800 > 65535) {
    throw new Error(`levee: LEVEE_CLUSTER_PORT_BASE must be a whole number from 1024 to 57735, got ${JSON.stringify(raw)}`);
  }
  return {
    base,
    apiserver: base + 443,
    controllerManager: base + 257,
    scheduler: base + 259,
    kwok: base + 250,
    etcdClient: base + 7790,
    etcdPeer: base + 7800,
  };
}

/** Where everything lives. */
export function clusterPaths(root = repoRoot) {
  const dir = join(root, '.levee', 'cluster');
  return {
    root,
    dir,
    pki: join(dir, 'pki'),
    etcdData: join(dir, 'etcd-data'),
    kubeconfig: join(dir, 'kubeconfig'),
    userKubeconfig: join(dir, 'user.kubeconfig'),
    admissionConfig: join(dir, 'admission-config.yaml'),
    webhookClientKubeconfig: join(dir, 'webhook-client.kubeconfig'),
    componentKubeconfig: (name) => join(dir, `${name}.kubeconfig`),
    pidFile: (name) => join(dir, `${name}.pid`),
    logFile: (name) => join(dir, `${name}.log`),
  };
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
  };
}
