import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Server } from 'node:https';
import { LeveeError } from '../errors.js';
import type { Logger } from '../logger.js';

export interface KeyPair {
  cert: Buffer;
  key: Buffer;
}

export function readKeyPair(certFile: string, keyFile: string): KeyPair {
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
  return { cert: read(certFile, 'certificate'), key: read(keyFile, 'key') };
}

/**
 * Reloads the serving certificate when either file changes, without a restart and without
 * dropping connections: new handshakes get the new pair. A pair that fails to load (a
 * half-written rotation) is ignored and the last good one stays in use.
 */
export function watchKeyPair(server: Server, certFile: string, keyFile: string, logger: Logger, intervalMs = 1000): () => void {
  let current = readKeyPair(certFile, keyFile);
  const reload = (): void => {
    try {
      const next = readKeyPair(certFile, keyFile);
      if (next.cert.equals(current.cert) && next.key.equals(current.key)) return;
      server.setSecureContext({ cert: next.cert, key: next.key, minVersion: 'TLSv1.2' });
      current = next;
      logger.info({ certFile }, 'serving certificate reloaded');
    } catch (err) {
      logger.warn({ err: (err as Error).message, certFile }, 'serving certificate not reloaded; keeping the last good one');
    }
  };
  // Polling survives the symlink swaps that Secret volume updates use, where fs.watch loses track.
  watchFile(certFile, { interval: intervalMs, persistent: false }, reload);
  watchFile(keyFile, { interval: intervalMs, persistent: false }, reload);
  return () => {
    unwatchFile(certFile, reload);
    unwatchFile(keyFile, reload);
  };
}
