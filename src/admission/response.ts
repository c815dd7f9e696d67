import { describeStale, type CacheAge } from '../cluster/freshness.js';
import { clipWarning, denialMessage, WARNING_LIMIT, type Decision } from '../engine/decide.js';
import type { Judgement, Route } from '../engine/pipeline.js';
import { encodePatch } from './patch.js';
import type { AdmissionResponse, AdmissionReview } from './types.js';

export interface AnswerOptions {
  route: Route;
  /** For a fail-open registration (kube-system): the same judgement, but refusals become warnings. */
  warnOnly?: boolean;
  /** The caches whose watches are broken; asked only when a policy judged a /validate request. */
  stale?: () => readonly CacheAge[];
}

/**
 * The one place a judgement becomes an AdmissionResponse: a refusal when it could not be
 * judged; for /mutate an allow with the base64 JSON Patch (refusals come from /validate,
 * once, with one message); for /validate the decision, rewritten into warnings on the
 * warn-only route, and a warning when the caches it read may be out of date.
 */
export function admissionResponse(uid: string, judgement: Judgement, options: AnswerOptions): AdmissionResponse {
  const validate = options.route === 'validate';
  let response: AdmissionResponse;
  if (judgement.error || !judgement.decision) {
    const { code, message } = judgement.error ?? { code: 'INTERNAL', message: 'no decision' };
    response = refusal(uid, `levee could not judge this request (${code}): ${message}`, 500);
  } else if (!validate) {
    response = { uid, allowed: true, ...(judgement.patch && judgement.patch.length > 0 ? { patchType: 'JSONPatch', patch: encodePatch(judgement.patch) } : {}) };
    if (judgement.notes?.length) response.warnings = judgement.notes.map(clipWarning);
  } else {
    response = responseFor(uid, judgement.decision);
    if (options.warnOnly) response = asWarnings(response, judgement.decision);
  }
  const stale = validate && judgement.judged.length > 0 ? (options.stale?.() ?? []) : [];
  if (stale.length > 0) {
    const warning = `levee: cluster state may be out of date: caches ${describeStale(stale)} not synced with the API server`;
    response.warnings = [...(response.warnings ?? []), warning];
  }
  return response;
}

export function reviewOf(response: AdmissionResponse): AdmissionReview {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response };
}

export function responseFor(uid: string, decision: Decision): AdmissionResponse {
  const response: AdmissionResponse = { uid, allowed: decision.allowed };
  if (!decision.allowed) response.status = { code: 403, reason: 'Forbidden', message: denialMessage(decision) };
  if (decision.warnings.length > 0) response.warnings = decision.warnings;
  const audit = overrideAuditAnnotations(decision);
  if (audit) response.auditAnnotations = audit;
  return response;
}

/**
 * An honoured override in the API server's audit log: the server files these under
 * `<webhook name>/<key>` in the request's audit event. For a `scale` request, whose Scale
 * object cannot carry stamps, this and the Event are the record on the cluster's side.
 */
function overrideAuditAnnotations(decision: Decision): Record<string, string> | undefined {
  const honoured = decision.overrides.honoured;
  if (!decision.allowed || honoured.length === 0) return undefined;
  return {
    'overridden-policies': honoured.map((override) => override.policy).join(','),
    'overridden-by': honoured[0]!.author,
    'override-reason': honoured[0]!.reason,
    'override-expires': honoured[0]!.expires,
  };
}

/** A review levee cannot judge is refused, never allowed: a decode failure is not an allow. */
export function refusal(uid: string, message: string, code = 400): AdmissionResponse {
  return { uid, allowed: false, status: { code, reason: code === 400 ? 'BadRequest' : 'InternalError', message } };
}

/** A decision levee gave up retaking (engine/remember.ts): refused with a 409, for the client to send again. */
export function conflictRefusal(uid: string, message: string): AdmissionResponse {
  return { uid, allowed: false, status: { code: 409, reason: 'Conflict', message } };
}

/**
 * Policies whose refusals stand on the warn-only route (kube-system): probe-on-change's hold is
 * the one thing levee refuses there. The route stays fail-open (failurePolicy Ignore), so a
 * levee that is down never holds kube-system, and the hold has an override like every rule.
 */
const REFUSING_ON_WARN_ONLY: ReadonlySet<string> = new Set(['probe-on-change']);

/** Turns a refusal into an allow that carries every reason as a warning, except the refusals that stand on this route. */
function asWarnings(response: AdmissionResponse, decision: Decision): AdmissionResponse {
  if (response.allowed) return response;
  const standing = decision.denials.filter((finding) => REFUSING_ON_WARN_ONLY.has(finding.policy));
  const warned = [
    ...decision.denials.filter((finding) => !REFUSING_ON_WARN_ONLY.has(finding.policy)).map((finding) => `levee (warn-only) [${finding.policy}] ${finding.message}`),
    ...decision.refusals.map((reason) => `levee (warn-only) ${reason}`),
  ].map((text) => text.slice(0, WARNING_LIMIT));
  if (standing.length > 0) {
    const refused = responseFor(response.uid, { ...decision, denials: standing, refusals: [] });
    return { ...refused, warnings: [...(refused.warnings ?? []), ...warned] };
  }
  return { uid: response.uid, allowed: true, warnings: [...(response.warnings ?? []), ...warned] };
}
