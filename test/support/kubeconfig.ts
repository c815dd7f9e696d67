import { KubeConfig } from '@kubernetes/client-node';

/** A kubeconfig for a test server at `server` (no TLS verification), with an optional bearer token. */
export function kubeconfigFor(server: string, token?: string): KubeConfig {
  const kubeconfig = new KubeConfig();
  kubeconfig.loadFromOptions({
    clusters: [{ name: 'test', server, skipTLSVerify: true }],
    users: [{ name: 'test', ...(token ? { token } : {}) }],
    contexts: [{ name: 'test', cluster: 'test', user: 'test' }],
    currentContext: 'test',
  });
  return kubeconfig;
}
