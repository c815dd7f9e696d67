// `down`: stop what `up` started and delete the cluster's state directory.
import { existsSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { COMPONENTS } from './components.mjs';
import { clusterPaths, clusterPorts, recordedPorts, summary } from './layout.mjs';
import { releasePortBlock } from './ports.mjs';
import { isComponentProcess, runningPid } from './processes.mjs';
import { makeLogger } from './report.mjs';

/**
 * Stops the processes `up` started (by their pid files, after checking each command line
 * names the component), then deletes the state directory (`dir`, default .levee/cluster/)
 * and gives back the ports it held.
 * @param {{log?: false | ((line: string) => void), quiet?: boolean, dir?: string}} [options]
 * @returns {Promise<{kubeconfig: string, userKubeconfig: string, dir: string, apiServerUrl: string, stopped: {name: string, pid: number}[]}>}
 */
export async function clusterDown(options = {}) {
  const log = makeLogger(options);
  const paths = clusterPaths(options.dir);
  const ports = recordedPorts(paths) ?? clusterPorts();
  const result = { ...summary(paths, ports), stopped: [] };
  if (!existsSync(paths.dir)) {
    log(`cluster is not running (no ${paths.dir})`);
    return result;
  }

  const targets = [];
  for (const name of [...COMPONENTS].reverse()) {
    const pid = runningPid(paths, name);
    if (pid === null) continue;
    try {
      process.kill(pid, 'SIGTERM');
      targets.push({ name, pid });
    } catch (error) {
      if (error.code !== 'ESRCH') throw error;
    }
  }
  const alive = () => targets.filter((t) => isComponentProcess(t.pid, t.name, paths.dir));
  const deadline = Date.now() + 10_000;
  while (alive().length && Date.now() < deadline) await sleep(100);
  for (const t of alive()) {
    log(`${t.name} (pid ${t.pid}) ignored SIGTERM for 10s; sending SIGKILL`);
    try {
      process.kill(t.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const killDeadline = Date.now() + 5_000;
  while (alive().length && Date.now() < killDeadline) await sleep(100);

  for (const t of targets) log(`stopped ${t.name} (pid ${t.pid})`);
  if (targets.length === 0) log('no cluster processes were running');
  for (const t of alive()) log(`warning: ${t.name} (pid ${t.pid}) is still running`);
  result.stopped = targets;

  for (const name of COMPONENTS) rmSync(paths.pidFile(name), { force: true });
  releasePortBlock(paths.dir);
  rmSync(paths.dir, { recursive: true, force: true });
  log(`removed ${paths.dir}`);
  return result;
}
