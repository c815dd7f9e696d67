import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../logger.js';
import { KubeApi } from '../probe/kube-api.js';
import { VERDICTS, verdictAgeSeconds, type CurrentVerdict, type VerdictDocument } from '../probe-verdict.js';
import { readProbeVerdict } from '../probe/publisher.js';
import { documentOfStatus, PROBE_VERDICT_NAME } from '../probe-verdict-status.js';

/**
 * The verdict every replica of `serve` gates on. Each replica has two readings of the
 * cluster's health: the leader's ProbeVerdict `cluster` (published by the elected probe, the
 * same object for every replica) and the verdict file of the probe beside it. The gate takes
 * the worse of the two that are fresh, so a rollout the leader's verdict refuses is refused by
 * every replica, and a replica whose own probe sees a fault the leader cannot publish (writes
 * to the API server failing) still refuses it. A stale reading counts for nothing: a dead
 * leader's last verdict does not hold the gate, a dead local probe's neither.
 */

export interface ClusterVerdictOptions {
  kubeconfig: KubeConfig;
  logger: Logger;
  /** How often the ProbeVerdict is read (one GET of one object). */
  intervalMs?: number;
  requestTimeoutMs?: number;
}

export interface ClusterVerdictFollower {
  current(): VerdictDocument | undefined;
  stop(): void;
}

/**
 * Reads the ProbeVerdict `cluster` now and every `intervalMs`. A failed read keeps the last
 * good document (its growing age is what retires it); a deleted object forgets it.
 */
export function followClusterVerdict(options: ClusterVerdictOptions): ClusterVerdictFollower {
  const { logger } = options;
  const intervalMs = options.intervalMs ?? 2000;
  const api = new KubeApi(options.kubeconfig, options.requestTimeoutMs ?? 2000);
  let document: VerdictDocument | undefined;
  let lastProblem = '';
  let timer: NodeJS.Timeout | undefined;
  const abort = new AbortController();

  const report = (problem: string): void => {
    if (problem && problem !== lastProblem) logger.warn({ probeVerdict: PROBE_VERDICT_NAME, err: problem }, 'leader\'s ProbeVerdict not read; keeping the last one');
    lastProblem = problem;
  };
  const read = async (): Promise<void> => {
    try {
      const object = await readProbeVerdict(api, abort.signal);
      // Deleted: forget the last one. No status yet: nobody has published; not a fault.
      if (!object) document = undefined;
      else if (object.status?.verdict) document = documentOfStatus(object);
      report('');
    } catch (err) {
      if (!abort.signal.aborted) report((err as Error).message);
    }
  };
  const tick = (): void => {
    void read().finally(() => {
      if (!abort.signal.aborted) timer = setTimeout(tick, intervalMs).unref();
    });
  };
  tick();
  return {
    current: () => document,
    stop: () => {
      clearTimeout(timer);
      abort.abort();
    },
  };
}

const SEVERITY: Record<VerdictDocument['verdict'], number> = Object.fromEntries(VERDICTS.map((verdict, index) => [verdict, index])) as Record<VerdictDocument['verdict'], number>;

/**
 * The reading the gate decides on: of the fresh ones (no older than `maxAgeSeconds`), the
 * worse, and of two equally bad the newer; with none fresh, the local file's document (its age
 * makes the gate say Unknown, naming the file), or the leader's when there is no file.
 */
export function chooseVerdict(
  readings: { cluster: VerdictDocument | undefined; file: VerdictDocument | undefined; filePath: string },
  now: Date,
  maxAgeSeconds: number,
): CurrentVerdict {
  const fromCluster = (document: VerdictDocument): CurrentVerdict => ({
    document,
    file: `ProbeVerdict ${PROBE_VERDICT_NAME} (published by ${document.reporter || 'the probe leader'})`,
  });
  const fromFile: CurrentVerdict = { document: readings.file, file: readings.filePath };
  const fresh = (document: VerdictDocument | undefined): document is VerdictDocument => document !== undefined && verdictAgeSeconds(document, now) <= maxAgeSeconds;
  const { cluster, file } = readings;
  if (fresh(cluster) && fresh(file)) {
    const worse = SEVERITY[cluster.verdict] - SEVERITY[file.verdict] || Date.parse(cluster.generatedAt) - Date.parse(file.generatedAt);
    return worse > 0 ? fromCluster(cluster) : fromFile;
  }
  if (fresh(cluster)) return fromCluster(cluster);
  if (fresh(file) || file || !cluster) return fromFile;
  return fromCluster(cluster);
}
