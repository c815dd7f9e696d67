import type { KubeConfig } from '@kubernetes/client-node';
import { unwatchFile, watchFile } from 'node:fs';
import { ListWatch, type WatchTiming } from '../kube/list-watch.js';
import type { KubeObject } from '../kube/types.js';
import type { Logger } from '../logger.js';

/**
 * The cluster events that call for a run before the schedule does: a node turning NotReady,
 * a control-plane leader Lease not renewed in time, a change to levee's configuration file.
 */

export interface TriggerOptions {
  kubeconfig: KubeConfig;
  logger: Logger;
  trigger: (reason: string) => void;
  configFile?: string;
  leaseGraceSeconds: number;
  /** Watches go through the shared list-watch loop (src/kube/list-watch.ts) and its silence watchdog. */
  timing?: Partial<WatchTiming>;
}

const WATCHED_LEASES = new Set(['kube-controller-manager', 'kube-scheduler']);

interface WatchedObject {
  metadata?: { name?: string };
  spec?: { renewTime?: string | null; leaseDurationSeconds?: number };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

export function startTriggers(options: TriggerOptions): { stop(): void } {
  const { logger, trigger } = options;
  const watches: ListWatch[] = [];

  const follow = (path: string, apiVersion: string, kind: string, onEvent: (type: 'UPSERT' | 'DELETED', object: WatchedObject) => void, fieldSelector?: string): void => {
    const watch = new ListWatch({
      kubeconfig: options.kubeconfig,
      path,
      ...(fieldSelector ? { fieldSelector } : {}),
      apiVersion,
      kind,
      ...(options.timing ? { timing: options.timing } : {}),
      handlers: {
        upsert: (object: KubeObject) => onEvent('UPSERT', object as WatchedObject),
        remove: (object: KubeObject) => onEvent('DELETED', object as WatchedObject),
        broken: (err, _since, reason) => logger.debug({ path, reason, err: err.message }, 'trigger watch ended; relisting'),
      },
    });
    watches.push(watch);
    watch.start();
  };

  const ready = new Map<string, boolean>();
  follow('/api/v1/nodes', 'v1', 'Node', (type, node) => {
    const name = node.metadata?.name ?? '';
    if (type === 'DELETED') {
      ready.delete(name);
      return;
    }
    const isReady = (node.status?.conditions ?? []).some((condition) => condition.type === 'Ready' && condition.status === 'True');
    if (ready.get(name) === true && !isReady) trigger(`node ${name} NotReady`);
    ready.set(name, isReady);
  });

  const deadlines = new Map<string, NodeJS.Timeout>();
  // One list-watch per Lease, selecting it by name: levee may read these two Leases and no other.
  for (const watched of WATCHED_LEASES) {
    follow('/apis/coordination.k8s.io/v1/namespaces/kube-system/leases', 'coordination.k8s.io/v1', 'Lease', (type, lease) => onLease(type, lease), `metadata.name=${watched}`);
  }
  function onLease(type: 'UPSERT' | 'DELETED', lease: WatchedObject): void {
    const name = lease.metadata?.name ?? '';
    if (!WATCHED_LEASES.has(name)) return;
    clearTimeout(deadlines.get(name));
    if (type === 'DELETED') {
      trigger(`Lease kube-system/${name} deleted`);
      return;
    }
    const renewed = Date.parse(lease.spec?.renewTime ?? '');
    if (!Number.isFinite(renewed)) return;
    const due = renewed + ((lease.spec?.leaseDurationSeconds ?? 15) + options.leaseGraceSeconds) * 1000 - Date.now();
    deadlines.set(name, setTimeout(() => trigger(`Lease kube-system/${name} not renewed`), Math.max(1000, due)).unref());
  }

  const onConfigChange = (): void => trigger('configuration file changed');
  if (options.configFile) watchFile(options.configFile, { interval: 2000, persistent: false }, onConfigChange);

  return {
    stop() {
      for (const watch of watches) watch.stop();
      for (const timer of deadlines.values()) clearTimeout(timer);
      if (options.configFile) unwatchFile(options.configFile, onConfigChange);
    },
  };
}
