// Applies levee's CustomResourceDefinitions (manifests/crds) and the openreports.io ones its
// Reports need (pinned upstream module, scripts/lib/openreports.mjs), and waits until the API
// server serves them, so that `levee probe` can write its ProbeVerdict and Reports right away.
import { kubectl } from './kubectl.mjs';
import { OPENREPORTS_CRDS, openreportsCrdFiles } from './openreports.mjs';

// `kubectl wait` gives up at once, instead of waiting, on a CRD created so recently that the API
// server has not yet written its status (".status.conditions accessor error: <nil>").
const STATUS_NOT_WRITTEN = /status\.conditions accessor error/;

function waitEstablished(kubeconfig, crd, timeoutSeconds = 60) {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    try {
      return kubectl(kubeconfig, ['wait', '--for', 'condition=Established', `--timeout=${timeoutSeconds}s`, `crd/${crd}`]);
    } catch (err) {
      if (!STATUS_NOT_WRITTEN.test(err.message) || Date.now() > deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
    }
  }
}

export function applyCrds({ kubeconfig }) {
  kubectl(kubeconfig, ['apply', '-k', 'manifests/crds']);
  // Server-side: an upgrade of the pin replaces the schema without a last-applied annotation.
  kubectl(kubeconfig, ['apply', '--server-side', '--force-conflicts', '--field-manager', 'levee', ...openreportsCrdFiles().flatMap((file) => ['-f', file])]);
  const crds = ['probeverdicts.levee.dev', ...OPENREPORTS_CRDS];
  for (const crd of crds) waitEstablished(kubeconfig, crd);
  return crds;
}
