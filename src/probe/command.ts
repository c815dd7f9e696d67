import { buildConfig, configFromEnvironment, readConfigFile, type ConfigInput } from '../config.js';
import { createLogger } from '../logger.js';
import { LeveeError } from '../errors.js';
import { closeOnSignal } from '../shutdown.js';
import { probeOnce, startProbe } from './run.js';

export interface ProbeFlags {
  config?: string;
  kubeconfig?: string;
  once?: boolean;
  interval?: number;
  verdictFile?: string;
  httpPort?: number;
  tlsCert?: string;
  logLevel?: string;
  /** Fleet mode: the member clusters' kubeconfig contexts... */
  context?: string[];
  /** ...and the hub's, where their verdicts are published. */
  hubContext?: string;
}

/** `--context a --context b --hub-context a`: the fleet, as `probe.fleet` would give it (flags win over the file). */
function fleetFlags(flags: ProbeFlags): Record<string, unknown> {
  if (!flags.context?.length && !flags.hubContext) return {};
  if (!flags.context?.length || !flags.hubContext) throw new LeveeError('CONFIG_INVALID', 'a fleet needs both --context (one per member cluster) and --hub-context (where their verdicts go)');
  return { probe: { fleet: { hubContext: flags.hubContext, members: flags.context.map((context) => ({ context })) } } };
}

/**
 * `levee probe`: the sidecar loop until SIGTERM/SIGINT, or with `--once` a single run whose
 * verdict is printed as JSON on stdout; exit code 1 when it is Unhealthy.
 */
export async function runProbeCommand(flags: ProbeFlags): Promise<number> {
  const environment = configFromEnvironment();
  const file = flags.config ?? environment.configFile;
  const kubeconfig = flags.kubeconfig ?? environment.kubeconfig;
  const flagLayer: ConfigInput = {
    probe: {
      ...(flags.interval !== undefined ? { intervalSeconds: flags.interval } : {}),
      ...(flags.verdictFile ? { verdictFile: flags.verdictFile } : {}),
      ...(flags.httpPort !== undefined ? { httpPort: flags.httpPort } : {}),
    },
    ...(flags.tlsCert ? { server: { tlsCertFile: flags.tlsCert } } : {}),
    ...(flags.logLevel ? { logLevel: flags.logLevel as 'info' } : {}),
    ...(kubeconfig ? { kubeconfig } : {}),
  };
  const config = buildConfig(file ? readConfigFile(file) : {}, flagLayer, fleetFlags(flags));
  const fleet = config.probe.fleet;

  if (flags.once && fleet) throw new LeveeError('CONFIG_INVALID', 'levee probe --once probes one cluster: leave out --context/--hub-context (and probe.fleet), or run it once per context with --kubeconfig');
  if (flags.once) {
    // stdout carries the verdict alone, so that it can be piped to jq.
    const logger = createLogger(config.logLevel, process.stderr);
    const document = await probeOnce({ config, logger });
    process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
    return document.verdict === 'Unhealthy' ? 1 : 0;
  }

  const logger = createLogger(config.logLevel);
  if (fleet) {
    const { startFleet } = await import('./fleet/run.js');
    await closeOnSignal(await startFleet({ config, fleet, logger }), logger);
    return 0;
  }
  await closeOnSignal(await startProbe({ config, logger, ...(file ? { configFile: file } : {}) }), logger);
  return 0;
}
