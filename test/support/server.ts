import type { ClusterState } from '../../src/cluster/state.js';
import type { EventRecorder } from '../../src/cluster/events.js';
import { buildConfig, type ConfigInput, type LeveeConfig } from '../../src/config.js';
import type { OverrideAuthorizer } from '../../src/engine/overrides.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { serve, type RunningServer } from '../../src/server/serve.js';
import { BUNDLE_PATH } from './bundle.js';
import { clusterWithBackedService } from './cluster.js';
import { makeTestCerts, type TestCerts } from './https.js';

export interface TestServerOptions {
  /** Layered over the test defaults: 127.0.0.1, a free port, fresh certificates, the compiled bundle, no logs. */
  config?: ConfigInput;
  logger?: Logger;
  /** The caches to judge from (default: a Deployment `web` behind its Service), or `informers` to fill them from `config.kubeconfig`. */
  cluster?: ClusterState | 'informers';
  events?: EventRecorder;
  authorizer?: OverrideAuthorizer;
  /** Certificates to serve with; new ones are made when absent. */
  certs?: TestCerts;
}

export interface TestServer extends RunningServer {
  certs: TestCerts;
  config: LeveeConfig;
}

/** `levee serve` over real HTTPS on a free loopback port, as the server tests use it. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const certs = options.certs ?? (await makeTestCerts());
  const config = buildConfig(
    {
      server: { port: 0, host: '127.0.0.1', tlsCertFile: certs.certFile, tlsKeyFile: certs.keyFile },
      bundlePath: BUNDLE_PATH,
      logLevel: 'silent',
    },
    options.config ?? {},
  );
  const running = await serve({
    config,
    logger: options.logger ?? createLogger('silent'),
    ...(options.cluster === 'informers' ? {} : { cluster: options.cluster ?? clusterWithBackedService() }),
    ...(options.events ? { events: options.events } : {}),
    ...(options.authorizer ? { authorizer: options.authorizer } : {}),
  });
  return { ...running, certs, config };
}
