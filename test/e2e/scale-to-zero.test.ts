import assert from 'node:assert/strict';
import { e2e, eventually, kubectl, readyEndpoints } from '../support/e2e.js';

/**
 * The Monzo incident replayed on a real API server: a Service whose only backend is
 * scaled to zero. levee must refuse it however it is asked, store nothing, and allow it
 * once another workload backs the Service or the Service is gone.
 */

const namespace = `monzo-${Date.now().toString(36)}`;

function deployment(name: string, replicas: number, labels: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/ledger:1.0' }] } },
    },
  });
}

const service = JSON.stringify({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'ledger', namespace },
  spec: { selector: { app: 'ledger' }, ports: [{ port: 80, targetPort: 8080 }] },
});

async function storedReplicas(name: string): Promise<number> {
  const result = await kubectl(['get', 'deployment', name, '-n', namespace, '-o', 'jsonpath={.spec.replicas}']);
  assert.equal(result.code, 0, result.stderr);
  return Number(result.stdout);
}

describe('e2e: scale-to-zero (the Monzo replay)', function () {
  this.timeout(240_000);

  before(async function () {
    this.timeout(1_800_000);
    await e2e();
    assert.equal((await kubectl(['create', 'namespace', namespace])).code, 0);
    assert.equal((await kubectl(['apply', '-f', '-'], { input: deployment('ledger', 2, { app: 'ledger' }) })).code, 0);
    assert.equal((await kubectl(['apply', '-f', '-'], { input: service })).code, 0);
    await eventually('2 ready endpoints behind Service ledger', async () => (await readyEndpoints(namespace, 'ledger')) === 2 || `${await readyEndpoints(namespace, 'ledger')}`, 120_000);
    // levee learns of the endpoints through its watches; wait until its answer reflects them.
    await eventually('levee to see the ledger endpoints', async () => {
      const probe = await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=0', '--dry-run=server']);
      return probe.code !== 0 || probe.stdout + probe.stderr;
    });
  });

  after(async () => {
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  it('refuses `kubectl scale --replicas=0`, naming the Service, and stores nothing', async () => {
    const result = await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=0']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /admission webhook "validate\.levee\.dev" denied the request/);
    assert.match(result.stderr, /\[scale-to-zero\] scaling Deployment\/ledger to 0 replicas would leave Service ledger/);
    assert.equal(await storedReplicas('ledger'), 2);
  });

  it('refuses a patch of spec.replicas to 0', async () => {
    const result = await kubectl(['patch', 'deployment', 'ledger', '-n', namespace, '--type=merge', '-p', '{"spec":{"replicas":0}}']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /Service ledger/);
    assert.equal(await storedReplicas('ledger'), 2);
  });

  it('gives `--dry-run=server` the same answer', async () => {
    const scale = await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=0', '--dry-run=server']);
    const apply = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: deployment('ledger', 0, { app: 'ledger' }) });
    for (const result of [scale, apply]) {
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /\[scale-to-zero\].*Service ledger/);
    }
    assert.equal(await storedReplicas('ledger'), 2);
  });

  it('refuses the unprivileged developer too', async () => {
    const result = await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=0'], { as: 'developer' });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /scale-to-zero/);
    assert.equal(await storedReplicas('ledger'), 2);
  });

  it('allows scaling down to one replica', async () => {
    const result = await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=1']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await storedReplicas('ledger'), 1);
  });

  it('allows the scale to zero once a second Ready workload backs the Service', async () => {
    const second = await kubectl(['apply', '-f', '-'], { input: deployment('ledger-v2', 2, { app: 'ledger', track: 'v2' }) });
    assert.equal(second.code, 0, second.stderr);
    await eventually('ledger-v2 endpoints to be ready', async () => (await readyEndpoints(namespace, 'ledger')) >= 3, 120_000);
    await eventually('levee to allow the scale to zero', async () => {
      const probe = await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=0', '--dry-run=server']);
      return probe.code === 0 || probe.stderr;
    });
    const result = await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=0']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await storedReplicas('ledger'), 0);
  });

  it('refuses scaling the last backend to zero, then allows it once the Service is deleted', async () => {
    await eventually('ledger pods to be gone from the Service', async () => (await readyEndpoints(namespace, 'ledger')) === 2, 120_000);
    const refused = await kubectl(['scale', 'deployment/ledger-v2', '-n', namespace, '--replicas=0']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Deployment\/ledger-v2.*Service ledger/);
    assert.equal((await kubectl(['delete', 'service', 'ledger', '-n', namespace])).code, 0);
    await eventually('levee to allow the scale once the Service is gone', async () => {
      const probe = await kubectl(['scale', 'deployment/ledger-v2', '-n', namespace, '--replicas=0', '--dry-run=server']);
      return probe.code === 0 || probe.stderr;
    });
    const result = await kubectl(['scale', 'deployment/ledger-v2', '-n', namespace, '--replicas=0']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await storedReplicas('ledger-v2'), 0);
  });

  it('recorded an Event for the refusal on the Deployment', async () => {
    const result = await kubectl(['get', 'events', '-n', namespace, '--field-selector', 'reason=LeveeDenied', '-o', 'json']);
    assert.equal(result.code, 0, result.stderr);
    const events = JSON.parse(result.stdout) as { items: Array<{ involvedObject: { kind: string; name: string }; message: string }> };
    assert.ok(events.items.some((event) => event.involvedObject.kind === 'Deployment' && event.involvedObject.name === 'ledger' && /scale-to-zero/.test(event.message)));
    const env = await e2e();
    assert.ok(env.levee.exitCode === null, 'levee serve died during the run');
  });
});
