import { LeveeError } from './errors.js';

/**
 * The probe verdict: the contract between `levee probe`, which writes it (the verdict file,
 * ProbeVerdict `cluster`, `levee probe --once`), and probe-gate, which reads it in `serve`.
 * Both sides import this module and nothing else of each other.
 */

/** The three answers a verdict can give (contract: `status.verdict` of ProbeVerdict `cluster`). */
export const VERDICTS = ['Healthy', 'Degraded', 'Unhealthy'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** Every object a probe creates carries this label; probe-gate lets such objects through in levee's namespace. */
export const PROBE_LABEL = 'levee.dev/probe';

export type ProbeStatus = 'Passing' | 'Failing' | 'Skipped';

/**
 * What a failing probe does to the verdict: a critical failure makes it Unhealthy (the gate
 * closes), a major one Degraded, a minor one leaves it as it is (reported, never gating).
 */
export const SEVERITIES = ['critical', 'major', 'minor'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** One probe's line in the verdict: its last outcome and its history, as hysteresis sees it. */
export interface ProbeResult {
  probe: string;
  /** Passing/Failing after hysteresis; `lastOk` is the raw outcome of the last run. */
  status: ProbeStatus;
  /** Whether its failure closes the gate: `severity` is critical. Kept beside `severity` for readers of the first format. */
  critical: boolean;
  /** Its failure's severity while Failing, its configured severity otherwise (absent in documents of older levee versions). */
  severity?: Severity;
  lastOk: boolean;
  latencyMs: number;
  message: string;
  hint?: string;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  /** When the probe turned Failing (after hysteresis); absent while it passes. */
  failingSince?: string;
  lastTransitionTime: string;
  checkedAt: string;
}

/** A result's severity; a document of an older levee gives only `critical`: critical, or else major. */
export function severityOf(result: Pick<ProbeResult, 'severity' | 'critical'>): Severity {
  return result.severity ?? (result.critical ? 'critical' : 'major');
}

/** The document `levee probe` writes to the verdict file and publishes as ProbeVerdict `cluster`. */
export interface VerdictDocument {
  verdict: Verdict;
  /** When the cluster entered this verdict. */
  since: string;
  /** When this document was written: its age is what the gate checks for staleness. */
  generatedAt: string;
  reporter: string;
  leader: boolean;
  run: number;
  /** Probes that are Failing after hysteresis, critical first, then major, then minor. */
  failing: string[];
  probes: ProbeResult[];
  /** The one cause that explains the failing probes, when the hint tree finds one (src/probe/diagnosis.ts). */
  cause?: Cause;
}

/** What the hint tree concluded from all failing probes, the nodes and recent triggers together. */
export interface Cause {
  /** The rule that found it, e.g. `no-ready-nodes`, `scheduler-down`. */
  rule: string;
  message: string;
  /** The failing probes it explains (each carries the cause as its hint). */
  explains: string[];
}

/** The verdict as `serve` holds it for a decision: the last good document (none yet, or never) and the file it comes from. */
export interface CurrentVerdict {
  document: VerdictDocument | undefined;
  file: string;
}

/** How old a document is at `now`, in seconds: what the gate and the leader's readers compare with `maxVerdictAgeSeconds`. */
export function verdictAgeSeconds(document: VerdictDocument, now: Date): number {
  return (now.getTime() - Date.parse(document.generatedAt)) / 1000;
}

/** Checks the few fields the gate relies on; anything else in the document is informational. */
export function parseVerdictDocument(text: string, source = 'verdict'): VerdictDocument {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new LeveeError('VERDICT_INVALID', `${source} is not JSON: ${(err as Error).message}`);
  }
  const document = parsed as Partial<VerdictDocument> | null;
  if (!document || typeof document !== 'object') throw new LeveeError('VERDICT_INVALID', `${source} is not a JSON object`);
  if (!(VERDICTS as readonly unknown[]).includes(document.verdict)) {
    throw new LeveeError('VERDICT_INVALID', `${source} has no verdict (one of ${VERDICTS.join(', ')})`);
  }
  if (typeof document.generatedAt !== 'string' || Number.isNaN(Date.parse(document.generatedAt))) {
    throw new LeveeError('VERDICT_INVALID', `${source} has no valid generatedAt time`);
  }
  if (!Array.isArray(document.probes)) throw new LeveeError('VERDICT_INVALID', `${source} has no probes list`);
  return { ...document, failing: Array.isArray(document.failing) ? document.failing : [] } as VerdictDocument;
}
