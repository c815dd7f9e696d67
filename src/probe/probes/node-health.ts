import type { NodeView } from '../cache-views.js';
import type { ProbeDefinition, ProbeOutcome } from '../types.js';
import { listNames } from './nodes.js';
import { unreadFeeds } from './support.js';

/** What node-health tells the hint tree (its outcome's `details`). */
export interface NodeHealthDetails {
  total: number;
  ready: number;
  /** Nodes that count as NotReady, with the Ready condition's reason ("NodeStatusUnknown", "KubeletNotReady", ...). */
  notReady: Array<{ name: string; reason: string }>;
  /** Nodes younger than the grace, not yet Ready: left out of the count. */
  joining: string[];
}

/**
 * The share of nodes that are Ready. Below `nodeReadyMinShare` the probe fails at its
 * configured severity (major by default); with no Ready node at all it fails critical: no
 * pod can start anywhere, whatever the rest of the control plane does. Nodes still joining
 * (younger than `nodeGraceSeconds`) are not counted; a cluster without nodes (scaled to zero)
 * passes.
 */
export const nodeHealth: ProbeDefinition = {
  id: 'node-health',
  summary: 'enough of the nodes are Ready, and at least one',
  feeds: ['nodes'],
  async run(context): Promise<ProbeOutcome> {
    const unread = await unreadFeeds(context, ['nodes']);
    if (unread) return unread;
    const { config, now, cache } = context;
    const { nodeReadyMinShare, nodeGraceSeconds } = config.probe.thresholds;
    const details = nodeHealthOf(cache.nodes(), now().getTime() - nodeGraceSeconds * 1000);
    const { total, ready, notReady } = details;
    if (total === 0) return { ok: true, message: details.joining.length > 0 ? `${details.joining.length} node(s) joining, none counted yet` : 'no nodes', details: { ...details } };
    const names = listNames(notReady.map((node) => `${node.name} (${node.reason})`));
    const text = `${ready} of ${total} nodes Ready`;
    if (ready === 0) return { ok: false, severity: 'critical', stage: 'none-ready', message: `no node is Ready: ${names}`, details: { ...details } };
    if (ready / total < nodeReadyMinShare) {
      return { ok: false, stage: 'some-not-ready', message: `${text}, below the ${Math.round(nodeReadyMinShare * 100)}% minimum; NotReady: ${names}`, details: { ...details } };
    }
    return { ok: true, message: notReady.length > 0 ? `${text}; NotReady: ${names}` : text, details: { ...details } };
  },
};

/**
 * The node lifecycle controller's reason for a node whose kubelet posted its status and then
 * stopped (one that never posted gets NodeStatusNeverUpdated): such a node has joined, however young.
 */
const STOPPED_POSTING = 'NodeStatusUnknown';

/**
 * Ready and NotReady nodes; a node created after `joinedBefore` (ms) that is not Ready yet is
 * joining, unless its kubelet reported and then went silent: that node is down, not joining.
 */
export function nodeHealthOf(nodes: readonly NodeView[], joinedBefore: number): NodeHealthDetails {
  const details: NodeHealthDetails = { total: 0, ready: 0, notReady: [], joining: [] };
  for (const node of nodes) {
    if (node.ready) {
      details.total++;
      details.ready++;
      continue;
    }
    if (node.createdAt > joinedBefore && node.notReadyReason !== STOPPED_POSTING) {
      details.joining.push(node.name);
      continue;
    }
    details.total++;
    details.notReady.push({ name: node.name, reason: node.notReadyReason || 'no Ready condition' });
  }
  details.notReady.sort((a, b) => a.name.localeCompare(b.name));
  return details;
}

/** The node-health details in an outcome's `details`, or undefined when they are not there. */
export function nodeHealthDetails(details: Record<string, unknown> | undefined): NodeHealthDetails | undefined {
  if (!details || typeof details.total !== 'number' || typeof details.ready !== 'number' || !Array.isArray(details.notReady)) return undefined;
  return details as unknown as NodeHealthDetails;
}
