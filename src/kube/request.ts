import type { KubeConfig } from '@kubernetes/client-node';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { LeveeError } from '../errors.js';

/**
 * Requests to the API server for levee's lists and watches, over node:https with the
 * kubeconfig's credentials (re-read each time, so rotated tokens are used). Every request has
 * a deadline for its answer to begin, and its socket sends TCP keepalives, which keep NAT and
 * load-balancer entries of a quiet watch from expiring.
 */

/** The API server never answered: refused, reset, timed out or aborted. */
export class KubeRequestError extends LeveeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KUBE_REQUEST', message, options);
    this.name = 'KubeRequestError';
  }
}

/** The API server answered with an error status (its own message is kept). */
export class KubeStatusError extends LeveeError {
  readonly status: number;

  constructor(status: number, message: string) {
    super('KUBE_STATUS', message);
    this.name = 'KubeStatusError';
    this.status = status;
  }
}

export interface OpenOptions {
  /** The answer's headers must arrive within this. */
  headersTimeoutMs: number;
  signal?: AbortSignal;
  /** TCP keepalive's first probe after this much idle time. */
  keepAliveMs?: number;
}

export interface OpenStream {
  response: IncomingMessage;
  /** Ends the request and its socket at once. */
  destroy(): void;
}

const KEEPALIVE_MS = 15_000;
const MAX_ERROR_BODY = 64 * 1024;

/** GET `path` and resolve once a 2xx answer's headers have arrived; an error status becomes KubeStatusError. */
export async function openGet(kubeconfig: KubeConfig, path: string, options: OpenOptions): Promise<OpenStream> {
  const cluster = kubeconfig.getCurrentCluster();
  if (!cluster) throw new LeveeError('KUBECONFIG_MISSING', 'the kubeconfig has no current cluster');
  const url = new URL(path, cluster.server);
  const what = `GET ${url.pathname}`;
  const requestOptions: RequestOptions = {
    method: 'GET',
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port || (url.protocol === 'https:' ? 443 : 80),
    path: `${url.pathname}${url.search}`,
    headers: { Accept: 'application/json' },
  };
  await kubeconfig.applyToHTTPSOptions(requestOptions);
  if (url.protocol === 'http:') delete requestOptions.agent; // a plain-HTTP test double
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  if (options.signal?.aborted) throw new KubeRequestError(`${what}: aborted before it was sent`);

  return new Promise<OpenStream>((resolve, reject) => {
    let req: ClientRequest | undefined;
    let settled = false;
    const fail = (error: Error): void => {
      req?.destroy();
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(error);
    };
    const timer = setTimeout(() => fail(new KubeRequestError(`${what}: no answer within ${options.headersTimeoutMs} ms`)), options.headersTimeoutMs);
    const onAbort = (): void => fail(new KubeRequestError(`${what}: aborted`));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    req = send(requestOptions, (response) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        settled = true;
        resolve({ response, destroy: () => req?.destroy() });
        return;
      }
      readBounded(response, MAX_ERROR_BODY).then(
        (text) => fail(new KubeStatusError(status, `${what}: HTTP ${status}: ${statusMessage(text)}`)),
        () => fail(new KubeStatusError(status, `${what}: HTTP ${status}`)),
      );
    });
    req.on('socket', (socket) => socket.setKeepAlive(true, options.keepAliveMs ?? KEEPALIVE_MS));
    req.on('error', (err) => fail(new KubeRequestError(`${what}: ${describeNetworkError(err)}`, { cause: err })));
    req.end();
  });
}

/** GET `path` as JSON, the whole answer within `timeoutMs`. */
export async function getJson<T>(kubeconfig: KubeConfig, path: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<T> {
  const started = Date.now();
  const stream = await openGet(kubeconfig, path, { headersTimeoutMs: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
  const left = Math.max(1, options.timeoutMs - (Date.now() - started));
  const timer = setTimeout(() => stream.destroy(), left);
  try {
    const text = await readBounded(stream.response, Number.POSITIVE_INFINITY);
    return JSON.parse(text) as T;
  } catch (err) {
    throw new KubeRequestError(`GET ${path.split('?')[0]}: the answer did not arrive whole within ${options.timeoutMs} ms (${(err as Error).message})`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

function readBounded(response: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
    });
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
    response.on('close', () => {
      if (!response.complete) reject(new Error('connection closed before the answer was complete'));
    });
  });
}

function statusMessage(text: string): string {
  try {
    const status = JSON.parse(text) as { message?: unknown };
    if (typeof status.message === 'string') return status.message;
  } catch {
    // not a Status
  }
  return text.trim().slice(0, 300);
}

/** Node's errors, in the words operators recognise. */
export function describeNetworkError(err: Error & { code?: string }): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return `connection refused (${err.message})`;
    case 'ECONNRESET':
      return `connection reset by peer (${err.message})`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `no such host (${err.message})`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `no route to host (${err.message})`;
    default:
      return err.message;
  }
}
