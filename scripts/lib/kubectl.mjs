// kubectl with an explicit kubeconfig, run from the repository root, for the scripts and the
// bench: throws with kubectl's stderr unless told what failure to accept.
import { spawnSync } from 'node:child_process';
import { repoRoot } from './run.mjs';

/**
 * stdout of `kubectl --kubeconfig <kubeconfig> <args>`; throws with stderr unless `allowFailure`
 * (or `allowExisting` and the object already exists). `status: true` returns the exit code instead.
 * @param {string} kubeconfig
 * @param {string[]} args
 * @param {{input?: string, allowFailure?: boolean, allowExisting?: boolean, status?: boolean}} [options]
 */
export function kubectl(kubeconfig, args, { input, allowFailure = false, allowExisting = false, status = false } = {}) {
  const result = spawnSync('kubectl', ['--kubeconfig', kubeconfig, ...args], { cwd: repoRoot, input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new Error(`kubectl could not start: ${result.error.message}`);
  if (status) return result.status;
  if (result.status !== 0 && !allowFailure && !(allowExisting && /AlreadyExists|already exists/.test(result.stderr))) {
    throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr.trim()}`);
  }
  return result.stdout;
}
