// Waiting for a component to become usable, failing early (with its log) when it exits.
import { setTimeout as sleep } from 'node:timers/promises';
import { isComponentProcess } from './processes.mjs';
import { ClusterError } from './report.mjs';

export async function waitUntil({ paths, component, what, timeoutMs, pid, check }) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const done = await check();
      if (done) return done;
    } catch (error) {
      last = error.message;
    }
    if (pid && !isComponentProcess(pid, component, paths.dir)) {
      throw new ClusterError(component, `exited while ${what}`, paths.logFile(component), { exited: true });
    }
    if (Date.now() > deadline) {
      throw new ClusterError(
        component,
        `timed out after ${Math.round(timeoutMs / 1000)}s ${what}${last ? ` (last: ${last})` : ''}`,
        paths.logFile(component),
      );
    }
    await sleep(200);
  }
}

export function nodeProblems(node) {
  const ready = (node.status?.conditions ?? []).find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') return `${node.metadata.name} not Ready`;
  const taint = (node.spec?.taints ?? []).find((t) => t.key.startsWith('node.kubernetes.io/'));
  if (taint) return `${node.metadata.name} has taint ${taint.key}`;
  return '';
}
