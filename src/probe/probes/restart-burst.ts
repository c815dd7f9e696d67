import type { ProbeDefinition, ProbeOutcome } from '../types.js';
import { listNames } from './nodes.js';
import { unreadFeeds } from './support.js';

/**
 * Mass restarts: many containers that restarted within a recent window, spread over several
 * nodes, point at a shared cause (DNS, a config push, a bad image) rather than one bad pod.
 */
export const restartBurst: ProbeDefinition = {
  id: 'restart-burst',
  summary: 'no burst of container restarts across several nodes within the window',
  feeds: ['pods'],
  async run(context): Promise<ProbeOutcome> {
    const { config, now, cache } = context;
    const { restartWindowSeconds, restartBurstContainers, restartBurstNodes } = config.probe.thresholds;
    const unread = await unreadFeeds(context, ['pods']);
    if (unread) return unread;
    const pods = cache.pods();
    const since = now().getTime() - restartWindowSeconds * 1000;
    const perNode = new Map<string, number>();
    const examples: string[] = [];
    for (const pod of pods) {
      for (const container of pod.containers) {
        if (!(container.lastEndedAt >= since)) continue;
        const node = pod.node || '(unscheduled)';
        perNode.set(node, (perNode.get(node) ?? 0) + 1);
        examples.push(`${pod.namespace}/${pod.name}:${container.name}`);
      }
    }
    const restarted = [...perNode.values()].reduce((sum, count) => sum + count, 0);
    const details = { restarted, nodes: perNode.size, windowSeconds: restartWindowSeconds };
    const text = `${restarted} container restart(s) on ${perNode.size} node(s) in the last ${restartWindowSeconds} s`;
    if (restarted >= restartBurstContainers && perNode.size >= restartBurstNodes) {
      return { ok: false, message: `${text} (e.g. ${listNames(examples, 3)})`, details };
    }
    return { ok: true, message: text, details };
  },
};
