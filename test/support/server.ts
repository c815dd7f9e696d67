import assert from 'node:assert/strict';
import type { AdmissionResponse, AdmissionReview } from '../../src/admission/types.js';
import type { ClusterState } from '../../src/cluster/state.js';
import type { EventRecorder } from '../../src/cluster/events.js';
import { buildConfig, type ConfigInput, type LeveeConfig } from '../../src/config.js';
import type { OverrideAuthorizer } from '../../src/engine/overrides.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { serve, type RunningServer } from '../../src/server/serve.js';
import type { ChangeProbe } from '../../src/server/change-probe.js';
import { BUNDLE_PATH } from './bundle.js';
import { clusterWithBackedService } from './cluster.js';
import { call, makeTestCerts, type TestCerts } from './https.js';

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
  /** What tracks the probe run after each platform change (probe-on-change); none by default. */
  changeProbe?: ChangeProbe;
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
    ...(options.changeProbe ? { changeProbe: options.changeProbe } : {}),
  });
  return { ...running, certs, config };
}

/** Sends an AdmissionReview body to /validate and hands back levee's answer. */
export type Judge = (body: unknown) => Promise<AdmissionResponse>;

/**
 * Registers mocha hooks in the calling describe (one set of certificates; every server closed
 * after each test) and returns a starter: each call serves with the given options and judges
 * through real HTTPS /validate.
 */
export function useJudgingServers(): (options: Omit<TestServerOptions, 'certs'>) => Promise<Judge> {
  let certs: TestCerts;
  const servers: TestServer[] = [];
  before(async () => {
    certs = await makeTestCerts();
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });
  return async (options) => {
    const server = await startTestServer({ ...options, certs });
    servers.push(server);
    return async (body) => {
      const answer = await call(server.port, certs.ca, { path: '/validate', body: JSON.stringify(body) });
      assert.equal(answer.status, 200, answer.text);
      return (answer.json() as AdmissionReview).response!;
    };
  };
}

export const refusedFor = (response: AdmissionResponse, rule: RegExp): void => {
  assert.equal(response.allowed, false, `expected a refusal, got ${JSON.stringify(response)}`);
  assert.match(response.status?.message ?? '', rule);
};
export const allowed = (response: AdmissionResponse): void => assert.equal(response.allowed, true, `expected allowed, got ${JSON.stringify(response.status)}`);
