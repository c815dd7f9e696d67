// OPA Gatekeeper for the end-to-end bench: the manager built from its Go module at the version
// pinned in tools/gatekeeper (tools/build.sh gatekeeper), run on the host against the local
// API server, out of cluster. What it needs there:
//   - its CRDs, from the same module's Helm chart (charts/gatekeeper/crds), and its namespace;
//   - a serving certificate: cert rotation is off (--disable-cert-rotation), the bench's CA
//     signs one for 127.0.0.1 in --cert-dir, and the bench registers the webhook itself, by
//     URL (https://127.0.0.1:<port>/v1/admit) with that CA;
//   - a Pod object to stand for the process (POD_NAME, POD_NAMESPACE=gatekeeper-system): a
//     placeholder that no scheduler picks up. Gatekeeper makes its status objects children of
//     its Pod; with --debug-use-fake-pod that owner does not exist, the garbage collector
//     deletes every status object as soon as it is written, and Gatekeeper writes it again,
//     several times a second for as long as it runs;
//   - two processes, as a Helm install has two Deployments: one with `--operation=generate`
//     (and `audit`, which sets up the engine generate needs; --audit-interval=0 keeps it from
//     ever auditing) turns the ConstraintTemplate into its constraint CRD, the audit pod's job
//     in a cluster, and stops; the measured one runs `--operation=webhook` only. No audit
//     runs, no status writers, no mutation, and the k8s-native (CEL) driver off, as the
//     template is Rego;
//   - the sync Config (bench/gatekeeper/sync.yaml) so that data.inventory holds Services,
//     EndpointSlices, Pods, ReplicaSets and workloads, then the ConstraintTemplate and its
//     Constraint (bench/gatekeeper/scale-to-zero.yaml).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { freePort, spawnLogged } from '../processes.mjs';
import { getLocal, kubectl, waitFor } from './kube.mjs';

const repo = new URL('../../', import.meta.url).pathname;
export const NAMESPACE = 'gatekeeper-system';
export const WEBHOOK_NAME = 'validation.gatekeeper.sh';

/** Where the pinned Gatekeeper module is unpacked in the Go module cache (downloaded by the build). */
export function gatekeeperModuleDir() {
  const env = { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod', PATH: `/usr/local/go/bin:${process.env.PATH}` };
  const result = spawnSync('go', ['list', '-m', '-f', '{{.Dir}}', 'github.com/open-policy-agent/gatekeeper/v3'], { cwd: join(repo, 'tools', 'gatekeeper'), env, encoding: 'utf8' });
  if (result.status !== 0 || !result.stdout.trim()) throw new Error(`cannot locate the Gatekeeper module: ${result.stderr}`);
  return result.stdout.trim();
}

export const POD_NAME = 'gatekeeper-bench';

/** CRDs, namespace, the Pod that stands for the process, and the sync Config; returns the CRD count. */
export async function installGatekeeperResources(kubeconfig) {
  const crds = join(gatekeeperModuleDir(), 'charts', 'gatekeeper', 'crds');
  kubectl(kubeconfig, ['apply', '--server-side', '--force-conflicts', '-f', crds]);
  kubectl(kubeconfig, ['wait', '--for', 'condition=Established', '--timeout=120s', 'crd', '-l', 'gatekeeper.sh/system=yes']);
  kubectl(kubeconfig, ['create', 'namespace', NAMESPACE], { allowExisting: true });
  // A Pod needs its namespace's default ServiceAccount, which a controller creates shortly after the namespace.
  await waitFor(`ServiceAccount ${NAMESPACE}/default`, () => kubectl(kubeconfig, ['get', 'serviceaccount', 'default', '-n', NAMESPACE], { allowFailure: true, status: true }) === 0, 120_000);
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: POD_NAME, namespace: NAMESPACE, labels: { 'bench.levee.dev/placeholder': 'gatekeeper' } },
    spec: { schedulerName: 'bench-unscheduled', containers: [{ name: 'manager', image: 'openpolicyagent/gatekeeper:v3.23.1' }] },
  };
  kubectl(kubeconfig, ['apply', '-f', '-'], { input: JSON.stringify(pod) });
  kubectl(kubeconfig, ['apply', '-f', join(repo, 'bench', 'gatekeeper', 'sync.yaml')]);
  return Number(kubectl(kubeconfig, ['get', 'crd', '-l', 'gatekeeper.sh/system=yes', '-o', 'name']).trim().split('\n').filter(Boolean).length);
}

/** `operations`: ['webhook'] for the measured process, ['generate', 'audit'] (audit never runs: --audit-interval=0) to make the constraint CRD. */
export async function startGatekeeper({ binary, kubeconfig, certDir, logFile, operations = ['webhook'] }) {
  const port = await freePort();
  const health = await freePort();
  const metrics = await freePort();
  const args = [
    ...operations.map((operation) => `--operation=${operation}`),
    '--audit-interval=0',
    `--port=${port}`,
    '--host=127.0.0.1',
    `--cert-dir=${certDir}`,
    '--disable-cert-rotation',
    `--health-addr=127.0.0.1:${health}`,
    '--metrics-addr=0',
    `--prometheus-port=${metrics}`,
    '--enable-k8s-native-validation=false',
    '--enable-external-data=false',
    '--enable-generator-resource-expansion=false',
    '--log-level=WARNING',
    `--exempt-namespace=${NAMESPACE}`,
  ];
  const { child, stop } = spawnLogged(binary, args, {
    logFile,
    env: { ...process.env, KUBECONFIG: kubeconfig, POD_NAMESPACE: NAMESPACE, POD_NAME },
    killAfterMs: 15_000,
  });
  try {
    await waitFor('Gatekeeper /readyz', async () => {
      if (child.exitCode !== null) throw new Error(`gatekeeper exited with ${child.exitCode}; see ${logFile}`);
      return (await getLocal(health, '/readyz')).status === 200;
    }, 300_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, metricsPort: metrics, pid: child.pid, args, stop };
}

/** The template and constraint; waits until the constraint's CRD is served and the constraint exists. */
export async function applyScaleToZeroConstraint(kubeconfig) {
  const file = join(repo, 'bench', 'gatekeeper', 'scale-to-zero.yaml');
  kubectl(kubeconfig, ['apply', '-f', file], { allowFailure: true });
  await waitFor('the LeveeScaleToZero constraint kind', () => {
    const result = kubectl(kubeconfig, ['get', 'crd', 'leveescaletozero.constraints.gatekeeper.sh', '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}'], { allowFailure: true });
    return result.trim() === 'True';
  }, 120_000);
  await waitFor('the scale-to-zero constraint to be accepted', () => kubectl(kubeconfig, ['apply', '-f', file], { allowFailure: true, status: true }) === 0, 120_000);
}

/** Objects Gatekeeper holds in data.inventory, per kind, from its gatekeeper_sync metric. */
export async function syncedObjects(metricsPort) {
  const { text } = await getLocal(metricsPort, '/metrics', { tls: false });
  const counts = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('gatekeeper_sync{')) continue;
    if (!line.includes('status="active"')) continue;
    const kind = /kind="([^"]+)"/.exec(line)?.[1];
    if (kind) counts[kind] = Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return counts;
}

/** Gatekeeper's validating webhook, registered by URL as the bench does for every target. */
export function gatekeeperWebhook({ port, caBundle, name }) {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name, labels: { 'bench.levee.dev/target': 'gatekeeper' } },
    webhooks: [
      {
        name: WEBHOOK_NAME,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        matchPolicy: 'Equivalent',
        failurePolicy: 'Fail',
        timeoutSeconds: 5,
        clientConfig: { url: `https://127.0.0.1:${port}/v1/admit`, caBundle },
        namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', NAMESPACE, 'levee-system'] }] },
        rules: [
          {
            apiGroups: ['apps'],
            apiVersions: ['v1'],
            resources: ['deployments', 'statefulsets', 'replicasets', 'deployments/scale', 'statefulsets/scale', 'replicasets/scale'],
            operations: ['CREATE', 'UPDATE'],
            scope: 'Namespaced',
          },
        ],
      },
    ],
  };
}
