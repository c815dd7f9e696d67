import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { loadKubeConfig } from '../cluster/kubeconfig.js';
import type { LeveeConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { ProbeCache } from './cache.js';
import { startProbeEndpoint } from './http.js';
import { KubeApi } from './kube-api.js';
import { LeaderElector } from './leader.js';
import { ProbeLoop } from './loop.js';
import { ProbeMetrics } from './metrics.js';
import { ReportSchedule } from '../reports/schedule.js';
import { ensureNamespace } from './probes/support.js';
import { VerdictPublisher } from './publisher.js';
import { probesFor } from './registry.js';
import { startTriggers } from './triggers.js';
import type { VerdictDocument } from '../probe-verdict.js';
import { writeVerdictFile } from './verdict-file.js';

export interface ProbeOptions {
  config: LeveeConfig;
  logger: Logger;
  /** Watched: a change triggers a run. */
  configFile?: string;
}

export interface RunningProbe {
  loop: ProbeLoop;
  elector: LeaderElector;
  port: number;
  identity: string;
  close(): Promise<void>;
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

function inPod(): boolean {
  return existsSync(SERVICE_ACCOUNT_TOKEN);
}

/** `levee probe --once`: every probe once, no history (a single failure counts), nothing written or published. */
export async function probeOnce(options: ProbeOptions): Promise<VerdictDocument> {
  const { config, logger } = options;
  const kubeconfig = loadKubeConfig(config.kubeconfig);
  const api = new KubeApi(kubeconfig, config.probe.requestTimeoutMs);
  const cache = new ProbeCache({ kubeconfig, timing: config.kubeClient, logger });
  const loop = new ProbeLoop({
    config,
    api,
    cache,
    probes: probesFor(config),
    logger,
    identity: `${hostname()}-${process.pid}-once`,
    isLeader: () => true,
    inCluster: inPod(),
    hysteresis: { failuresToUnhealthy: 1, successesToHealthy: 1 },
  });
  try {
    return await loop.execute(['once']);
  } finally {
    cache.stop();
  }
}

/**
 * `levee probe`: the sidecar. Elects a leader, runs the loop on its schedule and on triggers,
 * writes every verdict to the verdict file for `serve`, and (as leader) publishes it.
 */
export async function startProbe(options: ProbeOptions): Promise<RunningProbe> {
  const { config, logger } = options;
  const kubeconfig = loadKubeConfig(config.kubeconfig);
  const api = new KubeApi(kubeconfig, config.probe.requestTimeoutMs);
  const inCluster = inPod();
  const identity = `${hostname()}-${process.pid}`;
  const metrics = new ProbeMetrics();
  api.countRequests((verb, caller) => metrics.countRequest(verb, caller));
  const cache = new ProbeCache({ kubeconfig, timing: config.kubeClient, logger, onRequest: (verb) => metrics.countRequest(verb, 'cache') });
  const startedAt = new Date();

  if (!inCluster) {
    // A local cluster has no install step that makes levee's namespace; the Lease lives there.
    await ensureNamespace(api, config.leveeNamespace).catch((err: unknown) =>
      logger.warn({ namespace: config.leveeNamespace, err: (err as Error).message }, 'could not make sure levee namespace exists'),
    );
  }

  let loop: ProbeLoop | undefined;
  const elector = new LeaderElector({
    api: api.as('leader-election'),
    namespace: config.leveeNamespace,
    name: config.probe.lease.name,
    identity,
    leaseDurationSeconds: config.probe.lease.durationSeconds,
    logger,
    onChange: (leader) => {
      metrics.setLeader(leader);
      if (leader) void loop?.trigger('became leader').catch(() => undefined);
    },
  });
  const publisher = config.probe.publish ? new VerdictPublisher(api.as('publish'), logger) : undefined;
  loop = new ProbeLoop({
    config,
    api,
    cache,
    probes: probesFor(config),
    logger,
    identity,
    isLeader: () => elector.isLeader(),
    inCluster,
    metrics,
    onVerdict: async (document) => {
      writeVerdictFile(config.probe.verdictFile, document);
      if (publisher && document.leader) {
        await publisher.publish(document).catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'ProbeVerdict not published'));
      }
    },
  });

  const endpoint = await startProbeEndpoint({
    host: config.probe.httpHost,
    port: config.probe.httpPort,
    loop,
    metrics,
    logger,
    maxRunAgeSeconds: config.policies['probe-gate'].maxVerdictAgeSeconds,
    startedAt,
  });
  const triggers = startTriggers({
    cache,
    logger,
    trigger: (reason) => void loop.trigger(reason).catch(() => undefined),
    leaseGraceSeconds: config.probe.thresholds.leaseGraceSeconds,
    ...(options.configFile ? { configFile: options.configFile } : {}),
  });

  // Know whether we lead before the first run, so leader-only probes run in it.
  await elector.tryAcquireOrRenew().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'first leader election attempt failed'));
  elector.start();
  loop.start();
  // The leader's live audit, written as openreports.io Reports (Policy Reporter reads them).
  const reports = config.reports.enabled ? new ReportSchedule({ config, logger, api: api.as('reports'), isLeader: () => elector.isLeader() }) : undefined;
  reports?.start();
  logger.info({ identity, verdictFile: config.probe.verdictFile, intervalSeconds: config.probe.intervalSeconds, port: endpoint.port }, 'levee probe running');

  return {
    loop,
    elector,
    port: endpoint.port,
    identity,
    close: async () => {
      reports?.stop();
      triggers.stop();
      await loop.stop();
      cache.stop();
      await endpoint.close();
      await elector.stop();
    },
  };
}
