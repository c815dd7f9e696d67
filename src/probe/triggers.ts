import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { unwatchFile, watchFile } from 'node:fs';
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
}

const WATCHED_LEASES = new Set(['kube-controller-manager', 'kube-scheduler']);
const RESTART_MS = 2000;

interface WatchedObject {
  metadata?: { name?: string };
  spec?: { renewTime?: string | null; leaseDurationSeconds?: number };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

export function startTriggers(options: TriggerOptions): { stop(): void } {
  const { logger, trigger } = options;
  let stopped = false;
  const controllers: AbortController[] = [];

  const follow = (path: string, onEvent: (type: string, object: WatchedObject) => void): void => {
    const begin = (): void => {
      if (stopped) return;
      const restart = (err?: unknown): void => {
        if (stopped) return;
        if (err) logger.debug({ path, err: String((err as Error)?.message ?? err) }, 'trigger watch ended; restarting');
        setTimeout(begin, RESTART_MS).unref();
      };
      new Watch(options.kubeconfig)
        .watch(path, { timeoutSeconds: 300, allowWatchBookmarks: false }, (type, object: WatchedObject) => onEvent(type, object), restart)
        .then((controller) => controllers.push(controller))
        .catch(restart);
    };
    begin();
  };

  const ready = new Map<string, boolean>();
  follow('/api/v1/nodes', (type, node) => {
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
  follow('/apis/coordination.k8s.io/v1/namespaces/kube-system/leases', (type, lease) => {
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
  });

  const onConfigChange = (): void => trigger('configuration file changed');
  if (options.configFile) watchFile(options.configFile, { interval: 2000, persistent: false }, onConfigChange);

  return {
    stop() {
      stopped = true;
      for (const controller of controllers) controller.abort();
      for (const timer of deadlines.values()) clearTimeout(timer);
      if (options.configFile) unwatchFile(options.configFile, onConfigChange);
    },
  };
}
