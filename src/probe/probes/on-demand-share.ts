import type { NodeView } from '../cache-views.js';
import type { ProbeDefinition, ProbeOutcome } from '../types.js';
import { unreadFeeds } from './support.js';

/**
 * The share of on-demand capacity, from the labels providers put on nodes. A cluster that
 * lives mostly on spot capacity goes down with the next spot shortage (the cnblogs outage).
 * Nodes without any capacity label are left out of the count.
 */
export const onDemandShare: ProbeDefinition = {
  id: 'on-demand-share',
  summary: 'enough on-demand nodes among those with a capacity label (Karpenter, EKS, GKE, AKS, ACK, OKE)',
  feeds: ['nodes'],
  async run(context): Promise<ProbeOutcome> {
    const unread = await unreadFeeds(context, ['nodes']);
    if (unread) return unread;
    const nodes = context.cache.nodes();
    let onDemand = 0;
    let spot = 0;
    for (const node of nodes) {
      const capacity = capacityOf(node);
      if (capacity === 'on-demand') onDemand++;
      else if (capacity === 'spot') spot++;
    }
    const labelled = onDemand + spot;
    if (labelled === 0) return { ok: true, message: `no node among ${nodes.length} carries a capacity-type label; share not judged` };
    const share = onDemand / labelled;
    const minimum = context.config.probe.thresholds.onDemandMinShare;
    const text = `${onDemand} of ${labelled} labelled nodes are on-demand (${Math.round(share * 100)}%)`;
    const details = { onDemand, spot, share };
    if (share < minimum) return { ok: false, message: `${text}, below the ${Math.round(minimum * 100)}% minimum`, details };
    return { ok: true, message: text, details };
  },
};

export function capacityOf(node: Pick<NodeView, 'labels'>): 'on-demand' | 'spot' | undefined {
  const labels = node.labels;
  const karpenter = labels['karpenter.sh/capacity-type'];
  if (karpenter) return karpenter === 'spot' ? 'spot' : 'on-demand';
  const eks = labels['eks.amazonaws.com/capacityType'];
  if (eks) return eks === 'SPOT' ? 'spot' : 'on-demand';
  if (labels['cloud.google.com/gke-spot'] === 'true' || labels['cloud.google.com/gke-preemptible'] === 'true') return 'spot';
  if (labels['kubernetes.azure.com/scalesetpriority'] === 'spot') return 'spot';
  const alibaba = labels['node.alibabacloud.com/spot-strategy'];
  if (alibaba) return alibaba === 'NoSpot' ? 'on-demand' : 'spot';
  if (labels['oci.oraclecloud.com/oke-is-preemptible'] === 'true') return 'spot';
  return undefined;
}
