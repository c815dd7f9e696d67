import { spawn } from 'node:child_process';
import type { ProbeOutcome } from '../types.js';
import type { CommandCheck } from './settings.js';

/** The tail of a command's output kept for its message. */
const MAX_OUTPUT_BYTES = 4096;
const MESSAGE_CHARS = 300;

/**
 * Runs a command in the probe container, without a shell: exit status 0 passes, anything else
 * fails with the last lines it printed. At the deadline the command's whole process group is
 * killed, so a shell script's children do not outlive it.
 */
export function runCommandCheck(check: CommandCheck, signal: AbortSignal): Promise<ProbeOutcome> {
  const [program, ...args] = check.argv as [string, ...string[]];
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  return new Promise<ProbeOutcome>((resolve) => {
    if (signal.aborted) return resolve({ ok: false, stage: 'deadline', message: `${program}: ${reasonOf(signal)}` });
    let output = '';
    const child = spawn(program, args, {
      env: { ...process.env, ...check.env },
      ...(check.workingDir ? { cwd: check.workingDir } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-MAX_OUTPUT_BYTES);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    const onAbort = (): void => {
      killGroup();
      resolve({ ok: false, stage: 'deadline', message: `${program} killed after ${elapsed()} ms: ${reasonOf(signal)}${said(output)}` });
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err: Error & { code?: string }) => {
      signal.removeEventListener('abort', onAbort);
      const why = err.code === 'ENOENT' ? 'not found (or its working directory is missing)' : err.code === 'EACCES' ? 'not executable' : err.message;
      resolve({ ok: false, stage: 'start', message: `${program} could not be started: ${why}` });
    });
    child.on('close', (code, killedBy) => {
      signal.removeEventListener('abort', onAbort);
      // Whatever the command left running in its group goes with it.
      killGroup();
      const details = { exitCode: code, latencyMs: elapsed() };
      if (code === 0) return resolve({ ok: true, details, message: `${program} exited 0 in ${elapsed()} ms${said(output)}` });
      const how = killedBy ? `was killed by ${killedBy}` : `exited ${code}`;
      resolve({ ok: false, stage: 'exit', details, message: `${program} ${how} after ${elapsed()} ms${said(output)}` });
    });
  });
}

/** The last lines a command printed, on one line, for its message. */
function said(output: string): string {
  const text = output.trim().replace(/\s*\n\s*/g, ' | ');
  if (!text) return '';
  return `: ${text.length > MESSAGE_CHARS ? `...${text.slice(-MESSAGE_CHARS)}` : text}`;
}

function reasonOf(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason.message : 'context deadline exceeded';
}
