import { X509Certificate } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Server, ServerOptions } from 'node:https';
import { LeveeError } from '../errors.js';
import type { Logger } from '../logger.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** CA bundle for client certificates; when given, review routes require one it signed. */
  clientCAFile?: string;
}

export interface KeyPair {
  cert: Buffer;
  key: Buffer;
  clientCA?: Buffer;
}

export function readKeyPair(files: TlsFiles): KeyPair {
  const read = (path: string, what: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new LeveeError(
        'TLS_UNREADABLE',
        `cannot read TLS ${what} ${path}: ${(err as Error).message}; create one with \`levee certs --out certs\``,
      );
    }
  };
  const pair: KeyPair = { cert: read(files.certFile, 'certificate'), key: read(files.keyFile, 'key') };
  if (files.clientCAFile) pair.clientCA = read(files.clientCAFile, 'client CA');
  return pair;
}

/** When the (first) certificate of a PEM chain stops being valid, in Unix seconds. */
export function certificateNotAfter(cert: Buffer): number {
  try {
    return Math.floor(Date.parse(new X509Certificate(cert).validTo) / 1000);
  } catch (err) {
    throw new LeveeError('TLS_INVALID', `the serving certificate cannot be parsed: ${(err as Error).message}`);
  }
}

/**
 * What the listener and every reloaded context are built from. With a client CA, every
 * handshake asks for a client certificate and verifies it against that CA only (the `ca` of
 * the context replaces the default roots), but a connection without one still completes:
 * /healthz, /readyz and /metrics stay open to the kubelet and to scrapers, and the review
 * routes refuse it (client-auth.ts).
 */
export function tlsOptions(pair: KeyPair): ServerOptions {
  return {
    cert: pair.cert,
    key: pair.key,
    minVersion: 'TLSv1.2',
    ...(pair.clientCA ? { ca: pair.clientCA, requestCert: true, rejectUnauthorized: false } : {}),
  };
}

/** New handshakes use `pair` from now on; connections already open keep theirs. */
export function applyKeyPair(server: Server, pair: KeyPair): void {
  const { requestCert: _request, rejectUnauthorized: _reject, ...context } = tlsOptions(pair);
  server.setSecureContext(context);
}

const samePair = (a: KeyPair, b: KeyPair): boolean =>
  a.cert.equals(b.cert) && a.key.equals(b.key) && (a.clientCA === undefined ? b.clientCA === undefined : b.clientCA !== undefined && a.clientCA.equals(b.clientCA));

/**
 * Reloads the serving certificate (and the client CA) when a file changes, without a restart
 * and without dropping connections: new handshakes get the new material. A set that fails to
 * load (a half-written rotation) is ignored and the last good one stays in use.
 */
export function watchKeyPair(
  server: Server,
  files: TlsFiles,
  logger: Logger,
  onReloaded: (pair: KeyPair) => void = () => undefined,
  intervalMs = 1000,
): () => void {
  let current = readKeyPair(files);
  const reload = (): void => {
    try {
      const next = readKeyPair(files);
      if (samePair(next, current)) return;
      applyKeyPair(server, next);
      current = next;
      onReloaded(next);
      logger.info({ certFile: files.certFile, clientCAFile: files.clientCAFile }, 'serving certificate reloaded');
    } catch (err) {
      logger.warn({ err: (err as Error).message, certFile: files.certFile }, 'serving certificate not reloaded; keeping the last good one');
    }
  };
  // Polling survives the symlink swaps that Secret volume updates use, where fs.watch loses track.
  const watched = [files.certFile, files.keyFile, ...(files.clientCAFile ? [files.clientCAFile] : [])];
  for (const file of watched) watchFile(file, { interval: intervalMs, persistent: false }, reload);
  return () => {
    for (const file of watched) unwatchFile(file, reload);
  };
}
