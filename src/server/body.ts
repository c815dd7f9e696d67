import type { NextFunction, Request, Response } from 'express';

/**
 * Reads a JSON request body of at most `limit` bytes. Unlike body-parser, which on an
 * oversized body first reads (and discards) all of it before answering, this answers 413 as
 * soon as the declared length or the bytes received pass the limit: a client announcing or
 * streaming gigabytes holds no socket and no memory. The error objects carry body-parser's
 * `type` names, which the app's error handler turns into answers.
 */
export function readJsonBody(limit: number) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const declared = Number(req.headers['content-length'] ?? Number.NaN);
    if (declared > limit) return next(bodyError('entity.too.large', 413, `request body exceeds the ${limit} byte limit`, { limit }));
    const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding !== 'identity') return next(bodyError('encoding.unsupported', 415, `unsupported content encoding "${encoding}"`));
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset && charset !== 'utf-8' && charset !== 'utf8') return next(bodyError('charset.unsupported', 415, `unsupported charset "${charset}"; send UTF-8`));

    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      next(err);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) settle(bodyError('entity.too.large', 413, `request body exceeds the ${limit} byte limit`, { limit }));
      else chunks.push(chunk);
    };
    const onEnd = (): void => {
      const text = Buffer.concat(chunks, size).toString('utf8').replace(/^\uFEFF/, '');
      if (text.trim() === '') {
        req.body = {};
        return settle();
      }
      try {
        req.body = JSON.parse(text) as unknown;
      } catch (err) {
        return settle(bodyError('entity.parse.failed', 400, (err as Error).message));
      }
      settle();
    };
    const onError = (): void => settle(bodyError('request.aborted', 400, 'request aborted by the client'));
    const onAborted = onError;
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  };
}

export interface BodyError extends Error {
  type: string;
  status: number;
  limit?: number;
}

function bodyError(type: string, status: number, message: string, extra: { limit?: number } = {}): BodyError {
  return Object.assign(new Error(message), { type, status, ...extra });
}
