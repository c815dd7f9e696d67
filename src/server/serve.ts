import type { KubeConfig } from '@kubernetes/client-node';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ClusterState } from '../cluster/state.js';
import { kubeEventRecorder, noEvents, type EventRecorder } from '../cluster/events.js';
import { offlineAuthorizer, subjectAccessReviewAuthorizer } from '../cluster/authorizer.js';
import { startInformers } from '../cluster/informers.js';
import type { OverrideAuthorizer } from '../engine/overrides.js';
import { loadKubeConfig } from '../cluster/kubeconfig.js';
import { followVerdictFile } from '../probe/verdict-file.js';
import { chooseVerdict, followClusterVerdict, type ClusterVerdictFollower } from './cluster-verdict.js';
import { clusterOptionsFrom } from '../cluster/options.js';
import type { LeveeConfig } from '../config.js';
import { readBundle } from '../engine/bundle.js';
import { PolicyEvaluator } from '../engine/evaluator.js';
import type { Logger } from '../logger.js';
import { createHandler, type AppDeps } from './app.js';
import { ChangeProbe, probeRunRequester } from './change-probe.js';
import { watchBundle } from './bundle-reload.js';
import { Metrics } from './metrics.js';
import { logStaleness } from './staleness.js';
import { servingCertificate } from './serving-certificate.js';
import { certificateNotAfter, tlsOptions, type KeyPair } from './tls.js';

export interface RunningServer {
  server: Server;
  port: number;
  cluster: ClusterState;
  close(): Promise<void>;
}

export interface ServeOptions {
  config: LeveeConfig;
  logger: Logger;
  /** Tests and `audit` pass a ready-made state; otherwise informers fill one from the cluster. */
  cluster?: ClusterState;
  events?: EventRecorder;
  authorizer?: OverrideAuthorizer;
  now?: () => Date;
  /** Tracks the probe run after each platform change; by default one asking the probe sidecar, when serve watches a cluster. */
  changeProbe?: ChangeProbe;
}

/** Starts `levee serve`: bundle and TLS first (fail fast), then caches, then the listener. */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const { config, logger } = options;
  const bundle = readBundle(config.bundlePath);
  const evaluator = await PolicyEvaluator.load(bundle, { config: { policies: config.policies } });
  let cluster = options.cluster;
  let events = options.events ?? noEvents;
  let authorizer = options.authorizer ?? offlineAuthorizer;
  let leaderVerdict: ClusterVerdictFollower | undefined;
  let stopInformers = (): void => undefined;
  let kubeconfig: KubeConfig | undefined;
  if (!cluster) {
    kubeconfig = loadKubeConfig(config.kubeconfig);
    cluster = new ClusterState(clusterOptionsFrom(config));
  }
  const certificate = await servingCertificate(config, logger, () => kubeconfig ?? loadKubeConfig(config.kubeconfig));
  const keyPair = certificate.initial;
  const state = cluster;
  const metrics = new Metrics(
    () => state.stats(),
    () => state.freshness.ages(),
    () => ({ pending: state.recentDecisions.size, evicted: state.recentDecisions.evicted }),
  );
  if (kubeconfig) {
    const timeoutMs = config.kubeClient.requestTimeoutMs;
    stopInformers = startInformers(kubeconfig, state, logger, {
      timing: config.kubeClient,
      requestTimeoutMs: timeoutMs,
      metrics: { restarted: (cache, reason) => metrics.watchRestarts.inc({ cache, reason }) },
    }).stop;
    if (!options.events) events = kubeEventRecorder(kubeconfig, logger, (why) => metrics.eventsDropped.inc({ why }), timeoutMs);
    if (!options.authorizer) authorizer = subjectAccessReviewAuthorizer(kubeconfig);
    // Every replica gates on the elected probe's published verdict too, not only on its own probe's.
    if (config.probe.publish) leaderVerdict = followClusterVerdict({ kubeconfig, logger, requestTimeoutMs: timeoutMs });
  }

  // The probe's first verdict comes after its first run: a missing file is worth a warning
  // only once a verdict would be stale anyway.
  const verdicts = followVerdictFile(config.probe.verdictFile, logger, { overdueMs: config.policies['probe-gate'].maxVerdictAgeSeconds * 1000 });
  const now = options.now ?? (() => new Date());
  const currentVerdict = leaderVerdict
    ? () => chooseVerdict({ cluster: leaderVerdict.current(), file: verdicts.current().document, filePath: config.probe.verdictFile }, now(), config.policies['probe-gate'].maxVerdictAgeSeconds)
    : verdicts.current;
  metrics.bundleInfo.set({ digest: bundle.digest, path: bundle.path }, 1);
  const recordCertificate = (pair: KeyPair): void => {
    try {
      metrics.certificateExpiry.set(certificateNotAfter(pair.cert));
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'cannot read the serving certificate\'s expiry; levee_serving_certificate_expiry_timestamp_seconds not updated');
    }
  };
  recordCertificate(keyPair);
  const holdSeconds = config.policies['probe-on-change'].maxHoldSeconds;
  const changeProbe =
    options.changeProbe ??
    (kubeconfig
      ? new ChangeProbe({ requestRun: probeRunRequester(config.probe.httpHost, config.probe.httpPort, holdSeconds * 1000), maxHoldSeconds: holdSeconds, logger, now })
      : undefined);
  // One deps object for the app's lifetime: a reloaded bundle swaps `evaluator` in place.
  const deps: AppDeps = {
    evaluator,
    cluster,
    config,
    logger,
    metrics,
    events,
    authorizer,
    now,
    verdict: currentVerdict,
    ...(changeProbe ? { changeProbe, changeRun: () => changeProbe.view() } : {}),
    bodyLimitBytes: config.server.bodyLimitBytes,
  };
  const handler = createHandler(deps);

  // Slow clients cannot hold a socket open with a trickle of headers or body; expired
  // connections are looked for often enough that the header timeout holds to within a quarter.
  const headersTimeout = config.server.headersTimeoutMs;
  const connectionsCheckingInterval = Math.min(30_000, Math.max(100, Math.floor(headersTimeout / 4)));
  const server = createServer({ ...tlsOptions(keyPair), headersTimeout, connectionsCheckingInterval }, handler);
  server.keepAliveTimeout = config.server.keepAliveTimeoutMs;
  server.headersTimeout = headersTimeout;
  // The whole request within the window (never shorter than the headers' own timeout).
  server.requestTimeout = Math.max(config.server.requestTimeoutMs, headersTimeout);
  server.maxConnections = config.server.maxConnections;
  server.on('connection', () => metrics.connections.inc({ stage: 'accepted' }));
  server.on('secureConnection', () => metrics.connections.inc({ stage: 'tls' }));
  server.on('clientError', (err, socket) => {
    logger.debug({ err: err.message }, 'client connection error');
    socket.destroy();
  });
  const stopWatchingTls = certificate.follow(server, recordCertificate);
  const stopWatchingBundle = watchBundle({
    path: config.bundlePath,
    current: bundle,
    data: { config: { policies: config.policies } },
    logger,
    onLoaded: (next, nextBundle) => {
      deps.evaluator = next;
      metrics.bundleInfo.reset();
      metrics.bundleInfo.set({ digest: nextBundle.digest, path: nextBundle.path }, 1);
    },
  });
  const stopStalenessLog = logStaleness(cluster.freshness, config.server.staleAfterSeconds, logger);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.server.port, config.server.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, bundle: bundle.digest, builtins: evaluator.builtins, clientCA: config.server.clientCAFile ?? 'none: any client may send reviews' }, 'levee serving');
  return {
    server,
    port,
    cluster,
    close: async () => {
      stopWatchingTls();
      stopWatchingBundle();
      stopStalenessLog();
      verdicts.stop();
      leaderVerdict?.stop();
      changeProbe?.stop();
      stopInformers();
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
