import { readFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { describeNetworkError } from '../../kube/request.js';
import type { ProbeOutcome } from '../types.js';
import type { HttpCheck } from './settings.js';

/** Only this much of a body is read: enough for `bodyContains`, and a failing message quotes its start. */
const MAX_BODY_BYTES = 64 * 1024;

interface Answer {
  status: number;
  body: string;
  ms: number;
}

/** Statuses a check passes on: its own list, or 200 to 399 as a kubelet's httpGet probe. */
function passes(check: HttpCheck, status: number): boolean {
  return check.expectStatus ? check.expectStatus.includes(status) : status >= 200 && status < 400;
}

function expected(check: HttpCheck): string {
  return check.expectStatus ? check.expectStatus.join(' or ') : '200-399';
}

/**
 * One HTTP request, no redirects followed, no connection reused (each run sees the path a new
 * client sees). Fails on a status outside the expected ones, a body without the expected text,
 * or no answer before the probe's deadline.
 */
export async function runHttpCheck(check: HttpCheck, signal: AbortSignal): Promise<ProbeOutcome> {
  const url = new URL(check.url);
  const what = `${check.method} ${url.origin}${url.pathname}`;
  let headers: Record<string, string> = { 'User-Agent': 'levee-probe', ...check.headers };
  let ca: string | undefined;
  try {
    if (check.bearerTokenFile) headers = { ...headers, Authorization: `Bearer ${(await readFile(check.bearerTokenFile, 'utf8')).trim()}` };
    if (check.caFile) ca = await readFile(check.caFile, 'utf8');
  } catch (err) {
    return { ok: false, stage: 'setup', message: `${what}: ${(err as Error).message}` };
  }
  let answer: Answer;
  try {
    answer = await send(url, check.method, headers, ca, signal);
  } catch (err) {
    return { ok: false, stage: 'connect', message: `${what}: ${(err as Error).message}` };
  }
  const details = { status: answer.status, latencyMs: answer.ms };
  if (!passes(check, answer.status)) {
    const start = answer.body.trim().replace(/\s+/g, ' ').slice(0, 200);
    return { ok: false, stage: 'status', details, message: `${what} answered HTTP ${answer.status} in ${answer.ms} ms, expected ${expected(check)}${start ? `: ${start}` : ''}` };
  }
  if (check.bodyContains !== undefined && !answer.body.includes(check.bodyContains)) {
    return { ok: false, stage: 'body', details, message: `${what} answered HTTP ${answer.status} in ${answer.ms} ms without ${JSON.stringify(check.bodyContains)} in its body` };
  }
  return { ok: true, details, message: `${what} answered HTTP ${answer.status} in ${answer.ms} ms` };
}

function send(url: URL, method: string, headers: Record<string, string>, ca: string | undefined, signal: AbortSignal): Promise<Answer> {
  const started = performance.now();
  const https = url.protocol === 'https:';
  return new Promise<Answer>((resolve, reject) => {
    if (signal.aborted) return reject(new Error(reasonOf(signal)));
    const options = { method, headers, signal, agent: false as const, ...(https && ca ? { ca } : {}) };
    const req = (https ? httpsRequest : httpRequest)(url, options, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size >= MAX_BODY_BYTES) return;
        chunks.push(chunk);
        size += chunk.length;
        // Enough read: the rest of a long (or endless) body is not waited for.
        if (size >= MAX_BODY_BYTES) res.destroy();
      });
      const done = (): void =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY_BYTES), ms: Math.round(performance.now() - started) });
      // A body cut short (the deadline, a reset) is a failure, as a kubelet's httpGet probe
      // that times out reading it: only a complete body, or the 64 KiB read, counts.
      const cut = (why: string): void => (size >= MAX_BODY_BYTES ? done() : reject(new Error(`the body was cut short: ${why}`)));
      res.on('end', done);
      res.on('close', () => (res.complete ? done() : cut(signal.aborted ? reasonOf(signal) : 'the connection closed')));
      res.on('error', (err) => cut(signal.aborted ? reasonOf(signal) : describeNetworkError(err)));
    });
    req.on('error', (err) => reject(new Error(signal.aborted ? reasonOf(signal) : describeNetworkError(err))));
    req.end();
  });
}

function reasonOf(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason.message : 'context deadline exceeded';
}
