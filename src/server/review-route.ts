import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeAdmissionReview } from '../admission/decode.js';
import { admissionResponse, conflictRefusal, refusal, reviewOf } from '../admission/response.js';
import type { AdmissionResponse } from '../admission/types.js';
import type { AdmissionRequest } from '../kube/types.js';
import type { ClusterState } from '../cluster/state.js';
import type { EventRecorder } from '../cluster/events.js';
import { ReviewError, toError } from '../errors.js';
import type { Judgement, PipelineDeps, Route } from '../engine/pipeline.js';
import { judgeAndRemember } from '../engine/remember.js';
import type { Logger } from '../logger.js';
import { readJsonBody } from './body.js';
import type { Metrics } from './metrics.js';
import type { ChangeProbe } from './change-probe.js';
import { platformChangeOf, type PlatformChange } from '../policies/platform-changes.js';

export interface AppDeps extends PipelineDeps {
  cluster: ClusterState;
  logger: Logger;
  metrics: Metrics;
  events: EventRecorder;
  bodyLimitBytes: number;
  /** Started on each platform change levee admits (probe-on-change); absent when nothing can run the probe. */
  changeProbe?: ChangeProbe;
}

export interface ReviewRoute {
  route: Route;
  /** For a fail-open registration (kube-system): the same judgement, but refusals become warnings. */
  warnOnly: boolean;
}

const REVIEW_ROUTES: Readonly<Record<string, ReviewRoute>> = {
  '/validate': { route: 'validate', warnOnly: false },
  '/validate/warn-only': { route: 'validate', warnOnly: true },
  '/mutate': { route: 'mutate', warnOnly: false },
};

/**
 * The review route a request is for, or undefined. Matched as express matched it: the query
 * is ignored (the API server appends `?timeout=10s`), and so are case and one trailing slash.
 */
export function reviewRouteOf(method: string | undefined, url: string | undefined): ReviewRoute | undefined {
  if (method !== 'POST' || !url) return undefined;
  const query = url.indexOf('?');
  let path = (query < 0 ? url : url.slice(0, query)).toLowerCase();
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return REVIEW_ROUTES[path];
}

/**
 * POST /validate, /validate/warn-only and /mutate: read, decode, judge, record, answer.
 * Served on node:https directly rather than through express: express gives every request
 * and response a new prototype, and on levee's hot path that alone made young-generation
 * collections promote and pause several times longer (see the README's Performance).
 * Everything that can go wrong becomes an answer.
 */
export async function serveReview(deps: AppDeps, { route, warnOnly }: ReviewRoute, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\b/i.test(type)) {
      sendJson(res, 415, { code: 'REVIEW_CONTENT_TYPE', message: `expected Content-Type application/json, got ${type || 'none'}` });
      return;
    }
    const body = await readJsonBody(req, deps.bodyLimitBytes);
    await answerReview(deps, route, body, res, warnOnly);
  } catch (err) {
    const error = toError(err);
    const status = error instanceof ReviewError ? error.httpStatus : 500;
    deps.metrics.errors.inc({ code: error.code });
    deps.logger.warn({ code: error.code, status, err: error.message }, 'request rejected before judgement');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendJson(res, status, { code: error.code, message: error.message }, error instanceof ReviewError && error.unreadBody);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, closeConnection = false): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  if (closeConnection) res.setHeader('Connection', 'close');
  res.end(text);
}

async function answerReview(deps: AppDeps, route: Route, body: unknown, res: ServerResponse, warnOnly: boolean): Promise<void> {
  const started = process.hrtime.bigint();
  let decoded;
  try {
    decoded = decodeAdmissionReview(body);
  } catch (err) {
    const error = err instanceof ReviewError ? err : new ReviewError('REVIEW_INVALID', 400, String(err));
    deps.metrics.errors.inc({ code: error.code });
    deps.logger.warn({ code: error.code, err: error.message }, 'malformed AdmissionReview');
    sendJson(res, error.httpStatus, { code: error.code, message: error.message });
    return;
  }
  if (!decoded.ok) {
    deps.metrics.errors.inc({ code: 'REVIEW_INCOMPLETE' });
    deps.metrics.decisions.inc({ route, outcome: 'denied' });
    deps.logger.warn({ uid: decoded.uid, code: 'REVIEW_INCOMPLETE', err: decoded.message }, 'incomplete AdmissionReview refused');
    sendJson(res, 200, reviewOf(refusal(decoded.uid, decoded.message)));
    return;
  }
  const uid = decoded.request.uid;
  const request = decoded.request;
  // probe-on-change: a platform change judged while another was admitted did not see the hold that one started.
  const generation = deps.changeProbe?.generation;
  const { judgement, response } = await judgeAndRemember(deps, request, route, {
    answer: (judged) => {
      const answer = admissionResponse(uid, judged, { route, warnOnly, stale: () => deps.cluster.freshness.stale(deps.config.server.staleAfterSeconds) });
      if (answer.allowed && deps.changeProbe?.generation !== generation && admittedPlatformChange(deps, route, request, judged)?.holdable) {
        return conflictRefusal(uid, 'levee could not judge this request: another platform change was admitted while it was being judged; send it again (it waits for the probe run after that one)');
      }
      return answer;
    },
    conflict: (message) => conflictRefusal(uid, message),
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  record(deps, route, request, judgement, response, seconds);
  if (response.allowed) {
    const change = admittedPlatformChange(deps, route, request, judgement);
    if (change) deps.changeProbe?.admitted(change.what, change.holdable);
  }
  sendJson(res, 200, reviewOf(response));
}

/**
 * probe-on-change's one hook: a platform change levee admits for real (on /validate, not a
 * dry-run, and judged by probe-on-change, so not exempt) starts a probe run. A
 * `kubectl apply --dry-run=server` is judged the same, held the same, and starts nothing.
 */
function admittedPlatformChange(deps: AppDeps, route: Route, request: AdmissionRequest, judgement: Judgement): PlatformChange | undefined {
  if (!deps.changeProbe || route !== 'validate' || request.dryRun === true) return undefined;
  if (!judgement.judged.includes('probe-on-change')) return undefined;
  return platformChangeOf(request, deps.config, deps.cluster);
}

function record(deps: AppDeps, route: Route, request: AdmissionRequest, judgement: Judgement, response: AdmissionResponse, seconds: number): void {
  const { decision, error } = judgement;
  deps.metrics.latency.observe({ route }, seconds);
  deps.metrics.decisions.inc({ route, outcome: response.allowed ? 'allowed' : 'denied' });
  if (error) deps.metrics.errors.inc({ code: error.code });
  const overrides = decision?.overrides ?? { honoured: [], ignored: [] };
  // A request passes /mutate and /validate with the same judgement: count it once, on /validate.
  if (route === 'validate') {
    for (const finding of decision?.findings ?? []) deps.metrics.findings.inc({ policy: finding.policy, rule: finding.rule, action: finding.action });
    for (const { policy } of overrides.honoured) deps.metrics.overrides.inc({ policy, outcome: 'honoured' });
    for (const { policy } of overrides.ignored) deps.metrics.overrides.inc({ policy, outcome: 'ignored' });
  }
  const level = error ? 'error' : decision && (decision.findings.length > 0 || overrides.ignored.length > 0) ? 'info' : 'debug';
  // Most decisions log at debug, which is off in production: the line is built only when it is written.
  if (deps.logger.isLevelEnabled(level)) {
    const line = {
      uid: request.uid,
      route,
      user: request.userInfo.username,
      operation: request.operation,
      resource: request.subResource ? `${request.resource.resource}/${request.subResource}` : request.resource.resource,
      namespace: request.namespace,
      name: request.name ?? request.object?.metadata?.name,
      dryRun: request.dryRun,
      allowed: response.allowed,
      policies: judgement.judged,
      findings: decision?.findings.map((finding) => `${finding.policy}/${finding.rule}:${finding.overridden ? 'overridden' : finding.action}`),
      ...(overrides.honoured.length > 0 ? { overrides: overrides.honoured } : {}),
      ...(overrides.ignored.length > 0 ? { overridesIgnored: overrides.ignored } : {}),
      latencyMs: Math.round(seconds * 1e6) / 1e3,
    };
    if (error) deps.logger.error({ ...line, code: error.code, err: error.message }, 'admission decision failed');
    else deps.logger[level](line, 'admission decision');
  }
  // Only validate records Events: a request passes both webhooks and must not leave two.
  // A dry-run must leave no trace in the cluster.
  if (route !== 'validate' || request.dryRun) return;
  if (!response.allowed && response.status) {
    deps.events.record({ request, reason: 'LeveeDenied', type: 'Warning', message: response.status.message });
  }
  if (response.allowed && overrides.honoured.length > 0) {
    const what = overrides.honoured.map((o) => `${o.policy} (until ${o.expires}: ${o.reason})`).join(', ');
    const author = overrides.honoured[0]!.author;
    const forWhom = author === request.userInfo.username ? '' : ` for a change by ${request.userInfo.username}`;
    deps.events.record({ request, reason: 'LeveeOverride', type: 'Warning', message: `${author} overrode ${what}${forWhom}` });
  }
}
