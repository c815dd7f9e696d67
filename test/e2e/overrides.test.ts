import assert from 'node:assert/strict';
import { e2e, eventually, kubectl, type KubectlResult } from '../support/e2e.js';

/**
 * The override flow with real RBAC: the annotation alone lets nobody through; an admin's
 * valid override does, with a warning, a stamp and an Event; the `levee-override`
 * ClusterRole extends the right to the unprivileged developer.
 */

const namespace = `override-${Date.now().toString(36)}`;
const inOneHour = (): string => new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

function manifests(name: string, replicas: number, annotations: Record<string, string> = {}): string {
  const labels = { app: name };
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace, labels, annotations },
        spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] } } },
      },
      { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector: labels, ports: [{ port: 80 }] } },
    ],
  });
}

function overrideAnnotations(expires: string): string[] {
  return [`levee.dev/override=scale-to-zero`, `levee.dev/override-reason=INC-77: retiring ${namespace}`, `levee.dev/override-expires=${expires}`];
}

async function annotation(name: string, key: string): Promise<string> {
  const result = await kubectl(['get', 'deployment', name, '-n', namespace, '-o', 'json']);
  assert.equal(result.code, 0, result.stderr);
  const object = JSON.parse(result.stdout) as { metadata: { annotations?: Record<string, string> } };
  return object.metadata.annotations?.[key] ?? '';
}

async function replicas(name: string): Promise<number> {
  return Number((await kubectl(['get', 'deployment', name, '-n', namespace, '-o', 'jsonpath={.spec.replicas}'])).stdout);
}

async function readyBehind(name: string): Promise<boolean | string> {
  const result = await kubectl(['get', 'endpointslices', '-n', namespace, '-l', `kubernetes.io/service-name=${name}`, '-o', 'jsonpath={.items[*].endpoints[*].conditions.ready}']);
  return result.stdout.includes('true') || result.stdout;
}

function refused(result: KubectlResult, pattern: RegExp): void {
  assert.notEqual(result.code, 0, `expected a refusal, got: ${result.stdout}`);
  assert.match(result.stderr, pattern);
}

describe('e2e: overrides', function () {
  this.timeout(240_000);

  before(async function () {
    this.timeout(1_800_000);
    await e2e();
    assert.equal((await kubectl(['create', 'namespace', namespace])).code, 0);
    for (const name of ['ledger', 'billing', 'search']) {
      const applied = await kubectl(['apply', '-f', '-'], { input: manifests(name, 2) });
      assert.equal(applied.code, 0, applied.stderr);
    }
    for (const name of ['ledger', 'billing', 'search']) await eventually(`ready endpoints behind ${name}`, () => readyBehind(name), 120_000);
    await eventually('levee to see the endpoints', async () => (await kubectl(['scale', 'deployment/search', '-n', namespace, '--replicas=0', '--dry-run=server'])).code !== 0);
  });

  after(async () => {
    await kubectl(['delete', 'clusterrolebinding', `developers-override-${namespace}`, '--ignore-not-found']);
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  it('the annotation alone does not let the developer through, and the message says why', async () => {
    const annotated = await kubectl(['annotate', 'deployment', 'ledger', '-n', namespace, ...overrideAnnotations(inOneHour())], { as: 'developer' });
    assert.equal(annotated.code, 0, annotated.stderr);
    const result = await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=0'], { as: 'developer' });
    refused(result, /override ignored: not authorized: developer may not override scale-to-zero/);
    assert.equal(await replicas('ledger'), 2);
  });

  it('an already-expired override is refused for the admin, saying "expired"', async () => {
    const annotated = await kubectl(['annotate', '--overwrite', 'deployment', 'ledger', '-n', namespace, 'levee.dev/override-expires=2020-01-01T00:00:00Z']);
    assert.equal(annotated.code, 0, annotated.stderr);
    const result = await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=0']);
    refused(result, /override ignored: expired at 2020-01-01T00:00:00Z/);
    assert.equal(await replicas('ledger'), 2);
  });

  it('a valid override on dry-run gives the same answer and leaves no Event and no stamp', async () => {
    const annotated = await kubectl(['annotate', '--overwrite', 'deployment', 'ledger', '-n', namespace, `levee.dev/override-expires=${inOneHour()}`]);
    assert.equal(annotated.code, 0, annotated.stderr);
    const result = await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=0', '--dry-run=server']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Warning: levee \[scale-to-zero\] overridden until/);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const events = await kubectl(['get', 'events', '-n', namespace, '--field-selector', 'reason=LeveeOverride', '-o', 'name']);
    assert.equal(events.stdout.trim(), '');
    assert.equal(await annotation('ledger', 'levee.dev/overridden-by'), '');
    assert.equal(await replicas('ledger'), 2);
  });

  it('a valid override lets the admin through with a warning, a stamp on the parent and an Event', async () => {
    const result = await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=0']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Warning: levee \[scale-to-zero\] overridden until .*INC-77/);
    assert.equal(await replicas('ledger'), 0);
    await eventually('the parent Deployment to be stamped', async () => (await annotation('ledger', 'levee.dev/overridden-by')) !== '');
    assert.match(await annotation('ledger', 'levee.dev/overridden-at'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const events = await kubectl(['get', 'events', '-n', namespace, '--field-selector', 'reason=LeveeOverride', '-o', 'jsonpath={.items[*].message}']);
    assert.match(events.stdout, /overrode scale-to-zero/);
  });

  it('an override applied in the same request as the change is stamped by the mutating webhook', async () => {
    const annotations = Object.fromEntries(overrideAnnotations(inOneHour()).map((pair) => pair.split(/=(.*)/s).slice(0, 2) as [string, string]));
    const result = await kubectl(['apply', '-f', '-'], { input: manifests('billing', 0, annotations) });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await replicas('billing'), 0);
    assert.notEqual(await annotation('billing', 'levee.dev/overridden-by'), '');
  });

  it('a stamp that a request sets by itself is dropped', async () => {
    const result = await kubectl(['annotate', 'deployment', 'search', '-n', namespace, 'levee.dev/overridden-by=mallory', 'levee.dev/overridden-at=2026-01-01T00:00:00Z'], { as: 'developer' });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await annotation('search', 'levee.dev/overridden-by'), '');
    assert.equal(await annotation('search', 'levee.dev/overridden-at'), '');
  });

  it('after granting levee-override to the developers group, the developer can override too', async () => {
    const granted = await kubectl(['create', 'clusterrolebinding', `developers-override-${namespace}`, '--clusterrole=levee-override', '--group=developers']);
    assert.equal(granted.code, 0, granted.stderr);
    const annotated = await kubectl(['annotate', 'deployment', 'search', '-n', namespace, ...overrideAnnotations(inOneHour())], { as: 'developer' });
    assert.equal(annotated.code, 0, annotated.stderr);
    // Authorization answers are cached for a few seconds; the grant is seen once they expire.
    await eventually('the developer override to be honoured', async () => {
      const result = await kubectl(['scale', 'deployment/search', '-n', namespace, '--replicas=0'], { as: 'developer' });
      return result.code === 0 || result.stderr;
    }, 30_000);
    assert.equal(await replicas('search'), 0);
  });
});
