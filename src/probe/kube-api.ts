import type { KubeConfig } from '@kubernetes/client-node';
import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest, type RequestOptions as HttpsRequestOptions } from 'node:https';
import { LeveeError } from '../errors.js';
import { describeNetworkError } from '../kube/request.js';

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  text: string;
}

export interface RequestOptionsExtra {
  body?: unknown;
  contentType?: string;
  /** Per-request deadline; defaults to the client's. */
  timeoutMs?: number;
  /** Aborts with the caller (a probe's own deadline). */
  signal?: AbortSignal;
}

export type ApiVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

/** Told of every request's end: an HTTP answer (any status), or none (refused, reset, timed out; not a caller's abort). */
export type AnswerObserver = (answered: boolean, error?: ApiRequestError) => void;

/** What a client and every view `as()` makes of it share: who is told of each request. */
interface Observers {
  count?: (verb: ApiVerb, caller: string) => void;
  answer?: AnswerObserver;
}

/**
 * The Kubernetes verb of a request: a GET of a collection (an odd number of segments after
 * `/api/v1` or `/apis/<group>/<version>`) is a list, with `watch=true` a watch.
 */
export function verbOf(method: string, url: URL): ApiVerb {
  switch (method.toUpperCase()) {
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
  }
  if (/^(1|true)$/.test(url.searchParams.get('watch') ?? '')) return 'watch';
  const segments = url.pathname.split('/').filter(Boolean);
  const resource = segments[0] === 'api' ? segments.slice(2) : segments[0] === 'apis' ? segments.slice(3) : [];
  return resource.length % 2 === 1 ? 'list' : 'get';
}

/** A request that got no HTTP answer: refused, reset, timed out or aborted. */
export class ApiRequestError extends LeveeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PROBE_REQUEST', message, options);
    this.name = 'ApiRequestError';
  }
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * A small Kubernetes REST client for probes: every request has a deadline and follows an
 * AbortSignal, so a slow or unreachable API server makes a probe fail fast instead of hanging
 * the loop. Connections are not pooled: each probe request sees the path a new client sees.
 */
export class KubeApi {
  readonly server: URL;
  /** Who sends this client's requests (a probe's id, `leader-election`, ...), as request counts are labelled. */
  readonly caller: string;
  private readonly kubeconfig: KubeConfig;
  private readonly defaultTimeoutMs: number;
  /** Shared by a client and every view `as()` makes of it. */
  private readonly observers: Observers;

  constructor(kubeconfig: KubeConfig, defaultTimeoutMs: number, caller = 'levee', observers: Observers = {}) {
    const cluster = kubeconfig.getCurrentCluster();
    if (!cluster) throw new LeveeError('KUBECONFIG_MISSING', 'the kubeconfig has no current cluster');
    this.kubeconfig = kubeconfig;
    this.server = new URL(cluster.server);
    this.defaultTimeoutMs = defaultTimeoutMs;
    this.caller = caller;
    this.observers = observers;
  }

  /** The same client, its requests counted under `caller`. */
  as(caller: string): KubeApi {
    return new KubeApi(this.kubeconfig, this.defaultTimeoutMs, caller, this.observers);
  }

  /** Tells `count` of every request sent through this client and its views, before it is sent. */
  countRequests(count: (verb: ApiVerb, caller: string) => void): void {
    this.observers.count = count;
  }

  /** Tells `observe` how every request through this client and its views ended: answered or not. */
  observeAnswers(observe: AnswerObserver): void {
    this.observers.answer = observe;
  }

  get<T = unknown>(path: string, options: RequestOptionsExtra = {}): Promise<ApiResponse<T>> {
    return this.request<T>('GET', path, options);
  }

  post<T = unknown>(path: string, body: unknown, options: RequestOptionsExtra = {}): Promise<ApiResponse<T>> {
    return this.request<T>('POST', path, { ...options, body });
  }

  put<T = unknown>(path: string, body: unknown, options: RequestOptionsExtra = {}): Promise<ApiResponse<T>> {
    return this.request<T>('PUT', path, { ...options, body });
  }

  mergePatch<T = unknown>(path: string, body: unknown, options: RequestOptionsExtra = {}): Promise<ApiResponse<T>> {
    return this.request<T>('PATCH', path, { ...options, body, contentType: 'application/merge-patch+json' });
  }

  delete<T = unknown>(path: string, options: RequestOptionsExtra = {}): Promise<ApiResponse<T>> {
    return this.request<T>('DELETE', path, options);
  }

  async request<T = unknown>(method: string, path: string, options: RequestOptionsExtra = {}): Promise<ApiResponse<T>> {
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    const what = `${method} ${path.split('?')[0]}`;
    if (options.signal?.aborted) throw new ApiRequestError(`${what}: aborted before it was sent (${reasonOf(options.signal)})`);
    const url = new URL(path, this.server);
    this.observers.count?.(verbOf(method, url), this.caller);
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const requestOptions: HttpsRequestOptions = {
      method,
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || (url.protocol === 'https:' ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      headers: {
        Accept: 'application/json',
        ...(payload ? { 'Content-Type': options.contentType ?? 'application/json', 'Content-Length': String(payload.length) } : {}),
      },
    };
    try {
      await this.kubeconfig.applyToHTTPSOptions(requestOptions);
    } catch (err) {
      // No credentials (a client certificate file gone, an exec plugin failing): the server is never reached.
      const error = new ApiRequestError(`${what}: the kubeconfig's credentials could not be used: ${(err as Error).message}`, { cause: err });
      this.observers.answer?.(false, error);
      throw error;
    }
    // Aborted while the credentials were read: the abort listener below would never hear of it.
    if (options.signal?.aborted) throw new ApiRequestError(`${what}: aborted before it was sent (${reasonOf(options.signal)})`);
    // The agent it makes is an https one; a plain-HTTP server (a test double) needs the default.
    if (url.protocol === 'http:') delete requestOptions.agent;
    const send: (options: RequestOptions, callback: (res: IncomingMessage) => void) => ClientRequest = url.protocol === 'https:' ? httpsRequest : httpRequest;

    return new Promise<ApiResponse<T>>((resolve, reject) => {
      let settled = false;
      let aborted = false;
      let req: ClientRequest | undefined;
      const finish = (error: ApiRequestError | undefined, response?: ApiResponse<T>): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (error) {
          req?.destroy();
          if (!aborted) this.observers.answer?.(false, error);
          reject(error);
        } else {
          this.observers.answer?.(true);
          resolve(response!);
        }
      };
      const timer = setTimeout(
        () => finish(new ApiRequestError(`${what}: context deadline exceeded (no answer within ${timeoutMs} ms)`)),
        timeoutMs,
      );
      const onAbort = (): void => {
        // The caller gave up (a probe's deadline, shutdown): that says nothing about the server.
        aborted = true;
        finish(new ApiRequestError(`${what}: aborted (${reasonOf(options.signal!)})`));
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      req = send(requestOptions, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) finish(new ApiRequestError(`${what}: answer larger than ${MAX_BODY_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('error', (err) => finish(new ApiRequestError(`${what}: ${describeNetworkError(err)}`, { cause: err })));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          finish(undefined, { status: res.statusCode ?? 0, body: parseJson(text) as T, text });
        });
      });
      req.on('error', (err) => finish(new ApiRequestError(`${what}: ${describeNetworkError(err)}`, { cause: err })));
      req.end(payload);
    });
  }
}

/** Turns a 4xx/5xx answer into an error whose message carries the API server's own words. */
export function expectStatus<T>(response: ApiResponse<T>, what: string, ...accepted: number[]): ApiResponse<T> {
  if (accepted.includes(response.status)) return response;
  const status = response.body as { message?: string } | undefined;
  const detail = status?.message ?? response.text.trim().slice(0, 300);
  throw new LeveeError('PROBE_FAILED', `${what}: HTTP ${response.status}${detail ? `: ${detail}` : ''}`);
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function reasonOf(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason.message;
  return typeof reason === 'string' ? reason : 'the probe was cancelled';
}
