import { createConfiguration, ServerConfiguration, type Configuration, type KubeConfig } from '@kubernetes/client-node';
import { LeveeError } from '../errors.js';

/**
 * A generated @kubernetes/client-node API client whose every call has a deadline. The client
 * waits for ever otherwise, and a call to an API server that stopped answering (a black-holed
 * path) would hang its caller with it: an admission review waiting on a SubjectAccessReview,
 * the version poller, Events piling up in flight.
 */
export function apiClientWithDeadline<T>(kubeconfig: KubeConfig, apiClientType: new (configuration: Configuration) => T, timeoutMs: number): T {
  const cluster = kubeconfig.getCurrentCluster();
  if (!cluster) throw new LeveeError('KUBECONFIG_MISSING', 'the kubeconfig has no current cluster');
  return new apiClientType(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kubeconfig },
      promiseMiddleware: [
        {
          pre: async (context) => {
            context.setSignal(AbortSignal.timeout(timeoutMs));
            return context;
          },
          post: async (context) => context,
        },
      ],
    }),
  );
}
