/**
 * Container restarts as successive pod lists show them: every rise of a container's restart
 * count between two looks is that many restarts, at the time of the look. A container seen for
 * the first time contributes what its status proves happened within the window: all its
 * restarts when its pod started within the window, otherwise one when its last run ended
 * within it (a lower bound: earlier restarts of that container left no time behind). Kept per
 * container by pod uid, so one ledger can follow pods of several clusters.
 */

export interface ContainerSnapshot {
  name: string;
  restarts: number;
  /** When its previous run ended (lastState.terminated.finishedAt), in ms; NaN when unknown. */
  lastEndedAt: number;
}

export interface PodSnapshot {
  uid: string;
  /** namespace/name */
  pod: string;
  /** The workload that owns the pod, e.g. "Deployment shop/api" (see workloadOf). */
  workload: string;
  node: string;
  /** status.startTime in ms; NaN when unknown. */
  startedAt: number;
  containers: readonly ContainerSnapshot[];
}

export interface RestartRecord {
  at: number;
  workload: string;
  node: string;
  pod: string;
  count: number;
}

interface Seen {
  restarts: number;
  seenAt: number;
}

export class RestartLedger {
  private readonly seen = new Map<string, Seen>();
  private records: RestartRecord[] = [];

  /** Takes one look at a pod. */
  observe(pod: PodSnapshot, now: number, windowMs: number): void {
    const since = now - windowMs;
    for (const container of pod.containers) {
      const key = `${pod.uid}/${container.name}`;
      const previous = this.seen.get(key);
      this.seen.set(key, { restarts: container.restarts, seenAt: now });
      const record = (at: number, count: number): void => {
        if (count > 0) this.records.push({ at, workload: pod.workload, node: pod.node, pod: pod.pod, count });
      };
      if (previous) {
        record(now, container.restarts - previous.restarts);
        continue;
      }
      const endedInWindow = container.lastEndedAt >= since;
      if (pod.startedAt >= since) record(endedInWindow ? Math.min(now, container.lastEndedAt) : now, container.restarts);
      else if (endedInWindow && container.restarts > 0) record(Math.min(now, container.lastEndedAt), 1);
    }
  }

  /** Restarts within the window; older ones, and containers not seen for two windows, are forgotten. */
  recent(now: number, windowMs: number): readonly RestartRecord[] {
    const since = now - windowMs;
    if (this.records.some((entry) => entry.at < since)) this.records = this.records.filter((entry) => entry.at >= since);
    for (const [key, seen] of this.seen) if (seen.seenAt < now - 2 * windowMs) this.seen.delete(key);
    return this.records;
  }
}
