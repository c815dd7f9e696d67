import assert from 'node:assert/strict';
import { e2e, eventually, kubectl, readyEndpoints } from '../support/e2e.js';
import { minimalCrd } from '../support/crds.js';

/**
 * Issue 12 item 6 on a real API server: an autoscaler scaling its own workload to zero, when
 * an autoscaler object in levee's caches lets it reach zero, gets `autoscaler-to-zero`'s
 * warning instead of a refusal; so does an app shipped at zero under a ScaledObject or an
 * HTTPScaledObject (the KEDA HTTP add-on pattern).
 *
 * The autoscalers' requests are sent as they send them, through impersonation:
 * KEDA's operator reads `deployments/<name>/scale` and PUTs it back with the new replicas
 * (k8s.io/client-go's scale client: `Scales(ns).Get`, then `Scales(ns).Update`, in
 * github.com/kedacore/keda/v2 pkg/scaling/executor/scale_scaledobjects.go,
 * `updateScaleOnScaleTarget`), as `system:serviceaccount:keda:keda-operator`; the HPA
 * controller does the same through its scale client as
 * `system:serviceaccount:kube-system:horizontal-pod-autoscaler` (kube-controller-manager
 * with --use-service-account-credentials, as this cluster runs it).
 */

const namespace = `autoscale-${Date.now().toString(36)}`;
const KEDA = 'system:serviceaccount:keda:keda-operator';
const HPA_CONTROLLER = 'system:serviceaccount:kube-system:horizontal-pod-autoscaler';

function deployment(name: string, replicas: number): string {
  const labels = { app: name };
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1.0' }] } } },
  });
}

function service(name: string): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector: { app: name }, ports: [{ port: 80 }] } });
}

function scaledObject(name: string, target: string, spec: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name, namespace },
    spec: { scaleTargetRef: { name: target }, triggers: [{ type: 'cpu', metricType: 'Utilization', metadata: { value: '60' } }], ...spec },
  });
}

async function apply(manifest: string): Promise<{ stdout: string; stderr: string }> {
  const result = await kubectl(['apply', '-f', '-'], { input: manifest });
  assert.equal(result.code, 0, result.stderr);
  return result;
}

async function replicas(name: string): Promise<string> {
  const result = await kubectl(['get', 'deployment', name, '-n', namespace, '-o', 'jsonpath={.spec.replicas}']);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

/**
 * What KEDA's and the HPA controller's scale client send, as `user`: GET the Scale of the
 * Deployment, then PUT it back with the new replicas (`kubectl get/replace --raw` send exactly
 * those two requests).
 */
async function scaleAs(user: string, name: string, to: number, dryRun = false): Promise<{ code: number; stdout: string; stderr: string }> {
  const path = `/apis/apps/v1/namespaces/${namespace}/deployments/${name}/scale`;
  // As the scale client does: read the Scale, write it back, and read again when the
  // Deployment changed in between (its controller writes status after every scale).
  for (let attempt = 1; ; attempt++) {
    const current = await kubectl(['get', '--raw', path, `--as=${user}`]);
    assert.equal(current.code, 0, current.stderr);
    const scale = JSON.parse(current.stdout) as { spec: { replicas?: number } };
    // ScaleSpec.replicas is omitempty: the scale client sends `spec: {}` for zero.
    scale.spec = to === 0 ? {} : { replicas: to };
    const result = await kubectl(['replace', '--raw', dryRun ? `${path}?dryRun=All` : path, '-f', '-', `--as=${user}`], { input: JSON.stringify(scale) });
    if (attempt === 5 || !/\(Conflict\)/.test(result.stderr)) return result;
  }
}

async function ready(name: string): Promise<void> {
  await apply(deployment(name, 1));
  await apply(service(name));
  await eventually(`a ready endpoint behind Service ${name}`, async () => (await readyEndpoints(namespace, name)) === 1, 120_000);
}

describe('e2e: autoscalers scaling to zero (issue 12 item 6)', function () {
  this.timeout(240_000);

  before(async function () {
    this.timeout(1_800_000);
    await e2e();
    assert.equal((await kubectl(['create', 'namespace', namespace])).code, 0);
    for (const crd of [minimalCrd('keda.sh', 'ScaledObject', 'scaledobjects', { versions: ['v1alpha1'] }), minimalCrd('http.keda.sh', 'HTTPScaledObject', 'httpscaledobjects', { versions: ['v1alpha1'] })]) {
      assert.equal((await kubectl(['apply', '-f', '-'], { input: crd })).code, 0);
    }
    assert.equal((await kubectl(['wait', '--for', 'condition=Established', '--timeout=60s', 'crd/scaledobjects.keda.sh', 'crd/httpscaledobjects.http.keda.sh'])).code, 0);
    // KEDA's operator may scale workloads, as its Helm chart's ClusterRole lets it.
    await apply(JSON.stringify({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: `${namespace}-keda-scale` },
      rules: [{ apiGroups: ['apps'], resources: ['deployments/scale', 'deployments'], verbs: ['get', 'list', 'watch', 'update', 'patch'] }],
    }));
    await apply(JSON.stringify({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: `${namespace}-keda-scale` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${namespace}-keda-scale` },
      subjects: [
        { kind: 'ServiceAccount', name: 'keda-operator', namespace: 'keda' },
        // Another service account with the same rights, which levee must not take for KEDA.
        { kind: 'ServiceAccount', name: 'impostor', namespace: 'default' },
      ],
    }));
  });

  after(async () => {
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
    await kubectl(['delete', 'clusterrole,clusterrolebinding', `${namespace}-keda-scale`, '--ignore-not-found']);
  });

  it("warns, and allows, KEDA's operator scaling 1 -> 0 a Deployment its ScaledObject (minReplicaCount 0) lets reach zero", async () => {
    await ready('queue');
    const written = await apply(scaledObject('queue', 'queue', { minReplicaCount: 0 }));
    assert.match(written.stderr, /Warning: .*\[scale-to-zero\] ScaledObject\/queue can scale Deployment\/queue to 0 replicas/, 'judged when written');
    await eventually('levee to cache the ScaledObject', async () => {
      const probe = await scaleAs(KEDA, 'queue', 0, true);
      return probe.code === 0 || probe.stderr;
    });
    const result = await scaleAs(KEDA, 'queue', 0);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Warning: .*\[scale-to-zero\] scaling Deployment\/queue to 0 replicas, which ScaledObject\/queue lets reach zero, leaves Service queue/);
    assert.equal(await replicas('queue'), '0');
    const back = await scaleAs(KEDA, 'queue', 1);
    assert.equal(back.code, 0, back.stderr);
  });

  it('refuses a person scaling the same Deployment to zero, and KEDA where no ScaledObject allows zero', async () => {
    await eventually('queue to be ready again', async () => (await readyEndpoints(namespace, 'queue')) === 1, 120_000);
    const person = await kubectl(['scale', 'deployment/queue', '-n', namespace, '--replicas=0']);
    assert.notEqual(person.code, 0);
    assert.match(person.stderr, /\[scale-to-zero\] scaling Deployment\/queue to 0 replicas would leave Service queue/);
    const impostor = await scaleAs('system:serviceaccount:default:impostor', 'queue', 0);
    assert.notEqual(impostor.code, 0, 'an identity that is no autoscaler gets no exception');
    assert.match(impostor.stderr, /\[scale-to-zero\] scaling Deployment\/queue to 0 replicas would leave Service queue/);

    await ready('api');
    await apply(scaledObject('api', 'api', { minReplicaCount: 1 }));
    await eventually('levee to cache the ScaledObject of api', async () => (await scaleAs(KEDA, 'api', 0, true)).code !== 0 || 'allowed');
    const refused = await scaleAs(KEDA, 'api', 0);
    assert.notEqual(refused.code, 0, 'minReplicaCount 1: KEDA never scales it to zero, so the scale is judged as any other');
    assert.match(refused.stderr, /\[scale-to-zero\] scaling Deployment\/api to 0 replicas would leave Service api/);
    assert.equal(await replicas('api'), '1');
  });

  it('warns, and allows, the HPA controller scaling to zero under an HPA with minReplicas 0 (HPAScaleToZero)', async () => {
    await ready('batch');
    await apply(JSON.stringify({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'batch', namespace },
      spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'batch' }, minReplicas: 0, maxReplicas: 3, metrics: [{ type: 'Object', object: { metric: { name: 'queue-depth' }, describedObject: { apiVersion: 'v1', kind: 'Service', name: 'batch' }, target: { type: 'Value', value: '10' } } }] },
    }));
    await eventually('levee to cache the HPA', async () => (await scaleAs(HPA_CONTROLLER, 'batch', 0, true)).code === 0 || 'refused');
    const result = await scaleAs(HPA_CONTROLLER, 'batch', 0);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /HorizontalPodAutoscaler\/batch lets reach zero/);
    assert.equal(await replicas('batch'), '0');
  });

  it('warns, and allows, an app shipped at zero behind its Service under an HTTPScaledObject (the KEDA HTTP add-on)', async () => {
    await apply(service('xkcd'));
    await apply(JSON.stringify({
      apiVersion: 'http.keda.sh/v1alpha1',
      kind: 'HTTPScaledObject',
      metadata: { name: 'xkcd', namespace },
      spec: { hosts: ['xkcd.example'], scaleTargetRef: { name: 'xkcd', kind: 'Deployment', apiVersion: 'apps/v1', service: 'xkcd', port: 80 }, replicas: { min: 0, max: 5 } },
    }));
    await eventually('levee to cache the HTTPScaledObject', async () => {
      const probe = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: deployment('xkcd', 0) });
      return probe.code === 0 || probe.stderr;
    });
    const shipped = await apply(deployment('xkcd', 0));
    assert.match(shipped.stderr, /Warning: .*\[scale-to-zero\] creating Deployment\/xkcd at 0 replicas, which HTTPScaledObject\/xkcd lets reach zero/);
    assert.equal(await replicas('xkcd'), '0');
  });

  it('still refuses shipping at zero behind a Service with no autoscaler, and says how an autoscaler gets its way', async () => {
    await apply(service('lonely'));
    const result = await kubectl(['apply', '-f', '-'], { input: deployment('lonely', 0) });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /\[scale-to-zero\] creating Deployment\/lonely at 0 replicas would leave Service lonely .* create first the autoscaler meant to own it at zero/);
  });
});
