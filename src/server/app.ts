import express, { type NextFunction, type Request, type Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeStale } from '../cluster/freshness.js';
import { reviewRouteOf, serveReview, type AppDeps } from './review-route.js';

export type { AppDeps } from './review-route.js';

/**
 * levee's HTTP edge: the review routes on node:https directly, everything else (health,
 * readiness, metrics, 404s) through express.
 */
export function createHandler(deps: AppDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const app = createApp(deps);
  return (req, res) => {
    const review = reviewRouteOf(req.method, req.url);
    if (review) serveReview(deps, review, req, res).catch(() => res.destroy());
    else app(req, res);
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
