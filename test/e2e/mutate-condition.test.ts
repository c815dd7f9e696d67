import assert from 'node:assert/strict';
import { eventually, inFreshNamespace, kubectl, leveeDecisions, sleep } from '../support/e2e.js';
import { buildConfig } from '../../src/config.js';
import { CEL_EXPRESSION_CODE_POINT_LIMIT, mutateConditionExpression } from '../../src/policies/mutate-condition.js';

/**
 * The /mutate condition (levee-annotation-or-critical-pod-template, rendered by
 * src/policies/mutate-condition.ts), evaluated by the real API server on every way kubectl
 * changes a workload's pod template: the spread lands wherever /mutate would add it (a critical
 * workload no controller owns, created or given a new template), and nowhere else. A request
 * the condition kept away from a critical workload would show as a missing spread.
 */

const namespace = `mutcond-${Date.now().toString(36)}`;
const CRITICAL = { 'levee.dev/critical': 'true' };
const TOPOLOGY_KEY = 'karpenter.sh/capacity-type';

interface WorkloadSpec {
  kind?: 'Deployment' | 'StatefulSet' | 'ReplicationController' | 'DaemonSet';
  labels?: Record<string, string>;
  podLabels?: Record<string, string>;
  image?: string;
  priorityClassName?: string;
  ownerReferences?: Array<Record<string, unknown>>;
}

function manifest(name: string, spec: WorkloadSpec = {}): string {
  const kind = spec.kind ?? 'Deployment';
  const podLabels = { app: name, ...spec.podLabels };
  const template = {
    metadata: { labels: podLabels },
    spec: {
      containers: [{ name: 'app', image: spec.image ?? 'registry.example/ledger:1.0' }],
      ...(spec.priorityClassName ? { priorityClassName: spec.priorityClassName } : {}),
    },
  };
  const selector = kind === 'ReplicationController' ? { app: name } : { matchLabels: { app: name } };
  return JSON.stringify({
    apiVersion: kind === 'ReplicationController' ? 'v1' : 'apps/v1',
    kind,
    metadata: { name, namespace, labels: spec.labels ?? {}, ...(spec.ownerReferences ? { ownerReferences: spec.ownerReferences } : {}) },
    spec: {
      ...(kind === 'DaemonSet' ? {} : { replicas: 1 }),
      ...(kind === 'StatefulSet' ? { serviceName: name } : {}),
      selector,
      template,
    },
  });
}

interface Stored {
  metadata: { generation?: number; uid: string };
  spec: { template: { spec: { containers: Array<{ image: string }>; topologySpreadConstraints?: Array<Record<string, unknown>> } } };
}

async function get(name: string, kind = 'deployment'): Promise<Stored> {
  const result = await kubectl(['get', kind, name, '-n', namespace, '-o', 'json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Stored;
}

/** The capacity-type spreads in a stored or returned workload. */
function spreads(object: Stored): Array<Record<string, unknown>> {
  return (object.spec.template.spec.topologySpreadConstraints ?? []).filter((constraint) => constraint.topologyKey === TOPOLOGY_KEY);
}

/** Asserts the one spread /mutate adds, selecting the workload's pods. */
function assertSpread(object: Stored, name: string, what: string): void {
  assert.deepEqual(
    spreads(object),
    [{ maxSkew: 1, topologyKey: TOPOLOGY_KEY, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: name } } }],
    `${what}: ${JSON.stringify(object.spec.template.spec)}`,
  );
}

function assertNoSpread(object: Stored, what: string): void {
  assert.deepEqual(spreads(object), [], `${what}: ${JSON.stringify(object.spec.template.spec)}`);
}

async function ok(args: string[], input?: string): Promise<string> {
  const result = await kubectl(args, input === undefined ? {} : { input });
  assert.equal(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/**
 * A critical Deployment without the spread: created while not critical, then labelled critical
 * (a label alone leaves the template alone, so /mutate adds nothing: that would start a rollout).
 */
async function criticalWithoutSpread(name: string): Promise<Stored> {
  await ok(['apply', '-f', '-'], manifest(name));
  await ok(['label', 'deployment', name, '-n', namespace, 'levee.dev/critical=true']);
  const stored = await get(name);
  assertNoSpread(stored, `${name} labelled critical without a new template`);
  return stored;
}


describe('e2e: the /mutate condition lets every template change of a critical workload through', function () {
  this.timeout(300_000);

  inFreshNamespace(namespace);

  it('kubectl apply (client side): created critical, and made critical in the same apply as a new image', async () => {
    await ok(['apply', '-f', '-'], manifest('apply-new', { labels: CRITICAL }));
    assertSpread(await get('apply-new'), 'apply-new', 'created critical');

    await ok(['apply', '-f', '-'], manifest('apply-late'));
    assertNoSpread(await get('apply-late'), 'not critical');
    await ok(['apply', '-f', '-'], manifest('apply-late', { labels: CRITICAL, image: 'registry.example/ledger:2.0' }));
    const late = await get('apply-late');
    assert.equal(late.spec.template.spec.containers[0]!.image, 'registry.example/ledger:2.0');
    assertSpread(late, 'apply-late', 'label and image in one apply');
  });

  it('kubectl apply (client side): a critical label alone adds no spread (no rollout nobody asked for)', async () => {
    await ok(['apply', '-f', '-'], manifest('apply-label'));
    const before = await get('apply-label');
    await ok(['apply', '-f', '-'], manifest('apply-label', { labels: CRITICAL }));
    const after = await get('apply-label');
    assertNoSpread(after, 'label only');
    // Not the generation: a Deployment's moves with its annotations too (kubectl's last-applied-configuration).
    assert.deepEqual(after.spec.template, before.spec.template);
  });

  it('kubectl apply --server-side: created, re-applied unchanged (the spread stays, no rollout), then a new image', async () => {
    const args = ['apply', '--server-side', '--field-manager=team', '-f', '-'];
    await ok(args, manifest('ssa', { labels: CRITICAL }));
    const created = await get('ssa');
    assertSpread(created, 'ssa', 'created by server-side apply');
    await ok(args, manifest('ssa', { labels: CRITICAL }));
    const reapplied = await get('ssa');
    assertSpread(reapplied, 'ssa', 're-applied unchanged');
    assert.equal(reapplied.metadata.generation, created.metadata.generation, 're-applying the same manifest started a rollout');

    await ok(['apply', '--server-side', '--field-manager=team', '-f', '-'], manifest('ssa-late'));
    assertNoSpread(await get('ssa-late'), 'not critical');
    await ok(args, manifest('ssa-late', { labels: CRITICAL, image: 'registry.example/ledger:2.0' }));
    assertSpread(await get('ssa-late'), 'ssa-late', 'label and image in one server-side apply');
  });

  it('kubectl set image', async () => {
    await criticalWithoutSpread('set-image');
    await ok(['set', 'image', 'deployment/set-image', '-n', namespace, 'app=registry.example/ledger:2.0']);
    assertSpread(await get('set-image'), 'set-image', 'kubectl set image');
  });

  it('kubectl patch: JSON, merge and strategic merge patches of the image', async () => {
    const patches: Array<[string, string]> = [
      ['json', JSON.stringify([{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.example/ledger:2.0' }])],
      ['merge', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'app', image: 'registry.example/ledger:2.0' }] } } } })],
      ['strategic', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'app', image: 'registry.example/ledger:2.0' }] } } } })],
    ];
    for (const [type, patch] of patches) {
      const name = `patch-${type}`;
      await criticalWithoutSpread(name);
      await ok(['patch', 'deployment', name, '-n', namespace, `--type=${type}`, '-p', patch]);
      const patched = await get(name);
      assert.equal(patched.spec.template.spec.containers[0]!.image, 'registry.example/ledger:2.0', type);
      assertSpread(patched, name, `kubectl patch --type=${type}`);
    }
  });

  it('kubectl replace (the PUT kubectl edit sends)', async () => {
    await criticalWithoutSpread('replace');
    // The PUT carries the resourceVersion read, as kubectl edit's does; the Deployment controller's
    // status writes can move it in between, which the API server answers 409: read again, as a person would.
    const replace = async () => {
      const stored = await get('replace');
      stored.spec.template.spec.containers[0]!.image = 'registry.example/ledger:2.0';
      return kubectl(['replace', '-f', '-'], { input: JSON.stringify(stored) });
    };
    let result = await replace();
    for (let attempt = 1; attempt < 5 && result.stderr.includes('the object has been modified'); attempt++) result = await replace();
    assert.equal(result.code, 0, `kubectl replace: ${result.stderr}`);
    assertSpread(await get('replace'), 'replace', 'kubectl replace');
  });

  it('kubectl rollout restart (a new template annotation) and rollout undo (an older template)', async () => {
    await criticalWithoutSpread('restart');
    await ok(['rollout', 'restart', 'deployment/restart', '-n', namespace]);
    assertSpread(await get('restart'), 'restart', 'kubectl rollout restart');

    await criticalWithoutSpread('undo');
    await ok(['set', 'image', 'deployment/undo', '-n', namespace, 'app=registry.example/ledger:2.0']);
    assertSpread(await get('undo'), 'undo', 'revision 2');
    await eventually('two revisions of undo', async () => {
      const history = await kubectl(['rollout', 'history', 'deployment/undo', '-n', namespace]);
      return /^2\s/m.test(history.stdout) || history.stdout + history.stderr;
    }, 120_000);
    // Revision 1's template has no spread (it was made while not critical): undo puts it back, /mutate adds the spread again.
    await ok(['rollout', 'undo', 'deployment/undo', '-n', namespace, '--to-revision=1']);
    const undone = await get('undo');
    assert.equal(undone.spec.template.spec.containers[0]!.image, 'registry.example/ledger:1.0');
    assertSpread(undone, 'undo', 'kubectl rollout undo');
  });

  it('kubectl create --dry-run=server answers with the spread and stores nothing', async () => {
    const answer = JSON.parse(await ok(['create', '--dry-run=server', '-o', 'json', '-f', '-'], manifest('dry', { labels: CRITICAL }))) as Stored;
    assertSpread(answer, 'dry', 'server dry run');
    const stored = await kubectl(['get', 'deployment', 'dry', '-n', namespace]);
    assert.notEqual(stored.code, 0);
    assert.match(stored.stderr, /NotFound|not found/);
  });

  it('critical by a label on the pod template only, and by a default priority class', async () => {
    await ok(['apply', '-f', '-'], manifest('pod-label', { podLabels: CRITICAL }));
    assertSpread(await get('pod-label'), 'pod-label', 'label on the pod template only');
    await ok(['apply', '-f', '-'], manifest('priority', { priorityClassName: 'system-cluster-critical' }));
    assertSpread(await get('priority'), 'priority', 'priorityClassName system-cluster-critical');
  });

  it('every kind that scales: a StatefulSet and a ReplicationController', async () => {
    await ok(['apply', '-f', '-'], manifest('sts', { kind: 'StatefulSet', labels: CRITICAL }));
    assertSpread(await get('sts', 'statefulset'), 'sts', 'StatefulSet');
    await ok(['apply', '-f', '-'], manifest('rc', { kind: 'ReplicationController', labels: CRITICAL }));
    assertSpread(await get('rc', 'replicationcontroller'), 'rc', 'ReplicationController');
  });

  it('an owner that is not a controller (controller: false, or not said) leaves the workload the user\'s: spread', async () => {
    const owner = JSON.parse(await ok(['create', 'configmap', 'owner', '-n', namespace, '-o', 'json'])) as { metadata: { uid: string } };
    const reference = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid };
    await ok(['apply', '-f', '-'], manifest('owned-false', { labels: CRITICAL, ownerReferences: [{ ...reference, controller: false }] }));
    assertSpread(await get('owned-false'), 'owned-false', 'controller: false');
    await ok(['apply', '-f', '-'], manifest('owned-unsaid', { labels: CRITICAL, ownerReferences: [reference] }));
    assertSpread(await get('owned-unsaid'), 'owned-unsaid', 'controller not said');
  });

  it('no spread where /mutate adds none: a controller\'s workload, a DaemonSet, a label value that is not the configured one, a workload that is not critical', async () => {
    const owner = JSON.parse(await ok(['create', 'configmap', 'operator', '-n', namespace, '-o', 'json'])) as { metadata: { uid: string } };
    const reference = { apiVersion: 'v1', kind: 'ConfigMap', name: 'operator', uid: owner.metadata.uid, controller: true };
    await ok(['apply', '-f', '-'], manifest('operator-made', { labels: CRITICAL, ownerReferences: [reference] }));
    assertNoSpread(await get('operator-made'), 'controller reference');
    await ok(['apply', '-f', '-'], manifest('agent', { kind: 'DaemonSet', labels: CRITICAL }));
    assertNoSpread(await get('agent', 'daemonset'), 'DaemonSet');
    await ok(['apply', '-f', '-'], manifest('capitalised', { labels: { 'levee.dev/critical': 'True' } }));
    assertNoSpread(await get('capitalised'), 'levee.dev/critical=True');
  });

  it('a new template of a workload that is not critical never reaches /mutate', async () => {
    await ok(['apply', '-f', '-'], manifest('plain'));
    // Something else may call /mutate in the same seconds (a levee.dev/ annotation elsewhere): retry.
    const moved: number[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const before = await leveeDecisions('mutate');
      await ok(['set', 'image', 'deployment/plain', '-n', namespace, `app=registry.example/ledger:${attempt + 2}.0`]);
      await ok(['patch', 'deployment', 'plain', '-n', namespace, '--type=merge', '-p', JSON.stringify({ spec: { template: { metadata: { labels: { revision: String(attempt) } } } } })]);
      await sleep(500);
      assertNoSpread(await get('plain'), 'not critical');
      const calls = (await leveeDecisions('mutate')) - before;
      if (calls === 0) return;
      moved.push(calls);
    }
    assert.fail(`/mutate was called for a workload that is not critical in every attempt (${moved.join(', ')})`);
  });

  it('the API server takes the largest condition levee renders, and refuses one code point more (the renderer refuses it first)', async () => {
    const labels = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`example.com/l${String(i).padStart(5, '0')}`, 'true']));
    const defaults = buildConfig().policies['spot-capacity'];
    const render = (count: number) => mutateConditionExpression({ ...defaults, critical: { ...defaults.critical, labels: labels(count) } });
    let count = 500;
    for (;;) {
      try {
        render(count + 1);
        count += 1;
      } catch (error) {
        assert.match((error as Error).message, /over the 100000 the API server accepts/);
        break;
      }
    }
    const expression = render(count);
    // Padded with a trailing CEL comment to exactly the limit (blanks would not do: see the next case).
    const atLimit = `${expression}\n//${'x'.repeat(CEL_EXPRESSION_CODE_POINT_LIMIT - [...expression].length - 3)}`;
    const taken = await kubectl(['create', '--dry-run=server', '-f', '-'], { input: registration(atLimit) });
    assert.equal(taken.code, 0, taken.stderr.slice(0, 2000));
    const refused = await kubectl(['create', '--dry-run=server', '-f', '-'], { input: registration(`${atLimit}x`) });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /expression code point size exceeds limit: size: 100001, limit 100000/);
  });

  it('a condition over the limit only by blanks at its ends is registered, then fails on every request it is asked about', async () => {
    // The API server validates the trimmed expression but compiles it as written when it calls the
    // webhook: a renderer (or a chart template) that adds blanks around a condition near the limit
    // makes a registration that refuses every request its rules match (failurePolicy Fail).
    const padded = `true${' '.repeat(CEL_EXPRESSION_CODE_POINT_LIMIT)}`;
    const name = `${namespace}-blanks`;
    const registered = await kubectl(['create', '-f', '-'], { input: registration(padded, name, ['configmaps']) });
    assert.equal(registered.code, 0, registered.stderr.slice(0, 2000));
    try {
      await eventually('the API server to call the registration with blanks', async () => {
        const created = await kubectl(['create', 'configmap', `blanks-${Date.now().toString(36)}`, '-n', namespace]);
        return (created.code !== 0 && /expression code point size exceeds limit/.test(created.stderr)) || `exit ${created.code}: ${created.stderr}`;
      }, 60_000);
    } finally {
      assert.equal((await kubectl(['delete', 'mutatingwebhookconfiguration', name])).code, 0);
    }
  });
});

/** A MutatingWebhookConfiguration whose one webhook, for creates in this test's namespace only, carries `condition`. */
function registration(condition: string, name = `${namespace}-limit`, resources = ['deployments']): string {
  return JSON.stringify({
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name },
    webhooks: [
      {
        name: 'limit.levee.dev',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Fail',
        timeoutSeconds: 2,
        clientConfig: { url: 'https://127.0.0.1:1/mutate' },
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
        rules: [{ apiGroups: resources.includes('configmaps') ? [''] : ['apps'], apiVersions: ['v1'], resources, operations: ['CREATE'] }],
        matchConditions: [{ name: 'levee-annotation-or-critical-pod-template', expression: condition }],
      },
    ],
  });
}
