// Applies levee's CustomResourceDefinitions (manifests/crds) and waits until the API server
// serves them, so that `levee probe` can write its ProbeVerdict right away.
import { kubectl } from './kubectl.mjs';

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
  waitEstablished(kubeconfig, 'probeverdicts.levee.dev');
  return ['probeverdicts.levee.dev'];
}
