import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from './types.js';
import { KubeStatusError, openGet } from './request.js';

/**
 * One watch request, with a watchdog. The API server is asked to end the watch after
 * `timeoutSeconds` (it does, to the second) and to send bookmarks; so a healthy watch never
 * goes longer than `timeoutSeconds` without a byte, and one that says nothing at all, not an
 * event, not a bookmark, not its end, for `silenceMs` is dead however open its socket looks (a
 * NAT or load balancer that dropped the connection without a FIN, a peer that stopped
 * forwarding). The watchdog then destroys it and says so; the caller relists.
 */

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject;
}

/** Why a watch ended. */
export type WatchEnd =
  /** The server ended it (its timeout, or it is shutting down): watch again from the last resourceVersion. */
  | { reason: 'closed' }
  /** 410 Gone: the resourceVersion is too old for the server's history: relist. */
  | { reason: 'gone' }
  /** Nothing at all arrived for `silenceMs`: the path is dead; `lastHeard` is when it last said something. */
  | { reason: 'silent'; lastHeard: number; error: Error }
  /** Refused, reset, an error status, a broken stream. */
  | { reason: 'failed'; error: Error }
  /** The caller stopped it. */
  | { reason: 'stopped' };

export interface WatchOptions {
  kubeconfig: KubeConfig;
  /** The collection, e.g. /api/v1/pods. */
  path: string;
  resourceVersion: string;
  labelSelector?: string;
  fieldSelector?: string;
  timeoutSeconds: number;
  silenceMs: number;
  /** The answer's headers must arrive within this. */
  headersTimeoutMs: number;
  onEvent(event: WatchEvent): void;
  clock?: () => number;
}

export interface RunningWatch {
  /** Settles when the watch ends, for whatever reason; never rejects. */
  readonly ended: Promise<WatchEnd>;
  stop(): void;
}

const EVENT_TYPES = new Set<string>(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK']);

export function watchPath(options: Pick<WatchOptions, 'path' | 'resourceVersion' | 'labelSelector' | 'fieldSelector' | 'timeoutSeconds'>): string {
  const query = new URLSearchParams({ watch: 'true', allowWatchBookmarks: 'true', timeoutSeconds: String(options.timeoutSeconds) });
  if (options.resourceVersion) query.set('resourceVersion', options.resourceVersion);
  if (options.labelSelector) query.set('labelSelector', options.labelSelector);
  if (options.fieldSelector) query.set('fieldSelector', options.fieldSelector);
  return `${options.path}?${query.toString()}`;
}

export function startWatch(options: WatchOptions): RunningWatch {
  const clock = options.clock ?? Date.now;
  const abort = new AbortController();
  let destroy = (): void => abort.abort();
  let finish: (end: WatchEnd) => void = () => undefined;
  const ended = new Promise<WatchEnd>((resolve) => {
    let done = false;
    finish = (end) => {
      if (done) return;
      done = true;
      clearTimeout(watchdog);
      destroy();
      resolve(end);
    };
  });
  let lastHeard = clock();
  const silent = (): void =>
    finish({ reason: 'silent', lastHeard, error: new Error(`watch ${options.path} said nothing (no event, no bookmark, no end) for ${Math.round((clock() - lastHeard) / 1000)} s`) });
  // Armed from the start: a request whose answer never begins is as silent as a stream that stops.
  const watchdog = setTimeout(silent, options.silenceMs);
  watchdog.unref();
  const heard = (): void => {
    lastHeard = clock();
    watchdog.refresh();
  };

  openGet(options.kubeconfig, watchPath(options), { headersTimeoutMs: options.headersTimeoutMs, signal: abort.signal }).then(
    (stream) => {
      destroy = stream.destroy;
      if (abort.signal.aborted) stream.destroy();
      heard();
      let pending = '';
      stream.response.setEncoding('utf8');
      stream.response.on('data', (chunk: string) => {
        heard();
        pending += chunk;
        let newline = pending.indexOf('\n');
        while (newline >= 0) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (line) handleLine(line);
          newline = pending.indexOf('\n');
        }
      });
      stream.response.on('end', () => finish({ reason: 'closed' }));
      stream.response.on('error', (error) => finish({ reason: 'failed', error }));
      stream.response.on('close', () => {
        if (!stream.response.complete) finish({ reason: 'failed', error: new Error(`watch ${options.path}: connection closed mid-stream`) });
      });
    },
    (error: Error) => finish(error instanceof KubeStatusError && error.status === 410 ? { reason: 'gone' } : { reason: 'failed', error }),
  );

  function handleLine(line: string): void {
    let event: { type?: string; object?: KubeObject & { code?: number; message?: string } };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      finish({ reason: 'failed', error: new Error(`watch ${options.path}: a line that is not JSON`) });
      return;
    }
    if (event.type === 'ERROR') {
      const status = event.object;
      if (status?.code === 410) finish({ reason: 'gone' });
      else finish({ reason: 'failed', error: new KubeStatusError(status?.code ?? 500, `watch ${options.path}: ${status?.message ?? 'error event'}`) });
      return;
    }
    if (!event.type || !EVENT_TYPES.has(event.type) || !event.object) return;
    options.onEvent({ type: event.type as WatchEventType, object: event.object });
  }

  return {
    ended,
    stop: () => finish({ reason: 'stopped' }),
  };
}
