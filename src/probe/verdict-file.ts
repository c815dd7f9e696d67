import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, unwatchFile, watchFile, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LeveeError } from '../errors.js';
import type { Logger } from '../logger.js';
import { parseVerdictDocument, type CurrentVerdict, type VerdictDocument } from '../probe-verdict.js';

/**
 * The verdict file `levee probe` writes and `levee serve` reads (a shared emptyDir in the
 * pod). Written to a temporary file in the same directory, flushed, then renamed over the
 * old one: a reader sees the old document or the new one, never half of either.
 */

export function writeVerdictFile(path: string, document: VerdictDocument): void {
  const directory = dirname(path);
  mkdirSync(directory, { recursive: true });
  const temporary = join(directory, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(temporary, `${JSON.stringify(document, null, 2)}\n`, { mode: 0o644 });
    const fd = openSync(temporary, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (err) {
    rmSync(temporary, { force: true });
    throw err;
  }
}

export function readVerdictFile(path: string): VerdictDocument {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new LeveeError('VERDICT_INVALID', `cannot read verdict file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseVerdictDocument(text, path);
}

export interface WatchVerdictOptions {
  intervalMs?: number;
  /**
   * How long a file that was never written may stay missing before that is worth a warning
   * (the probe writes its first verdict after its first run). Until then, a missing file is
   * the probe not having written yet, not a fault.
   */
  overdueMs?: number;
}

/**
 * Follows the verdict file: reads it now and whenever it changes (polling, which survives the
 * rename of every write and the symlink swaps of mounted volumes), and hands every good
 * document to `onVerdict`. A missing or unreadable file keeps the last good document; its
 * growing age is what tells the gate that the probe has stopped reporting. A file not written
 * yet is waited for quietly until it is overdue.
 */
export function watchVerdictFile(path: string, onVerdict: (document: VerdictDocument) => void, logger: Logger, options: WatchVerdictOptions = {}): () => void {
  const intervalMs = options.intervalMs ?? 1000;
  const overdueMs = options.overdueMs ?? 120_000;
  const started = Date.now();
  let lastProblem = '';
  let everRead = false;
  const load = (): void => {
    try {
      onVerdict(readVerdictFile(path));
      everRead = true;
      lastProblem = '';
    } catch (err) {
      const missing = ((err as LeveeError).cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
      if (missing && !everRead && Date.now() - started < overdueMs) return;
      const problem = missing && !everRead ? `no verdict file ${path} ${Math.round(overdueMs / 1000)} s after start: is levee probe running and writing it?` : (err as Error).message;
      if (problem !== lastProblem) logger.warn({ verdictFile: path, err: problem }, 'probe verdict not read; keeping the last one');
      lastProblem = problem;
    }
  };
  load();
  const onChange = (): void => load();
  watchFile(path, { interval: intervalMs, persistent: false }, onChange);
  // A file that never appears changes nothing watchFile would report: look once it is overdue.
  const overdue = setTimeout(() => {
    if (!everRead) load();
  }, overdueMs);
  overdue.unref();
  return () => {
    clearTimeout(overdue);
    unwatchFile(path, onChange);
  };
}

/** The verdict file as `serve` follows it: `current()` is the last good document read from it, for probe-gate. */
export function followVerdictFile(path: string, logger: Logger, options: WatchVerdictOptions = {}): { current: () => CurrentVerdict; stop: () => void } {
  let document: VerdictDocument | undefined;
  const stop = watchVerdictFile(path, (next) => (document = next), logger, options);
  return { current: () => ({ document, file: path }), stop };
}
