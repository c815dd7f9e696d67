import type { NodeStore, NodeView } from './nodes.js';
import type { ExpectedView, RecentDecisions } from './recent-decisions.js';

/**
 * The nodes as they will be once the changes levee allowed moments ago land, and the change
 * being judged with them: the live aggregates, corrected by the few nodes the ledger of recent
 * decisions expects to change. Constant time in the number of nodes.
 */
export interface NodeOutlook {
  onDemand: { schedulable: number };
  /** Spot nodes, schedulable and all: a cordoned spot node still runs pods that can vanish with it. */
  spot: { schedulable: number; nodes: number };
  /** Schedulable on-demand nodes of one pool. */
  pool: { name: string; onDemandSchedulable: number };
  /** Schedulable on-demand nodes Karpenter did not launch (managed node groups, MachineDeployments, by hand). */
  outsideNodePools: { onDemandSchedulable: number };
}

/** `change`: the request's own change to one node, counted as if it were allowed. */
export function nodeOutlook(nodes: NodeStore, ledger: RecentDecisions, pool: string, change?: { name: string; after: ExpectedView }): NodeOutlook {
  const overall = nodes.capacity();
  const outside = nodes.capacityOutsideNodePools();
  const tally = {
    onDemand: overall['on-demand'].schedulable,
    spot: overall.spot.schedulable,
    spotNodes: overall.spot.nodes,
    pool: nodes.poolCapacity(pool)['on-demand'].schedulable,
    outside: outside['on-demand'].schedulable,
  };
  const expected = new Map(ledger.pending('nodes'));
  if (change) expected.set(change.name, change.after);
  for (const [name, after] of expected) {
    const cached = nodes.get(name);
    // The aggregates count only what the cache holds; a node it does not hold changes nothing in them.
    if (!cached) continue;
    count(tally, cached, pool, -1);
    if (after !== null) count(tally, { ...cached, ...after } as NodeView, pool, +1);
  }
  return {
    onDemand: { schedulable: tally.onDemand },
    spot: { schedulable: tally.spot, nodes: tally.spotNodes },
    pool: { name: pool, onDemandSchedulable: tally.pool },
    outsideNodePools: { onDemandSchedulable: tally.outside },
  };
}

interface Tally {
  onDemand: number;
  spot: number;
  spotNodes: number;
  pool: number;
  outside: number;
}

function count(tally: Tally, view: NodeView, pool: string, delta: 1 | -1): void {
  if (view.capacityType === 'spot') {
    tally.spotNodes += delta;
    if (view.schedulable) tally.spot += delta;
    return;
  }
  if (!view.schedulable) return;
  tally.onDemand += delta;
  if (view.pool === pool) tally.pool += delta;
  if (!view.fromNodePool) tally.outside += delta;
}
