import { LeveeError } from '../errors.js';

/**
 * The most input `levee audit -f` reads in one run, across all files and stdin. The input is
 * judged as a whole (its objects are context for each other), so it is read whole, and memory
 * grows with it: past the limit the audit stops before judging anything, rather than judge
 * part of the input.
 */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

export class InputBudget {
  private used = 0;

  constructor(readonly maxBytes: number = DEFAULT_MAX_BYTES) {}

  get bytesRead(): number {
    return this.used;
  }

  /** Counts `bytes` more from `source`; refuses (exit 2) once the total passes the limit. */
  take(bytes: number, source: string): void {
    this.used += bytes;
    if (this.used > this.maxBytes) {
      throw new LeveeError(
        'AUDIT_INPUT_TOO_LARGE',
        `the input is larger than --max-bytes ${this.maxBytes} (${formatBytes(this.maxBytes)}), reached at ${source}; ` +
          'nothing was judged: raise --max-bytes or audit fewer files at a time',
      );
    }
  }
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(bytes % (1024 * 1024) === 0 ? 0 : 1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(0)} KiB`;
  return `${bytes} bytes`;
}
