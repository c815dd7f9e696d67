import { readFileSync } from 'node:fs';
import { componentPid, e2e, eventually, kubectl, restartStoppedComponents } from './e2e.js';

/**
 * Closing and reopening probe-gate on the e2e cluster: stop kube-controller-manager, wait for
 * the probes to call the cluster Unhealthy, and bring it back with restartStoppedComponents().
 */

export interface ProbeVerdictStatus {
  verdict?: string;
  failing?: string;
  message?: string;
  probes?: Array<{ name: string; status: string; hint?: string }>;
}

export async function verdictStatus(): Promise<ProbeVerdictStatus> {
  const result = await kubectl(['get', 'probeverdicts', 'cluster', '-o', 'json']);
  if (result.code !== 0) return {};
  return (JSON.parse(result.stdout) as { status?: ProbeVerdictStatus }).status ?? {};
}

export async function verdictIs(expected: string): Promise<true | string> {
  const current = await verdictStatus();
  return current.verdict === expected || `verdict ${current.verdict ?? 'none'} (failing: ${current.failing ?? '-'}; ${current.message ?? ''})`;
}

/** What serve reads: the verdict file the harness's probe writes. */
export async function fileVerdictIs(expected: string): Promise<true | string> {
  const env = await e2e();
  try {
    const verdict = (JSON.parse(readFileSync(env.verdictFile, 'utf8')) as { verdict: string }).verdict;
    return verdict === expected || `verdict file says ${verdict}`;
  } catch (err) {
    return (err as Error).message;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops kube-controller-manager and waits until the ProbeVerdict reads Unhealthy; returns how long it took. */
export async function stopControllerManager(): Promise<number> {
  const pid = await componentPid('kube-controller-manager');
  if (!alive(pid)) throw new Error(`kube-controller-manager (pid ${pid}) is not running`);
  const stopped = Date.now();
  process.kill(pid, 'SIGTERM');
  await eventually('the verdict to turn Unhealthy', () => verdictIs('Unhealthy'), 240_000);
  return Date.now() - stopped;
}

/** Restarts what is stopped and waits until serve's verdict file no longer reads Unhealthy (best effort: used in after hooks). */
export async function reopenGate(): Promise<void> {
  await restartStoppedComponents();
  await eventually('the verdict to leave Unhealthy', async () => (await fileVerdictIs('Unhealthy')) !== true || 'still Unhealthy', 180_000).catch(() => undefined);
}
