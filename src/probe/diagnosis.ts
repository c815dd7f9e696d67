import type { Cause, VerdictDocument } from '../probe-verdict.js';
import { listNames } from './probes/nodes.js';
import type { NodeHealthDetails } from './probes/node-health.js';

/**
 * The hint tree: every failing probe, the nodes and the recent triggers looked at together,
 * as an engineer on call would. A cause that explains other failures (the API server gone,
 * etcd, no Ready node, a dead controller-manager or scheduler) is named once, and the probes it
 * explains carry it as their hint instead of a guess of their own: nine NotReady nodes leave
 * the lifecycle probe's pod unscheduled, which is not the scheduler's fault. What no cause
 * explains keeps the hint it came with (its probe's rule in hints.ts, or a custom probe's
 * own). Rules are tried in order; the first that applies and explains a failure is the
 * cause, and every rule that applies hints at the probes it explains.
 */

export interface FailingProbe {
  probe: string;
  message: string;
  /** Where a multi-step probe stopped (workload-lifecycle, node-canary), or how it failed (node-health, restart-burst). */
  stage?: string;
  /** What the probe found, as its outcome's `details` (node-canary: each pool, its Ready nodes and the stage its canary reached). */
  details?: Record<string, unknown>;
}

export interface RecentTrigger {
  reason: string;
  /** ms since the epoch */
  at: number;
}

export interface DiagnosisInput {
  failing: readonly FailingProbe[];
  /** node-health's last look at the nodes, passing or not. */
  nodes?: NodeHealthDetails;
  triggers?: readonly RecentTrigger[];
  now: number;
}

export interface Diagnosis {
  cause?: Cause;
  /** The hint for each failing probe a cause explains. */
  hints: Record<string, string>;
}

/** What a cause says: what is wrong, then what to look at (the message ends with it, so a reader's eye lands on the action). */
interface Finding {
  statement: string;
  advice: string;
}

interface CauseRule {
  id: string;
  /** What it finds when it applies. */
  applies(input: DiagnosisInput, failing: ReadonlyMap<string, FailingProbe>): Finding | undefined;
  /** Whether it explains this probe's failure. */
  explains(failure: FailingProbe): boolean;
  /** Triggers worth naming beside it ("since node spot-1 NotReady, 40 s ago"). */
  triggers?: RegExp;
}

const REFUSED = /connection refused|ECONNREFUSED|ECONNRESET|socket hang up/i;
const UNANSWERED = /no answer within|deadline exceeded|timed out|aborted/i;
/** Probes whose requests go to the API server: only their network errors speak of it (a user's HTTP check refused is about its own target). */
const API_PROBES = new Set(['api-write-path', 'workload-lifecycle', 'node-canary', 'controller-manager', 'scheduler', 'etcd', 'version-skew', 'node-health', 'restart-burst', 'on-demand-share', 'service-endpoints']);
const fromApiServer = (failure: FailingProbe, pattern: RegExp): boolean => API_PROBES.has(failure.probe) && pattern.test(failure.message);
const PODS_WAITING_FOR_A_NODE = ['scheduled', 'ready', 'running', 'endpoints'];

const stageOf = (failure: FailingProbe, probe: string, stages: readonly string[]): boolean => failure.probe === probe && stages.includes(failure.stage ?? '');

interface CanaryPool {
  pool: string;
  nodes: number;
  ready: number;
  reached: string;
}

/** The pools whose canary stopped at one of `stages`, from node-canary's details; undefined when it gave none. */
function canaryPoolsAt(failure: FailingProbe, stages: readonly string[]): CanaryPool[] | undefined {
  const pools = failure.details?.pools;
  if (!Array.isArray(pools)) return undefined;
  return (pools as CanaryPool[]).filter((pool) => typeof pool?.ready === 'number' && typeof pool.nodes === 'number' && stages.includes(pool.reached));
}

/**
 * A canary stopped at `stages` in a pool the condition holds for (e.g. "has NotReady nodes"):
 * a canary that never left a fully Ready pool is not explained by NotReady nodes elsewhere.
 * Without details (a leader's copied result), its stage alone decides.
 */
function canaryStoppedWhere(failure: FailingProbe, stages: readonly string[], holds: (pool: CanaryPool) => boolean): boolean {
  if (!stageOf(failure, 'node-canary', stages)) return false;
  const pools = canaryPoolsAt(failure, stages);
  return pools === undefined || pools.some(holds);
}

const hasNotReadyNodes = (pool: CanaryPool): boolean => pool.ready < pool.nodes;
const hasReadyNodes = (pool: CanaryPool): boolean => pool.ready > 0;

const RULES: readonly CauseRule[] = [
  {
    id: 'api-server-unreachable',
    applies: (_input, failing) => {
      const seen = [...failing.values()].find((failure) => fromApiServer(failure, REFUSED));
      return seen ? { statement: `the API server refuses connections (${seen.probe}: ${seen.message.slice(0, 160)})`, advice: 'is kube-apiserver running?' } : undefined;
    },
    explains: (failure) => fromApiServer(failure, REFUSED) || fromApiServer(failure, UNANSWERED),
  },
  {
    id: 'etcd-unhealthy',
    applies: (_input, failing) => {
      const etcd = failing.get('etcd');
      return etcd ? { statement: `the API server reports etcd unhealthy (${etcd.message.slice(0, 160)})`, advice: 'is etcd running, and is its disk fast enough?' } : undefined;
    },
    explains: (failure) => ['etcd', 'api-write-path', 'workload-lifecycle', 'node-canary'].includes(failure.probe) || fromApiServer(failure, UNANSWERED),
  },
  {
    id: 'no-ready-nodes',
    applies: ({ nodes }) => {
      if (!nodes || nodes.total === 0 || nodes.ready > 0) return undefined;
      const reasons = [...new Set(nodes.notReady.map((node) => node.reason))].slice(0, 3).join(', ');
      return {
        statement: `no node is Ready (${nodes.total} NotReady: ${listNames(nodes.notReady.map((node) => node.name))}; ${reasons})`,
        advice: 'no new pod can start; are the kubelets running and reaching the API server?',
      };
    },
    explains: (failure) =>
      ['node-health', 'service-endpoints', 'dns'].includes(failure.probe) ||
      stageOf(failure, 'workload-lifecycle', PODS_WAITING_FOR_A_NODE) ||
      stageOf(failure, 'node-canary', PODS_WAITING_FOR_A_NODE),
    triggers: /^node .* NotReady$/,
  },
  {
    id: 'controller-manager-down',
    applies: (_input, failing) =>
      failing.has('controller-manager')
        ? { statement: 'kube-controller-manager is not renewing its leader Lease', advice: 'no Deployment gets pods, no Service gets endpoints; is kube-controller-manager running?' }
        : undefined,
    explains: (failure) =>
      ['controller-manager', 'service-endpoints'].includes(failure.probe) ||
      stageOf(failure, 'workload-lifecycle', ['replicaset', 'pods', 'endpoints']) ||
      stageOf(failure, 'node-canary', ['replicaset', 'pods']),
    triggers: /kube-controller-manager/,
  },
  {
    id: 'scheduler-down',
    applies: (_input, failing) =>
      failing.has('scheduler') ? { statement: 'kube-scheduler is not renewing its leader Lease', advice: 'new pods stay Pending; is kube-scheduler running?' } : undefined,
    explains: (failure) => failure.probe === 'scheduler' || stageOf(failure, 'workload-lifecycle', ['scheduled']) || stageOf(failure, 'node-canary', ['scheduled']),
    triggers: /kube-scheduler/,
  },
  {
    id: 'nodes-not-ready',
    applies: ({ nodes }, failing) => {
      if (!nodes || nodes.notReady.length === 0) return undefined;
      const canary = failing.get('node-canary');
      const affected = failing.has('node-health') || (canary !== undefined && canaryStoppedWhere(canary, ['scheduled', 'running'], hasNotReadyNodes)) || failing.get('workload-lifecycle')?.stage === 'ready';
      if (!affected) return undefined;
      return {
        statement: `${nodes.notReady.length} of ${nodes.total} nodes are NotReady (${listNames(nodes.notReady.map((node) => `${node.name}: ${node.reason}`))})`,
        advice: 'pods placed there do not start; look at their kubelets and their network to the API server',
      };
    },
    // A pool whose nodes are all NotReady carries the not-ready taint: its canary is never scheduled.
    explains: (failure) => failure.probe === 'node-health' || canaryStoppedWhere(failure, ['scheduled', 'running'], hasNotReadyNodes) || stageOf(failure, 'workload-lifecycle', ['ready']),
    triggers: /^node .* NotReady$/,
  },
  {
    id: 'no-room',
    applies: ({ nodes }, failing) => {
      const lifecycle = failing.get('workload-lifecycle');
      const canary = failing.get('node-canary');
      const waiting = [...(lifecycle?.stage === 'scheduled' ? [lifecycle] : []), ...(canary && canaryStoppedWhere(canary, ['scheduled'], hasReadyNodes) ? [canary] : [])];
      if (waiting.length === 0 || failing.has('scheduler') || !nodes || nodes.ready === 0) return undefined;
      return {
        statement: `pods stay unscheduled although kube-scheduler renews its Lease and ${nodes.ready} node(s) are Ready`,
        advice: 'is there no room for them? look at cordoned nodes, requests, taints, node selectors and quotas',
      };
    },
    explains: (failure) => stageOf(failure, 'workload-lifecycle', ['scheduled']) || canaryStoppedWhere(failure, ['scheduled'], hasReadyNodes),
  },
];

/** How far back a trigger is worth naming. */
export const TRIGGER_MEMORY_MS = 5 * 60_000;

export function diagnose(input: DiagnosisInput): Diagnosis {
  const failing = new Map(input.failing.map((failure) => [failure.probe, failure]));
  const hints: Record<string, string> = {};
  let cause: Cause | undefined;
  for (const rule of RULES) {
    const found = rule.applies(input, failing);
    if (!found) continue;
    const message = messageOf(found, rule, input);
    const explained = input.failing.filter((failure) => !hints[failure.probe] && rule.explains(failure));
    for (const failure of explained) hints[failure.probe] = message;
    // A rule that explains none of the failures is a fact, not their cause.
    if (!cause && explained.length > 0) cause = { rule: rule.id, message, explains: explained.map((failure) => failure.probe) };
  }
  return { ...(cause ? { cause } : {}), hints };
}

/**
 * The document with the hint tree's cause and hints: a failing probe's hint is the tree's when
 * it has one; otherwise it keeps the one it came with (a leader's result copied with its hint).
 */
export function withDiagnosis(document: VerdictDocument, diagnosis: Diagnosis): VerdictDocument {
  const failing = new Set(document.failing);
  const probes = document.probes.map((result) => {
    const hint = diagnosis.hints[result.probe];
    return failing.has(result.probe) && hint ? { ...result, hint } : result;
  });
  const { cause: _previous, ...rest } = document;
  return { ...rest, probes, ...(diagnosis.cause ? { cause: diagnosis.cause } : {}) };
}

/**
 * The finding as one line: what is wrong, the earliest trigger the rule cares about within
 * memory ("first seen 41 s ago: node spot-1 NotReady and 8 more"), then the advice, last.
 */
function messageOf(finding: Finding, rule: CauseRule, input: DiagnosisInput): string {
  const relevant = rule.triggers ? (input.triggers ?? []).filter((trigger) => rule.triggers!.test(trigger.reason) && input.now - trigger.at <= TRIGGER_MEMORY_MS) : [];
  if (relevant.length === 0) return `${finding.statement}: ${finding.advice}`;
  const first = relevant.reduce((earliest, trigger) => (trigger.at < earliest.at ? trigger : earliest));
  const more = relevant.length > 1 ? ` and ${relevant.length - 1} more` : '';
  return `${finding.statement}; first seen ${Math.round((input.now - first.at) / 1000)} s ago: ${first.reason}${more}; ${finding.advice}`;
}
