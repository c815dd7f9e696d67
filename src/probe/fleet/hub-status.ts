import { statusOf, type ProbeVerdictStatus } from '../../probe-verdict-status.js';
import type { VerdictDocument } from '../../probe-verdict.js';
import type { FleetMember } from './members.js';
import type { Reach } from './reachability.js';

/** A fleet member's verdict where nothing can be known: its API server does not answer. */
export const UNKNOWN_VERDICT = 'Unknown';

const MESSAGE_MAX = 2048;

/**
 * What the hub's ProbeVerdict for `member` says: the member's verdict document, as the
 * member's own `cluster` object would, when its API server answers; Unknown with the error
 * and since when otherwise (its probes' failures then say nothing about the cluster).
 */
export function memberStatus(member: FleetMember, document: VerdictDocument | undefined, reach: Reach, reporter: string, now: Date): { status: ProbeVerdictStatus; summary: string } | undefined {
  if (!reach.reachable) {
    const message = `unreachable: ${reach.error}`;
    return {
      status: {
        verdict: UNKNOWN_VERDICT,
        cluster: member.context,
        reachable: false,
        since: reach.since.toISOString(),
        lastProbeTime: now.toISOString(),
        reporter,
        failing: '-',
        message: message.length > MESSAGE_MAX ? `${message.slice(0, MESSAGE_MAX - 1)}…` : message,
        probes: [],
      },
      summary: message,
    };
  }
  if (!document) return undefined;
  const status = statusOf(document);
  return { status: { ...status, cluster: member.context, reachable: true }, summary: status.message ?? '' };
}
