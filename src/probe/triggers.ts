import { unwatchFile, watchFile } from 'node:fs';
import type { Logger } from '../logger.js';
import { CONTROL_PLANE_LEASES, type FeedName, type ProbeCache } from './cache.js';
import type { LeaseView, NodeView } from './cache-views.js';

/**
 * The cluster events that call for a run before the schedule does: a node turning NotReady,
 * a control-plane leader Lease not renewed in time, a change to levee's configuration file.
 * Nodes and Leases come from the probe's watch cache (the same watches the probes read), so
 * the triggers cost no request of their own.
 */

export interface TriggerOptions {
  cache: ProbeCache;
  logger: Logger;
  trigger: (reason: string) => void;
  configFile?: string;
  leaseGraceSeconds: number;
}

const LEASE_FEEDS = CONTROL_PLANE_LEASES.map((name) => `lease/${name}` as const);

export function startTriggers(options: TriggerOptions): { stop(): void } {
  const { cache, trigger } = options;
  const deadlines = new Map<string, NodeJS.Timeout>();

  const onNode = (previous: NodeView | undefined, next: NodeView | undefined): void => {
    // A node first seen NotReady is no change; one that was Ready and is not is.
    if (previous?.ready && next && !next.ready) trigger(`node ${next.name} NotReady`);
  };

  const onLease = (name: string, next: LeaseView | undefined): void => {
    clearTimeout(deadlines.get(name));
    if (!next) {
      trigger(`Lease kube-system/${name} deleted`);
      return;
    }
    if (!Number.isFinite(next.renewedAt)) return;
    const due = next.renewedAt + (next.durationSeconds + options.leaseGraceSeconds) * 1000 - Date.now();
    deadlines.set(name, setTimeout(() => trigger(`Lease kube-system/${name} not renewed`), Math.max(1000, due)).unref());
  };

  const unsubscribe = cache.subscribe((change) => {
    if (change.feed === 'nodes') onNode(change.previous as NodeView | undefined, change.next as NodeView | undefined);
    else if ((LEASE_FEEDS as readonly FeedName[]).includes(change.feed)) onLease(change.feed.slice('lease/'.length), change.next as LeaseView | undefined);
  });
  cache.start(['nodes', ...LEASE_FEEDS]);

  const onConfigChange = (): void => trigger('configuration file changed');
  if (options.configFile) watchFile(options.configFile, { interval: 2000, persistent: false }, onConfigChange);

  return {
    stop() {
      unsubscribe();
      for (const timer of deadlines.values()) clearTimeout(timer);
      if (options.configFile) unwatchFile(options.configFile, onConfigChange);
    },
  };
}
