// The API server's CPU profile of a measured chunk (`--apiserver-profiles=DIR`): where its time
// goes with each target registered (matchConditions, the calls, the writes themselves). The
// bench's cluster runs kube-apiserver with --profiling on for this only; read a profile with
// `go tool pprof -top -cum DIR/<file>`.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';

/** kube-apiserver's flag that serves /debug/pprof (off in every other cluster levee starts). */
export const PROFILING_ARGS = { 'kube-apiserver': ['--profiling=true'] };

/**
 * Starts a `seconds`-long CPU profile of the API server into `dir/name.pprof`; the promise it
 * returns settles when the profile is written, and rejects, naming the file, when it is not.
 */
export function captureProfile({ kubeconfig, dir, name, seconds }) {
  const file = join(dir, `${name}.pprof`);
  const out = openSync(file, 'w');
  const child = spawn('kubectl', ['--kubeconfig', kubeconfig, 'get', '--raw', `/debug/pprof/profile?seconds=${seconds}`], { stdio: ['ignore', out, 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`the API server's profile ${file}: ${err.message}`)));
    child.once('exit', (code) => {
      closeSync(out);
      if (code === 0) resolve(file);
      else reject(new Error(`the API server's profile ${file}: kubectl exited ${code}: ${stderr.trim()}`));
    });
  });
}
