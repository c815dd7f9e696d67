// The component processes: started detached with their pid and log files, and recognised
// again later by their command line, so that a recycled pid is never taken for a component.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { ClusterError } from './report.mjs';

/** The command line of `pid` (program and arguments), or null when it is gone. */
export function processArgv(pid) {
  try {
    const parts = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (parts.at(-1) === '') parts.pop();
    return parts.length ? parts : null; // a zombie has an empty cmdline
  } catch (error) {
    if (existsSync('/proc/self')) return null;
    // No procfs (macOS): ask ps; arguments are split on spaces, which is enough here.
    const ps = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
    const line = ps.status === 0 ? ps.stdout.trim() : '';
    return line ? line.split(/\s+/) : null;
  }
}

/**
 * Whether `pid` is this cluster's `name`: named so on its command line and using files under
 * `dir` (so .levee/cluster's etcd is never taken for .levee/cluster2's).
 */
export function isComponentProcess(pid, name, dir) {
  const argv = processArgv(pid);
  if (!argv) return false;
  const named = basename(argv[0]) === name || argv[1] === name;
  const inside = `${dir.replace(/\/+$/, '')}/`;
  return named && argv.some((arg) => arg.includes(inside));
}

export function readPid(file) {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The pid of the running component, or null. */
export function runningPid(paths, name) {
  const pid = readPid(paths.pidFile(name));
  return pid !== null && isComponentProcess(pid, name, paths.dir) ? pid : null;
}

export async function startProcess(paths, name, bin, args) {
  const logFile = paths.logFile(name);
  const fd = openSync(logFile, 'a');
  let child;
  try {
    writeSync(fd, `\n==== levee: starting ${name} at ${new Date().toISOString()} ====\n`);
    child = spawn(bin, args, { cwd: paths.dir, detached: true, stdio: ['ignore', fd, fd] });
    await new Promise((resolveSpawn, rejectSpawn) => {
      child.once('spawn', resolveSpawn);
      child.once('error', rejectSpawn);
    });
  } catch (error) {
    throw new ClusterError(name, `cannot start ${bin}: ${error.message}`, logFile);
  } finally {
    closeSync(fd);
  }
  child.unref();
  writeFileSync(paths.pidFile(name), `${child.pid}\n`);
  return child.pid;
}

export function processExists(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}
