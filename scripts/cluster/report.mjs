// How the cluster script reports: progress lines on stderr, and errors that carry the tail of
// the failing component's log.
import { readFileSync } from 'node:fs';

/** An error from one component, carrying the tail of its log. */
export class ClusterError extends Error {
  constructor(component, message, logFile, { exited = false } = {}) {
    const logTail = logFile ? tail(logFile, 20) : '';
    super(
      `levee: ${component}: ${message}` +
        (logFile ? `\n--- last lines of ${logFile} ---\n${logTail || '(empty)'}\n---` : ''),
    );
    this.name = 'ClusterError';
    this.component = component;
    this.logFile = logFile;
    this.logTail = logTail;
    /** Whether the component's process exited (rather than timing out). */
    this.exited = exited;
  }
}

function tail(file, lines) {
  try {
    const text = readFileSync(file, 'utf8').replace(/\n+$/, '');
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export function makeLogger(options) {
  if (options.log === false || options.quiet) return () => {};
  if (typeof options.log === 'function') return options.log;
  return (line) => process.stderr.write(`levee: ${line}\n`);
}
