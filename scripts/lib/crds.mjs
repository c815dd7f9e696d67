// Applies levee's CustomResourceDefinitions (manifests/crds) and waits until the API server
// serves them, so that `levee probe` can write its ProbeVerdict right away.
import { spawnSync } from 'node:child_process';
import { repoRoot } from './run.mjs';

function kubectl(kubeconfig, args) {
  const result = spawnSync('kubectl', ['--kubeconfig', kubeconfig, ...args], { cwd: repoRoot, encoding: 'utf8' });
  if (result.error) throw new Error(`kubectl could not start: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr.trim()}`);
  return result.stdout;
}

export function applyCrds({ kubeconfig }) {
  kubectl(kubeconfig, ['apply', '-k', 'manifests/crds']);
  kubectl(kubeconfig, ['wait', '--for', 'condition=Established', '--timeout=60s', 'crd/probeverdicts.levee.dev']);
  return ['probeverdicts.levee.dev'];
}
