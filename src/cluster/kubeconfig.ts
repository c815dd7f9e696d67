import { KubeConfig } from '@kubernetes/client-node';
import { existsSync } from 'node:fs';
import { LeveeError } from '../errors.js';

/** The standard order: --kubeconfig, then KUBECONFIG, then the in-cluster service account. */
export function loadKubeConfig(explicitPath?: string, environmentPath?: string): KubeConfig {
  const kubeconfig = new KubeConfig();
  const path = explicitPath ?? environmentPath;
  if (path) {
    if (!existsSync(path)) throw new LeveeError('KUBECONFIG_MISSING', `kubeconfig ${path} does not exist`);
    kubeconfig.loadFromFile(path);
    return kubeconfig;
  }
  if (existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token')) {
    kubeconfig.loadFromCluster();
    return kubeconfig;
  }
  throw new LeveeError(
    'KUBECONFIG_MISSING',
    'no cluster to talk to: pass --kubeconfig, set KUBECONFIG, or run inside a cluster (for the local cluster: npm run cluster:up)',
  );
}
