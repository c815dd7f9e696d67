import type { IncomingMessage } from 'node:http';
import { ReviewError } from '../errors.js';
import { COOPERATIVE_ABOVE_BYTES, parseJsonCooperatively } from './json.js';

const tooLarge = (limit: number): ReviewError =>
  new ReviewError('REVIEW_TOO_LARGE', 413, `request body exceeds the ${limit} byte limit`, { unreadBody: true });

/**
 * What no policy reads and a large review is mostly made of: the objects' managedFields. A large
 * body is parsed without them (a small one, whole: it costs nothing to keep them).
 */
const UNREAD_FIELDS = [
  ['request', 'object', 'metadata', 'managedFields'],
  ['request', 'oldObject', 'metadata', 'managedFields'],
];

/**
 * Reads a JSON request body of at most `limit` bytes. Unlike body-parser, which on an
 * oversized body first reads (and discards) all of it before answering, this fails as soon
 * as the declared length or the bytes received pass the limit: a client announcing or
 * streaming gigabytes holds no socket and no memory. An empty body reads as `{}`.
 */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > limit) return Promise.reject(tooLarge(limit));
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity') return Promise.reject(new ReviewError('REVIEW_CONTENT_TYPE', 415, `unsupported content encoding "${encoding}"`));
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8') return Promise.reject(new ReviewError('REVIEW_CONTENT_TYPE', 415, `unsupported charset "${charset}"; send UTF-8`));

  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAborted);
      req.off('aborted', onAborted);
    };
    const fail = (error: ReviewError): void => {
      done();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) fail(tooLarge(limit));
      else chunks.push(chunk);
    };
    const onEnd = (): void => {
      done();
      const text = Buffer.concat(chunks, size).toString('utf8').replace(/^\uFEFF/, '');
      if (text.trim() === '') return resolve({});
      const notJson = (err: unknown): void => reject(new ReviewError('REVIEW_NOT_JSON', 400, `body is not valid JSON${parsePosition((err as Error).message)}`));
      // A large body is parsed in slices, yielding between them, so it never holds the event loop for long.
      if (text.length > COOPERATIVE_ABOVE_BYTES) {
        parseJsonCooperatively(text, { omit: UNREAD_FIELDS }).then(resolve, notJson);
        return;
      }
      try {
        resolve(JSON.parse(text) as unknown);
      } catch (err) {
        notJson(err);
      }
    };
    const onAborted = (): void => fail(new ReviewError('REVIEW_INVALID', 400, 'request aborted by the client', { unreadBody: true }));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAborted);
    req.on('aborted', onAborted);
  });
}

/**
 * Where JSON parsing stopped, without the parser's own text: V8 quotes a slice of the body in
 * its message, and a body may carry Secret data that must reach neither the log nor the client.
 */
function parsePosition(message: string): string {
  const position = /at position (\d+)/.exec(message)?.[1];
  if (position) return ` (at position ${position})`;
  return /end of JSON input/.test(message) ? ' (it ends too early)' : '';
}
