import assert from 'node:assert/strict';
import { e2e, eventually, kubectl, readyEndpoints } from '../support/e2e.js';

/**
 * Issue 12 items 1 and 7 on a real API server. A controller ownerReference written by the
 * requester no longer switches scale-to-zero off, while the Deployment controller's own
 * rollout steps still go through. And what serves nothing may go to zero: a Deployment whose
 * pods never became ready, one behind an ExternalName Service, one whose Service a DaemonSet,
 * a ReplicationController or a bare pod also backs. And two backends of one Service scaled to
 * zero at once count each other (item 4).
 */

const namespace = `owners-${Date.now().toString(36)}`;

function deployment(name: string, replicas: number, labels: Record<string, string>, extra: { nodeSelector?: Record<string, string>; strategy?: string } = {}): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas,
      ...(extra.strategy ? { strategy: { type: extra.strategy } } : {}),
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { ...(extra.nodeSelector ? { nodeSelector: extra.nodeSelector } : {}), containers: [{ name: 'app', image: 'registry.example/app:1.0' }] },
      },
    },
  });
}

function service(name: string, selector: Record<string, string>, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector, ports: [{ port: 80 }], ...extra } });
}

async function apply(manifest: string): Promise<void> {
  const result = await kubectl(['apply', '-f', '-'], { input: manifest });
  assert.equal(result.code, 0, result.stderr);
}

async function stored(resource: string, path: string): Promise<string> {
  const result = await kubectl(['get', resource, '-n', namespace, '-o', `jsonpath={${path}}`]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

async function storedReplicas(resource: string): Promise<string> {
  return stored(resource, '.spec.replicas');
}

async function uidOf(resource: string): Promise<string> {
  return stored(resource, '.metadata.uid');
}

/** Waits until levee answers a dry-run scale of `resource` to 0 as `refused` says: its caches have caught up. */
async function levee(resource: string, refused: boolean): Promise<void> {
  await eventually(`levee to ${refused ? 'refuse' : 'allow'} scaling ${resource} to 0`, async () => {
    const probe = await kubectl(['scale', resource, '-n', namespace, '--replicas=0', '--dry-run=server']);
    return (probe.code !== 0) === refused || probe.stdout + probe.stderr;
  }, 60_000);
}

describe('e2e: scale-to-zero and owner references (issue 12 items 1, 4 and 7)', function () {
  this.timeout(240_000);

  before(async function () {
    this.timeout(1_800_000);
    await e2e();
    assert.equal((await kubectl(['create', 'namespace', namespace])).code, 0);
    await apply(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace }, data: {} }));
    await apply(deployment('ledger', 2, { app: 'ledger' }));
    await apply(service('ledger', { app: 'ledger' }));
    await eventually('2 ready endpoints behind Service ledger', async () => (await readyEndpoints(namespace, 'ledger')) === 2, 120_000);
    await levee('deployment/ledger', true);
  });

  after(async () => {
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  describe('item 1: a controller reference is no way around the rule', () => {
    it('refuses the patch of issue 12: a controller ownerReference to a real ConfigMap and replicas 0, and stores nothing', async () => {
      const uid = await uidOf('configmap/x');
      const patch = JSON.stringify({ metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid, controller: true }] }, spec: { replicas: 0 } });
      const result = await kubectl(['patch', 'deploy', 'ledger', '-n', namespace, '--type=merge', '-p', patch]);
      assert.notEqual(result.code, 0, 'the forged reference was let through');
      assert.match(result.stderr, /\[scale-to-zero\] scaling Deployment\/ledger to 0 replicas would leave Service ledger/);
      assert.equal(await stored('deployment/ledger', '.spec.replicas'), '2');
      assert.equal(await stored('deployment/ledger', '.metadata.ownerReferences'), '');
    });

    it('judges a Deployment that already carries such a reference, through patch and /scale', async () => {
      const uid = await uidOf('configmap/x');
      const owned = JSON.stringify({ metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid, controller: true }] } });
      assert.equal((await kubectl(['patch', 'deploy', 'ledger', '-n', namespace, '--type=merge', '-p', owned])).code, 0);
      const scaled = await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=0']);
      assert.notEqual(scaled.code, 0);
      assert.match(scaled.stderr, /\[scale-to-zero\]/);
      const replaced = await kubectl(['patch', 'deploy', 'ledger', '-n', namespace, '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":0}]']);
      assert.notEqual(replaced.code, 0);
      assert.equal(await stored('deployment/ledger', '.spec.replicas'), '2');
    });

    it('judges an operator-owned StatefulSet at 0 behind its Service, as its /scale was judged already', async () => {
      const uid = await uidOf('configmap/x');
      const labels = { app: 'db' };
      await apply(JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: 'db', namespace, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid, controller: true }] },
        spec: { replicas: 1, serviceName: 'db', selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'db', image: 'registry.example/db:1' }] } } },
      }));
      await apply(service('db', labels));
      await eventually('a ready endpoint behind Service db', async () => (await readyEndpoints(namespace, 'db')) === 1, 120_000);
      await levee('statefulset/db', true);
      const patched = await kubectl(['patch', 'statefulset', 'db', '-n', namespace, '--type=merge', '-p', '{"spec":{"replicas":0}}']);
      assert.notEqual(patched.code, 0);
      assert.match(patched.stderr, /\[scale-to-zero\] scaling StatefulSet\/db to 0 replicas would leave Service db/);
      const scaled = await kubectl(['scale', 'statefulset/db', '-n', namespace, '--replicas=0']);
      assert.notEqual(scaled.code, 0);
      assert.equal(await stored('statefulset/db', '.spec.replicas'), '1');
    });

    it('judges a ReplicaSet whose controller is a ConfigMap', async () => {
      const uid = await uidOf('configmap/x');
      const labels = { app: 'batch' };
      await apply(JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'batch', namespace, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid, controller: true }] },
        spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'b', image: 'registry.example/b:1' }] } } },
      }));
      await apply(service('batch', labels));
      await eventually('a ready endpoint behind Service batch', async () => (await readyEndpoints(namespace, 'batch')) === 1, 120_000);
      await levee('replicaset/batch', true);
      const scaled = await kubectl(['scale', 'replicaset/batch', '-n', namespace, '--replicas=0']);
      assert.notEqual(scaled.code, 0);
      assert.match(scaled.stderr, /\[scale-to-zero\] scaling ReplicaSet\/batch/);
    });

    it("still lets the Deployment controller take a Recreate Deployment's old ReplicaSet to 0 during a rollout", async () => {
      const labels = { app: 'recreate' };
      await apply(deployment('recreate', 2, labels, { strategy: 'Recreate' }));
      await apply(service('recreate', labels));
      await eventually('2 ready endpoints behind Service recreate', async () => (await readyEndpoints(namespace, 'recreate')) === 2, 120_000);
      await levee('deployment/recreate', true);
      const rollout = await kubectl(['set', 'image', 'deployment/recreate', 'app=registry.example/app:2.0', '-n', namespace]);
      assert.equal(rollout.code, 0, rollout.stderr);
      const status = await kubectl(['rollout', 'status', 'deployment/recreate', '-n', namespace, '--timeout=120s']);
      assert.equal(status.code, 0, `${status.stdout}${status.stderr}`);
      const replicaSets = await kubectl(['get', 'replicasets', '-n', namespace, '-l', 'app=recreate', '-o', 'jsonpath={range .items[*]}{.spec.replicas}{" "}{end}']);
      assert.deepEqual(replicaSets.stdout.trim().split(' ').sort(), ['0', '2'], 'the old ReplicaSet went to 0 and the new one runs');
    });
  });

  describe('item 7: what serves nothing may go to zero', () => {
    it('allows scaling to 0 a Deployment whose pods never became ready', async () => {
      const labels = { app: 'stuck' };
      await apply(deployment('stuck', 2, labels, { nodeSelector: { 'levee.dev/no-such-node': 'true' } }));
      await apply(service('stuck', labels));
      await eventually('the stuck pods to exist, unscheduled', async () => {
        const pods = await kubectl(['get', 'pods', '-n', namespace, '-l', 'app=stuck', '-o', 'name']);
        return pods.stdout.trim().split('\n').filter(Boolean).length === 2 || pods.stdout;
      });
      assert.equal(await readyEndpoints(namespace, 'stuck'), 0);
      const result = await kubectl(['scale', 'deployment/stuck', '-n', namespace, '--replicas=0']);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(await stored('deployment/stuck', '.spec.replicas'), '0');
    });

    it('allows scaling to 0 what only an ExternalName Service with a leftover selector selects', async () => {
      const labels = { app: 'ext' };
      await apply(deployment('ext', 1, labels));
      await apply(service('ext', labels, { type: 'ExternalName', externalName: 'ext.example.com', ports: undefined }));
      await eventually('the ext pod to be ready', async () => {
        const ready = await kubectl(['get', 'deployment', 'ext', '-n', namespace, '-o', 'jsonpath={.status.readyReplicas}']);
        return ready.stdout === '1' || ready.stdout;
      }, 120_000);
      const result = await kubectl(['scale', 'deployment/ext', '-n', namespace, '--replicas=0']);
      assert.equal(result.code, 0, result.stderr);
    });

    it('counts a DaemonSet, a ReplicationController and a bare pod behind the Service as backends', async () => {
      const labels = { tier: 'front' };
      await apply(deployment('front', 1, { ...labels, app: 'front' }));
      await apply(service('front', labels));
      await eventually('the front Deployment behind Service front', async () => (await readyEndpoints(namespace, 'front')) === 1, 120_000);
      await levee('deployment/front', true);
      const template = (app: string) => ({ metadata: { labels: { ...labels, app } }, spec: { containers: [{ name: app, image: `registry.example/${app}:1` }] } });
      await apply(JSON.stringify({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace }, spec: { selector: { matchLabels: { app: 'agent' } }, template: template('agent') } }));
      await eventually('the DaemonSet behind Service front', async () => (await readyEndpoints(namespace, 'front')) > 1, 120_000);
      await levee('deployment/front', false);
      assert.equal((await kubectl(['delete', 'daemonset', 'agent', '-n', namespace, '--wait=true'])).code, 0);
      await eventually('the DaemonSet to leave Service front', async () => (await readyEndpoints(namespace, 'front')) === 1, 120_000);
      await levee('deployment/front', true);

      await apply(JSON.stringify({ apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'legacy', namespace }, spec: { replicas: 1, selector: { app: 'legacy' }, template: template('legacy') } }));
      await eventually('the ReplicationController behind Service front', async () => (await readyEndpoints(namespace, 'front')) === 2, 120_000);
      await levee('deployment/front', false);
      const scaleRc = await kubectl(['scale', 'deployment/front', '-n', namespace, '--replicas=0']);
      assert.equal(scaleRc.code, 0, scaleRc.stderr);
      await eventually('front to leave Service front', async () => (await readyEndpoints(namespace, 'front')) === 1, 120_000);
      await levee('rc/legacy', true);
      const lastRc = await kubectl(['scale', 'rc/legacy', '-n', namespace, '--replicas=0']);
      assert.notEqual(lastRc.code, 0, 'the ReplicationController is now the last backend');
      assert.match(lastRc.stderr, /\[scale-to-zero\] scaling ReplicationController\/legacy to 0 replicas would leave Service front/);

      await apply(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'debug', namespace, labels: { ...labels, app: 'debug' } }, spec: template('debug').spec }));
      await eventually('the bare pod behind Service front', async () => (await readyEndpoints(namespace, 'front')) === 2, 120_000);
      await levee('rc/legacy', false);
    });
  });

  describe('item 4: two backends of one Service scaled to zero at once', () => {
    it('lets one go and refuses the other, and stores just that', async () => {
      const labels = { tier: 'pair' };
      await apply(deployment('pair-a', 2, { ...labels, app: 'pair-a' }));
      await apply(deployment('pair-b', 2, { ...labels, app: 'pair-b' }));
      await apply(service('pair', labels));
      await eventually('4 ready endpoints behind Service pair', async () => (await readyEndpoints(namespace, 'pair')) === 4, 120_000);
      await levee('deployment/pair-a', false);
      await levee('deployment/pair-b', false);

      const results = await Promise.all(['pair-a', 'pair-b'].map((name) => kubectl(['scale', `deployment/${name}`, '-n', namespace, '--replicas=0'])));
      const refused = results.filter((result) => result.code !== 0);
      assert.equal(refused.length, 1, results.map((result) => result.stdout + result.stderr).join('\n'));
      assert.match(refused[0]!.stderr, /\[scale-to-zero\] scaling Deployment\/pair-[ab] to 0 replicas would leave Service pair/);
      // What the API server stored, not what kubectl printed, is what counts.
      const stored = await Promise.all(['pair-a', 'pair-b'].map((name) => storedReplicas(`deployment/${name}`)));
      assert.deepEqual(stored.sort(), ['0', '2']);
    });
  });

  describe('afterwards', () => {
    it('kept levee serving throughout', async () => {
      const env = await e2e();
      assert.equal(env.levee.exitCode, null, 'levee serve died during the run');
    });
  });
});
