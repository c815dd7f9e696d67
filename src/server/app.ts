import express, { type NextFunction, type Request, type Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeStale } from '../cluster/freshness.js';
import { clientAuthenticator, type ClientRefusal } from './client-auth.js';
import { reviewRouteOf, serveReview, type AppDeps } from './review-route.js';
import { ReviewGate, type Shed } from './review-gate.js';

export type { AppDeps } from './review-route.js';

/**
 * levee's HTTP edge: the review routes on node:https directly, for the callers
 * server.clientCAFile admits, everything else (health, readiness, metrics, 404s) through express.
 */
export function createHandler(deps: AppDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const app = createApp(deps);
  const refusal = clientAuthenticator(deps.config.server.clientCAFile !== undefined, deps.config.server.clientNames);
  const logRefusal = refusalLog(deps);
  const logShed = refusalLog(deps);
  const gate = new ReviewGate(deps.config.server);
  return (req, res) => {
    const review = reviewRouteOf(req.method, req.url);
    if (!review) {
      app(req, res);
      return;
    }
    const refused = refusal(req);
    if (refused) {
      logRefusal(refused, req);
      refuse(res, refused);
      return;
    }
    const shed = gate.admit(req, res);
    if (shed) {
      logShed(shed, req);
      refuse(res, shed);
      return;
    }
    serveReview(deps, review, req, res).catch(() => res.destroy());
  };
}

/** The answer to a review levee does not take: its body is never read, and the connection closes. */
function refuse(res: ServerResponse, refusal: ClientRefusal | Shed): void {
  const text = JSON.stringify({ code: refusal.code, message: refusal.message });
  res.writeHead(refusal.status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    Connection: 'close',
    ...('retryAfter' in refusal ? { 'Retry-After': String(refusal.retryAfter) } : {}),
  });
  res.end(text);
}

/**
 * Every refusal is counted (levee_request_errors_total{code}); a log line says so at most once
 * every 10 s with how many there were, so a flood of unauthenticated calls cannot flood the log.
 */
function refusalLog(deps: AppDeps, everyMs = 10_000): (refused: ClientRefusal | Shed, req: IncomingMessage) => void {
  let lastLogged = 0;
  let unlogged = 0;
  return (refused, req) => {
    deps.metrics.errors.inc({ code: refused.code });
    unlogged++;
    const now = Date.now();
    if (now - lastLogged < everyMs) return;
    const what = refused.status === 429 ? 'review shed: levee is at its bound on reviews in flight' : 'review refused: the caller is not the API server levee answers';
    deps.logger.warn({ code: refused.code, status: refused.status, remote: req.socket.remoteAddress, refused: unlogged, err: refused.message }, what);
    lastLogged = now;
    unlogged = 0;
  };
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.get('/readyz', (_req, res) => {
    const waiting = deps.cluster.stats().filter((stats) => !stats.synced).map((stats) => stats.name);
    if (waiting.length > 0) {
      res.status(503).type('text/plain').send(`not ready: caches not synced: ${waiting.join(', ')}`);
      return;
    }
    // Stale caches keep the webhook Ready: an unready webhook takes itself out of its Service.
    const stale = deps.cluster.freshness.stale(deps.config.server.staleAfterSeconds);
    res.type('text/plain').send(stale.length > 0 ? `ok; stale: ${describeStale(stale)}` : 'ok');
  });
  app.get('/metrics', async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  app.use((_req, res) => {
    res.status(404).json({ code: 'NOT_FOUND', message: 'levee serves POST /validate, /validate/warn-only, /mutate, GET /healthz, /readyz, /metrics' });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const message = (err as Error | undefined)?.message ?? String(err);
    deps.metrics.errors.inc({ code: 'INTERNAL' });
    deps.logger.warn({ code: 'INTERNAL', err: message }, 'request failed');
    if (res.headersSent) return;
    res.status(500).json({ code: 'INTERNAL', message });
  });
  return app;
}
