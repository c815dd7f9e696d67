import assert from 'node:assert/strict';
import { e2e, eventually, kubectl, type KubectlResult } from '../support/e2e.js';

/**
 * The override flow with real RBAC: the annotation alone lets nobody through; an admin's
 * valid override does, with a warning, a stamp and an Event that kubectl describe shows; the
 * `levee-override` ClusterRole extends the right to the unprivileged developer; a GitOps
 * controller with every right (Argo CD's default) never makes an override count by itself,
 * but applies changes under one a person set.
 */

// Argo CD's application controller, as the API server names it, bound to cluster-admin as Argo CD installs it.
const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';
const asArgo = ['--as', ARGO, '--as-group', 'system:serviceaccounts', '--as-group', 'system:serviceaccounts:argocd'];

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
    await kubectl(['delete', 'clusterrolebinding', `developers-override-${namespace}`, `argocd-admin-${namespace}`, '--ignore-not-found']);
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  it('the annotation alone does not let the developer through, and the message says why', async () => {
    const annotated = await kubectl(['annotate', 'deployment', 'ledger', '-n', namespace, ...overrideAnnotations(inOneHour())], { as: 'developer' });
    assert.equal(annotated.code, 0, annotated.stderr);
    const result = await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=0'], { as: 'developer' });
    refused(result, /override ignored: not authorized: levee has no record of who set this override/);
    assert.equal(await replicas('ledger'), 2);
    assert.match(annotated.stderr, /override not recorded: developer may not override scale-to-zero/);
  });

  it('kubectl describe shows the refusal as a LeveeDenied Event on the Deployment', async () => {
    await eventually('LeveeDenied in kubectl describe deployment ledger', async () => {
      const described = await kubectl(['describe', 'deployment', 'ledger', '-n', namespace]);
      return /Warning\s+LeveeDenied\s+.*levee denied this request: \[scale-to-zero\]/.test(described.stdout) || described.stdout.split('Events:')[1] || described.stderr;
    }, 20_000);
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

  it('a valid override lets the admin through with a warning and an Event kubectl describe shows; levee writes nothing on the parent', async () => {
    const result = await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=0']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Warning: levee \[scale-to-zero\] overridden until .* by .*INC-77/);
    assert.equal(await replicas('ledger'), 0);
    await eventually('LeveeOverride in kubectl describe deployment ledger', async () => {
      const described = await kubectl(['describe', 'deployment', 'ledger', '-n', namespace]);
      return /Warning\s+LeveeOverride\s+.*overrode scale-to-zero/.test(described.stdout) || described.stdout.split('Events:')[1] || described.stderr;
    }, 20_000);
    assert.equal(await annotation('ledger', 'levee.dev/overridden-by'), '');
    assert.notEqual(await annotation('ledger', 'levee.dev/override-authorized-by'), '', 'the record of who set the override stays');
  });

  it('an override applied in the same request as the change is stamped by the mutating webhook', async () => {
    const annotations = Object.fromEntries(overrideAnnotations(inOneHour()).map((pair) => pair.split(/=(.*)/s).slice(0, 2) as [string, string]));
    const result = await kubectl(['apply', '-f', '-'], { input: manifests('billing', 0, annotations) });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await replicas('billing'), 0);
    assert.notEqual(await annotation('billing', 'levee.dev/overridden-by'), '');
    assert.match(await annotation('billing', 'levee.dev/override-authorized-by'), /"override":"sha256:/);
  });

  it('a stamp that a request sets by itself is dropped', async () => {
    const result = await kubectl(['annotate', 'deployment', 'search', '-n', namespace, 'levee.dev/overridden-by=mallory', 'levee.dev/overridden-at=2026-01-01T00:00:00Z'], { as: 'developer' });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await annotation('search', 'levee.dev/overridden-by'), '');
    assert.equal(await annotation('search', 'levee.dev/overridden-at'), '');
  });

  it('a record of who set an override that a request forges is not kept: the stored one is put back', async () => {
    const stored = await annotation('billing', 'levee.dev/override-authorized-by');
    const forged = stored.replace(/"username":"[^"]*"/, '"username":"mallory"');
    assert.notEqual(forged, stored);
    const result = await kubectl(['annotate', '--overwrite', 'deployment', 'billing', '-n', namespace, `levee.dev/override-authorized-by=${forged}`], { as: 'developer' });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await annotation('billing', 'levee.dev/override-authorized-by'), stored);
  });

  it('a record forged through the status subresource, which stores annotations and skips /mutate, is refused', async () => {
    const stored = await annotation('billing', 'levee.dev/override-authorized-by');
    assert.notEqual(stored, '', 'billing carries a record from the earlier case');
    const throughStatus = (annotations: Record<string, string>) =>
      kubectl(['patch', 'deployment', 'billing', '-n', namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({ metadata: { annotations } })]);
    const plain = await throughStatus({ 'team.example/owner': 'payments' });
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(await annotation('billing', 'team.example/owner'), 'payments', 'the API server stores annotations written through deployments/status');
    const forged = stored.replace(/"username":"[^"]*"/, '"username":"mallory"');
    refused(await throughStatus({ 'levee.dev/override-authorized-by': forged }), /levee\.dev\/override-authorized-by is written by levee alone/);
    refused(await throughStatus({ 'levee.dev/overridden-by': 'mallory' }), /levee\.dev\/overridden-by is written by levee alone/);
    assert.equal(await annotation('billing', 'levee.dev/override-authorized-by'), stored);
  });

  describe('GitOps: Argo CD\'s controller, which may do anything', () => {
    before(async () => {
      const bound = await kubectl(['create', 'clusterrolebinding', `argocd-admin-${namespace}`, '--clusterrole=cluster-admin', `--serviceaccount=argocd:argocd-application-controller`]);
      assert.equal(bound.code, 0, bound.stderr);
      assert.equal((await kubectl(['auth', 'can-i', 'override', 'policies.levee.dev/scale-to-zero', ...asArgo])).stdout.trim(), 'yes');
      const applied = await kubectl(['apply', '-f', '-'], { input: manifests('orders', 2) });
      assert.equal(applied.code, 0, applied.stderr);
      await eventually('ready endpoints behind orders', () => readyBehind('orders'), 120_000);
    });

    it('never honours an override it applies from Git, though the API server says it may override', async () => {
      const annotations = Object.fromEntries(overrideAnnotations(inOneHour()).map((pair) => pair.split(/=(.*)/s).slice(0, 2) as [string, string]));
      const result = await kubectl(['apply', '-f', '-', ...asArgo], { input: manifests('orders', 0, annotations) });
      refused(result, /override ignored: not authorized: system:serviceaccount:argocd:argocd-application-controller sets this override but is an automation identity/);
      assert.equal(await replicas('orders'), 2);
    });

    it('applies the change under an override a human admin set with kubectl, and the Event names both', async () => {
      const annotated = await kubectl(['annotate', '--overwrite', 'deployment', 'orders', '-n', namespace, ...overrideAnnotations(inOneHour())]);
      assert.equal(annotated.code, 0, annotated.stderr);
      assert.match(annotated.stderr, /override of scale-to-zero recorded as set by/);
      const result = await kubectl(['scale', 'deployment/orders', '-n', namespace, '--replicas=0', ...asArgo]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(await replicas('orders'), 0);
      await eventually('the LeveeOverride Event to name the controller', async () => {
        const events = await kubectl(['get', 'events', '-n', namespace, '--field-selector', 'reason=LeveeOverride,involvedObject.name=orders', '-o', 'jsonpath={.items[*].message}']);
        return events.stdout.includes(`for a change by ${ARGO}`) || events.stdout;
      }, 20_000);
    });
  });

  it('after granting levee-override to the developers group, the developer can override too', async () => {
    const granted = await kubectl(['create', 'clusterrolebinding', `developers-override-${namespace}`, `--clusterrole=${(await e2e()).overrideRole}`, '--group=developers']);
    assert.equal(granted.code, 0, granted.stderr);
    // Authorization answers are cached for a few seconds; the grant is seen once they expire,
    // and the developer sets the override again (a new reason each time) until levee records it.
    let attempt = 0;
    await eventually('the developer override to be recorded and honoured', async () => {
      const reason = `levee.dev/override-reason=INC-77: retiring ${namespace} (${++attempt})`;
      const annotated = await kubectl(['annotate', '--overwrite', 'deployment', 'search', '-n', namespace, ...overrideAnnotations(inOneHour()).slice(0, 1), reason, overrideAnnotations(inOneHour())[2]!], { as: 'developer' });
      if (annotated.code !== 0) return annotated.stderr;
      const result = await kubectl(['scale', 'deployment/search', '-n', namespace, '--replicas=0'], { as: 'developer' });
      return result.code === 0 || result.stderr;
    }, 30_000);
    assert.equal(await replicas('search'), 0);
  });
});
