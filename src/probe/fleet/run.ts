import { KubeConfig } from '@kubernetes/client-node';
import { hostname } from 'node:os';
import { loadKubeConfig } from '../../cluster/kubeconfig.js';
import type { LeveeConfig } from '../../config.js';
import { LeveeError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { ProbeCache } from '../cache.js';
import { KubeApi } from '../kube-api.js';
import { LeaderElector } from '../leader.js';
import { ProbeLoop } from '../loop.js';
import { VerdictPublisher } from '../publisher.js';
import { probesFor } from '../registry.js';
import { startTriggers } from '../triggers.js';
import { memberStatus } from './hub-status.js';
import { fleetMembers, type FleetMember } from './members.js';
import { Reachability } from './reachability.js';
import type { FleetSettings } from './settings.js';

/**
 * `levee probe` over a fleet: one probe loop per member cluster (its kubeconfig context),
 * each as the single-cluster probe runs it (own schedules, triggers, hysteresis), and the
 * verdict of each written into the hub cluster as ProbeVerdict `<member>`, labelled
 * `levee.dev/fleet-member`. Nothing is written into the members but the probes' own test
 * objects. A member that cannot be reached is Unknown in the hub; the others go on. One fleet
 * probe publishes at a time: the holder of the hub's Lease `probe.fleet.leaseName`.
 */

export const FLEET_MEMBER_LABEL = 'levee.dev/fleet-member';
export const CONTEXT_ANNOTATION = 'levee.dev/kubeconfig-context';

export interface FleetMemberProbe {
  member: FleetMember;
  /** Undefined when the member's context could not be used at all. */
  loop: ProbeLoop | undefined;
  reachability: Reachability;
}

export interface RunningFleet {
  members: FleetMemberProbe[];
  elector: LeaderElector;
  identity: string;
  close(): Promise<void>;
}

/** The kubeconfig with `context` as its current context; an error naming the context when it is not there. */
export function contextKubeconfig(path: string | undefined, context: string): KubeConfig {
  const kubeconfig = loadKubeConfig(path);
  if (!kubeconfig.getContextObject(context)) {
    const known = kubeconfig.getContexts().map((candidate) => candidate.name);
    throw new LeveeError('KUBECONFIG_MISSING', `kubeconfig has no context ${JSON.stringify(context)} (it has: ${known.join(', ') || 'none'})`);
  }
  kubeconfig.setCurrentContext(context);
  if (!kubeconfig.getCurrentCluster()) throw new LeveeError('KUBECONFIG_MISSING', `kubeconfig context ${JSON.stringify(context)} names no cluster the kubeconfig defines`);
  return kubeconfig;
}

export async function startFleet(options: { config: LeveeConfig; fleet: FleetSettings; logger: Logger }): Promise<RunningFleet> {
  const { config, fleet, logger } = options;
  const members = fleetMembers(fleet.members);
  const hubApi = new KubeApi(contextKubeconfig(config.kubeconfig, fleet.hubContext), config.probe.requestTimeoutMs);
  const identity = `${hostname()}-${process.pid}`;
  // The fleet probe writes only into the hub: no member's own `cluster` verdict is read or written.
  const memberConfig: LeveeConfig = { ...config, probe: { ...config.probe, publish: false } };
  const probes: FleetMemberProbe[] = [];
  const publishers = new Map<string, () => Promise<void>>();

  const elector = new LeaderElector({
    api: hubApi.as('leader-election'),
    namespace: config.leveeNamespace,
    name: fleet.leaseName,
    identity,
    leaseDurationSeconds: config.probe.lease.durationSeconds,
    logger,
    onChange: (leader) => {
      if (leader) for (const publish of publishers.values()) void publish();
    },
  });

  const stops: Array<() => Promise<void> | void> = [];
  for (const member of members) {
    const memberLogger = logger.child({ cluster: member.name });
    const reachability = new Reachability(fleet.unreachableAfterSeconds);
    const publisher = new VerdictPublisher(hubApi.as('publish'), memberLogger, {
      name: member.name,
      labels: { [FLEET_MEMBER_LABEL]: member.name },
      annotations: { [CONTEXT_ANNOTATION]: member.context },
      // An Event about a cluster-scoped object must live in `default` (the API server refuses it elsewhere).
      eventNamespace: 'default',
      subject: `fleet member ${member.name} verdict`,
    });
    let loop: ProbeLoop | undefined;
    // One write at a time per member, in order; the latest state is what gets written.
    let writing: Promise<void> = Promise.resolve();
    const publish = (): Promise<void> => {
      writing = writing.then(async () => {
        if (!elector.isLeader()) return;
        const written = memberStatus(member, loop?.latest, reachability.state, identity, new Date());
        if (!written) return;
        await publisher.publishStatus(written.status, written.summary).catch((err: unknown) => memberLogger.warn({ err: (err as Error).message }, 'fleet member verdict not published to the hub'));
      });
      return writing;
    };
    publishers.set(member.name, publish);

    let kubeconfig: KubeConfig;
    try {
      kubeconfig = contextKubeconfig(config.kubeconfig, member.context);
    } catch (err) {
      memberLogger.error({ context: member.context, err: (err as Error).message }, 'fleet member cannot be probed');
      reachability.fail((err as Error).message);
      // Said again every interval, so the hub shows it even after another fleet probe wrote over it.
      const timer = setInterval(() => void publish(), config.probe.intervalSeconds * 1000);
      timer.unref();
      stops.push(() => clearInterval(timer));
      probes.push({ member, loop: undefined, reachability });
      continue;
    }
    const api = new KubeApi(kubeconfig, config.probe.requestTimeoutMs);
    api.observeAnswers((answered, error) => reachability.record(answered, error));
    const cache = new ProbeCache({ kubeconfig, timing: config.kubeClient, logger: memberLogger });
    const memberLoop = new ProbeLoop({
      config: memberConfig,
      api,
      cache,
      probes: probesFor(memberConfig),
      logger: memberLogger,
      identity,
      isLeader: () => elector.isLeader(),
      // The fleet probe runs beside none of its members' pods: in-cluster-only probes (DNS) skip.
      inCluster: false,
      onVerdict: () => publish(),
    });
    loop = memberLoop;
    const triggers = startTriggers({
      cache,
      logger: memberLogger,
      trigger: (reason) => void memberLoop.trigger(reason).catch(() => undefined),
      leaseGraceSeconds: config.probe.thresholds.leaseGraceSeconds,
    });
    stops.push(async () => {
      triggers.stop();
      await memberLoop.stop();
      cache.stop();
    });
    probes.push({ member, loop: memberLoop, reachability });
  }

  await elector.tryAcquireOrRenew().catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'first fleet leader election attempt failed'));
  elector.start();
  for (const probe of probes) {
    probe.loop?.start();
    if (!probe.loop) void publishers.get(probe.member.name)?.();
  }
  logger.info({ identity, hub: fleet.hubContext, members: members.map((member) => `${member.name}=${member.context}`) }, 'levee probe watching a fleet');

  return {
    members: probes,
    elector,
    identity,
    close: async () => {
      await Promise.all(stops.map((stop) => stop()));
      await elector.stop();
    },
  };
}
