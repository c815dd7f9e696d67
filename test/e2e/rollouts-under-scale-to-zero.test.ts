import assert from 'node:assert/strict';
import { e2e, eventually, kubectl, readyEndpoints } from '../support/e2e.js';

/**
 * The real Deployment controller's rollouts with levee judging scale-to-zero: each takes a
 * Deployment's ReplicaSets up and down (to 0 for the old ones, all at once with
 * maxUnavailable 100%), and none may be refused. A person scaling one of those ReplicaSets to 0
 * by hand is judged.
 */

const namespace = `rollouts-${Date.now().toString(36)}`;

function deployment(name: string, replicas: number, strategy: Record<string, unknown>, extra: { revisionHistoryLimit?: number } = {}): string {
  const labels = { app: name };
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas,
      strategy,
      ...(extra.revisionHistoryLimit === undefined ? {} : { revisionHistoryLimit: extra.revisionHistoryLimit }),
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1.0' }] } },
    },
  });
}

async function run(args: string[], input?: string): Promise<string> {
  const result = await kubectl(args, input === undefined ? {} : { input });
  assert.equal(result.code, 0, `kubectl ${args.join(' ')}: ${result.stdout}${result.stderr}`);
  return result.stdout;
}

/** A Deployment alone behind its Service, its pods ready, and levee refusing a person's scale of it to 0. */
async function behindItsService(name: string, replicas: number, strategy: Record<string, unknown>, extra: { revisionHistoryLimit?: number } = {}): Promise<void> {
  await run(['apply', '-f', '-'], deployment(name, replicas, strategy, extra));
  await run(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector: { app: name }, ports: [{ port: 80 }] } }));
  await eventually(`${replicas} ready endpoints behind Service ${name}`, async () => (await readyEndpoints(namespace, name)) === replicas, 120_000);
  await eventually(`levee to refuse scaling deployment/${name} to 0`, async () => {
    const probe = await kubectl(['scale', `deployment/${name}`, '-n', namespace, '--replicas=0', '--dry-run=server']);
    return probe.code !== 0 || probe.stdout;
  }, 60_000);
}

async function rolledOut(name: string): Promise<void> {
  const status = await kubectl(['rollout', 'status', `deployment/${name}`, '-n', namespace, '--timeout=120s']);
  assert.equal(status.code, 0, `${status.stdout}${status.stderr}`);
}

async function replicaSetReplicas(name: string): Promise<string[]> {
  const out = await run(['get', 'replicasets', '-n', namespace, '-l', `app=${name}`, '-o', 'jsonpath={range .items[*]}{.spec.replicas}{" "}{end}']);
  return out.trim().split(' ').filter(Boolean).sort();
}

/** levee's refusals in the namespace, as Events on the objects it refused. */
async function refusals(): Promise<string[]> {
  const out = await run(['get', 'events', '-n', namespace, '--field-selector', 'reason=LeveeDenied', '-o', 'jsonpath={range .items[*]}{.involvedObject.kind}/{.involvedObject.name}: {.message}{"\\n"}{end}']);
  return out.split('\n').filter(Boolean);
}

describe('e2e: the Deployment controller\'s rollouts under scale-to-zero', function () {
  this.timeout(300_000);
  let refusedBefore: string[] = [];

  before(async function () {
    this.timeout(1_800_000);
    await e2e();
    await run(['create', 'namespace', namespace]);
  });

  after(async () => {
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  it('a RollingUpdate with maxSurge 0 and maxUnavailable 100% (old ReplicaSet straight to 0) completes', async () => {
    await behindItsService('all-at-once', 2, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '100%' } });
    await run(['set', 'image', 'deployment/all-at-once', 'app=registry.example/app:2.0', '-n', namespace]);
    await rolledOut('all-at-once');
    assert.deepEqual(await replicaSetReplicas('all-at-once'), ['0', '2']);
  });

  it('kubectl rollout undo brings the old ReplicaSet back and takes the new one to 0', async () => {
    await run(['rollout', 'undo', 'deployment/all-at-once', '-n', namespace]);
    await rolledOut('all-at-once');
    assert.deepEqual(await replicaSetReplicas('all-at-once'), ['0', '2']);
    const image = await run(['get', 'deployment/all-at-once', '-n', namespace, '-o', 'jsonpath={.spec.template.spec.containers[0].image}']);
    assert.equal(image, 'registry.example/app:1.0');
  });

  it('a Recreate rollout with revisionHistoryLimit 0 (old ReplicaSets scaled to 0, then deleted) completes', async () => {
    await behindItsService('recreate', 2, { type: 'Recreate' }, { revisionHistoryLimit: 0 });
    await run(['set', 'image', 'deployment/recreate', 'app=registry.example/app:2.0', '-n', namespace]);
    await rolledOut('recreate');
    await eventually('the old ReplicaSet deleted', async () => (await replicaSetReplicas('recreate')).join(' ') === '2', 60_000);
  });

  it('a paused Deployment scaled while paused, then resumed, completes', async () => {
    await behindItsService('paused', 2, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } });
    await run(['rollout', 'pause', 'deployment/paused', '-n', namespace]);
    await run(['set', 'image', 'deployment/paused', 'app=registry.example/app:2.0', '-n', namespace]);
    await run(['scale', 'deployment/paused', '--replicas=3', '-n', namespace]);
    await run(['rollout', 'resume', 'deployment/paused', '-n', namespace]);
    await rolledOut('paused');
    assert.deepEqual(await replicaSetReplicas('paused'), ['0', '3']);
  });

  it('a scale-down in the middle of a rollout completes', async () => {
    await behindItsService('shrinking', 3, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    await run(['set', 'image', 'deployment/shrinking', 'app=registry.example/app:2.0', '-n', namespace]);
    await run(['scale', 'deployment/shrinking', '--replicas=1', '-n', namespace]);
    await rolledOut('shrinking');
    assert.deepEqual(await replicaSetReplicas('shrinking'), ['0', '1']);
  });

  it('levee refused none of those controller steps', async () => {
    refusedBefore = await refusals();
    assert.deepEqual(refusedBefore, []);
  });

  it('a person scaling the running ReplicaSet of a Deployment to 0 by hand is refused', async () => {
    const name = (await run(['get', 'replicasets', '-n', namespace, '-l', 'app=shrinking', '-o', 'jsonpath={range .items[?(@.spec.replicas==1)]}{.metadata.name}{end}'])).trim();
    assert.ok(name, 'the running ReplicaSet of shrinking');
    const scale = await kubectl(['scale', `replicaset/${name}`, '--replicas=0', '-n', namespace]);
    assert.notEqual(scale.code, 0, scale.stdout);
    assert.match(scale.stderr, /scale-to-zero/);
    assert.equal((await run(['get', `replicaset/${name}`, '-n', namespace, '-o', 'jsonpath={.spec.replicas}'])).trim(), '1');
  });
});
