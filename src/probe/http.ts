import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';
import type { ProbeLoop } from './loop.js';
import type { ProbeMetrics } from './metrics.js';

export interface ProbeEndpoint {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export interface ProbeEndpointOptions {
  host: string;
  port: number;
  loop: ProbeLoop;
  metrics: ProbeMetrics;
  logger: Logger;
  /** /healthz fails when the last run is older than this: the loop has stalled. */
  maxRunAgeSeconds: number;
  startedAt: Date;
}

/**
 * The probe's on-demand endpoint, on loopback by default: `POST /run` runs the probes now and
 * answers with the verdict; `GET /verdict` the latest one; `GET /metrics`; `GET /healthz`
 * (for the sidecar's liveness probe: fails when runs have stopped).
 */
export async function startProbeEndpoint(options: ProbeEndpointOptions): Promise<ProbeEndpoint> {
  const server = createServer((req, res) => {
    void route(options, req, res).catch((err: unknown) => {
      options.logger.warn({ err: (err as Error).message, path: req.url }, 'probe endpoint request failed');
      if (!res.headersSent) send(res, 500, { code: 'INTERNAL', message: (err as Error).message });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  options.logger.info({ host: options.host, port }, 'probe endpoint listening (POST /run, GET /verdict, /metrics, /healthz)');
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function route(options: ProbeEndpointOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://probe');
  const path = url.pathname;
  if (req.method === 'POST' && path === '/run') {
    req.resume();
    // In a cluster the endpoint listens on the pod's address (the kubelet's liveness probe,
    // metrics scrapes), but runs are asked for only by serve in the same pod: anyone else who
    // reaches the port must not be able to start runs.
    if (!isLoopback(req.socket.remoteAddress)) {
      send(res, 403, { code: 'FORBIDDEN', message: 'POST /run is answered only from loopback (levee serve in the same pod)' });
      return;
    }
    // `serve` says why (probe-on-change: `after changing the pod template of ...`); only logged.
    const reason = url.searchParams.get('reason')?.slice(0, 200);
    send(res, 200, await options.loop.trigger(reason ? `on demand (POST /run): ${reason}` : 'on demand (POST /run)'));
    return;
  }
  if (req.method === 'GET' && path === '/verdict') {
    const latest = options.loop.latest;
    if (latest) send(res, 200, latest);
    else send(res, 503, { code: 'NO_VERDICT', message: 'no probe run has completed yet' });
    return;
  }
  if (req.method === 'GET' && path === '/metrics') {
    res.writeHead(200, { 'Content-Type': options.metrics.registry.contentType });
    res.end(await options.metrics.registry.metrics());
    return;
  }
  if (req.method === 'GET' && path === '/healthz') {
    const reference = options.loop.lastRunAt ?? options.startedAt;
    const age = (Date.now() - reference.getTime()) / 1000;
    if (age <= options.maxRunAgeSeconds) res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    else res.writeHead(503, { 'Content-Type': 'text/plain' }).end(`no probe run completed in the last ${Math.round(age)} s`);
    return;
  }
  send(res, 404, { code: 'NOT_FOUND', message: 'levee probe serves POST /run, GET /verdict, /metrics, /healthz' });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

/** Whether a peer address is this host's loopback (IPv4, IPv6, or IPv4 mapped into IPv6). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const ipv4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return ipv4.startsWith('127.') || address === '::1';
}
