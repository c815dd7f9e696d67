import assert from 'node:assert/strict';
import { e2e, eventually, kubectl } from '../support/e2e.js';
import { reopenGate, stopControllerManager, verdictIs } from '../support/gate.js';

/**
 * probe-gate while the cluster is Unhealthy (kube-controller-manager stopped), on a real API
 * server. Issue 12 item 1: a controller ownerReference written by the requester no longer
 * lets a bare Pod, a ReplicaSet or a Job through; a controller's own pod for an owner that
 * exists still goes through. Item 9: `kubectl rollout undo` of a DaemonSet or a StatefulSet
 * (a strategic merge patch with a previous ControllerRevision's template) is recovery, as it
 * is for a Deployment.
 */

const namespace = `gate-owners-${Date.now().toString(36)}`;
const REPLICASET_CONTROLLER = 'system:serviceaccount:kube-system:replicaset-controller';

function template(app: string, image: string): Record<string, unknown> {
  return { metadata: { labels: { app } }, spec: { containers: [{ name: app, image }] } };
}

/** `kubectl create`: one POST, as a controller sends it (`apply` would read the object first, which a controller's role may not allow). */
async function create(object: Record<string, unknown>, as?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = ['create', '-f', '-', ...(as ? [`--as=${as}`] : [])];
  return kubectl(args, { input: JSON.stringify(object) });
}

async function get(resource: string, path: string): Promise<string> {
  const result = await kubectl(['get', resource, '-n', namespace, '-o', `jsonpath={${path}}`]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

async function revisions(app: string): Promise<number> {
  const result = await kubectl(['get', 'controllerrevisions', '-n', namespace, '-l', `app=${app}`, '-o', 'name']);
  return result.stdout.trim().split('\n').filter(Boolean).length;
}

/** A workload with two revisions, made by its controller while the cluster is healthy. */
async function twoRevisions(kind: 'DaemonSet' | 'StatefulSet', app: string): Promise<void> {
  const spec = { selector: { matchLabels: { app } }, template: template(app, `registry.example/${app}:1`), ...(kind === 'StatefulSet' ? { replicas: 1, serviceName: app } : {}) };
  assert.equal((await create({ apiVersion: 'apps/v1', kind, metadata: { name: app, namespace }, spec })).code, 0);
  await eventually(`the first ControllerRevision of ${kind} ${app}`, async () => (await revisions(app)) === 1 || `${await revisions(app)}`, 120_000);
  const second = await kubectl(['set', 'image', `${kind.toLowerCase()}/${app}`, `${app}=registry.example/${app}:2`, '-n', namespace]);
  assert.equal(second.code, 0, second.stderr);
  await eventually(`the second ControllerRevision of ${kind} ${app}`, async () => (await revisions(app)) === 2 || `${await revisions(app)}`, 120_000);
}

function owned(kind: string, name: string, owner: { apiVersion: string; kind: string; name: string; uid: string }, spec: Record<string, unknown>): Record<string, unknown> {
  const apiVersion = kind === 'Pod' ? 'v1' : kind === 'Job' ? 'batch/v1' : 'apps/v1';
  return { apiVersion, kind, metadata: { name, namespace, labels: { app: name }, ownerReferences: [{ ...owner, controller: true }] }, spec };
}

describe('e2e: probe-gate, owner references and rollbacks while Unhealthy (issue 12 items 1 and 9)', function () {
  this.timeout(300_000);
  let configMap: { apiVersion: string; kind: string; name: string; uid: string };
  let replicaSet: { apiVersion: string; kind: string; name: string; uid: string };

  before(async function () {
    this.timeout(1_800_000);
    await e2e();
    assert.equal((await kubectl(['create', 'namespace', namespace])).code, 0);
    await eventually('the probes to read Healthy', () => verdictIs('Healthy'), 180_000);
    assert.equal((await create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace }, data: {} })).code, 0);
    configMap = { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: await get('configmap/x', '.metadata.uid') };
    const rs = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web', namespace }, spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: template('web', 'registry.example/web:1') } };
    assert.equal((await create(rs)).code, 0);
    replicaSet = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: await get('replicaset/web', '.metadata.uid') };
    await twoRevisions('DaemonSet', 'agent');
    await twoRevisions('StatefulSet', 'db');
    const took = await stopControllerManager();
    console.log(`      (Unhealthy ${Math.round(took / 1000)} s after kube-controller-manager stopped)`);
    await eventually('serve to close the gate', async () => {
      const probe = await kubectl(['set', 'image', 'daemonset/agent', 'agent=registry.example/agent:3', '-n', namespace, '--dry-run=server']);
      return probe.code !== 0 || 'still allowed';
    }, 30_000);
  });

  after(async function () {
    this.timeout(300_000);
    await reopenGate();
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  describe('item 1: forged controller references', () => {
    it('refuses a bare Pod whose controller reference names a ConfigMap', async () => {
      const result = await create(owned('Pod', 'sneaky', configMap, template('sneaky', 'registry.example/sneaky:1').spec as Record<string, unknown>));
      assert.notEqual(result.code, 0, 'the forged reference was let through');
      assert.match(result.stderr, /\[probe-gate\] creating Pod sneaky is a rollout, and rollouts are paused while the cluster is Unhealthy/);
    });

    it('refuses a ReplicaSet and a Job whose controller reference names a ConfigMap', async () => {
      const rs = await create(owned('ReplicaSet', 'sneaky-rs', configMap, { replicas: 1, selector: { matchLabels: { app: 'sneaky-rs' } }, template: template('sneaky-rs', 'registry.example/s:1') }));
      assert.notEqual(rs.code, 0);
      assert.match(rs.stderr, /\[probe-gate\] creating ReplicaSet sneaky-rs/);
      const jobTemplate = { ...template('sneaky-job', 'registry.example/s:1'), spec: { restartPolicy: 'Never', containers: [{ name: 'j', image: 'registry.example/s:1' }] } };
      const job = await create(owned('Job', 'sneaky-job', configMap, { template: jobTemplate }));
      assert.notEqual(job.code, 0);
      assert.match(job.stderr, /\[probe-gate\] creating Job sneaky-job/);
    });

    it('lets the ReplicaSet controller create a pod for its ReplicaSet, and refuses it the forged reference', async () => {
      const spec = template('web', 'registry.example/web:1').spec as Record<string, unknown>;
      const real = await create(owned('Pod', 'web-by-controller', replicaSet, spec), REPLICASET_CONTROLLER);
      assert.equal(real.code, 0, real.stderr);
      const forged = await create(owned('Pod', 'web-forged', configMap, spec), REPLICASET_CONTROLLER);
      assert.notEqual(forged.code, 0);
      assert.match(forged.stderr, /\[probe-gate\] creating Pod web-forged/);
    });

    it('refuses a person who writes a true controller reference by hand', async () => {
      const result = await create(owned('Pod', 'web-by-hand', replicaSet, template('web', 'registry.example/web:1').spec as Record<string, unknown>));
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /\[probe-gate\] creating Pod web-by-hand/);
    });
  });

  describe('item 9: rollbacks of DaemonSets and StatefulSets', () => {
    it('refuses a new template for the DaemonSet, and allows `kubectl rollout undo` back to its previous revision', async () => {
      const rollout = await kubectl(['set', 'image', 'daemonset/agent', 'agent=registry.example/agent:3', '-n', namespace]);
      assert.notEqual(rollout.code, 0);
      assert.match(rollout.stderr, /\[probe-gate\] changing the pod template of DaemonSet agent is a rollout/);
      const undo = await kubectl(['rollout', 'undo', 'daemonset/agent', '-n', namespace]);
      assert.equal(undo.code, 0, undo.stderr);
      assert.equal(await get('daemonset/agent', '.spec.template.spec.containers[0].image'), 'registry.example/agent:1');
    });

    it('allows `kubectl rollout undo` of the StatefulSet, and `--to-revision` back again', async () => {
      const undo = await kubectl(['rollout', 'undo', 'statefulset/db', '-n', namespace]);
      assert.equal(undo.code, 0, undo.stderr);
      assert.equal(await get('statefulset/db', '.spec.template.spec.containers[0].image'), 'registry.example/db:1');
      const redo = await kubectl(['rollout', 'undo', 'statefulset/db', '-n', namespace, '--to-revision=2']);
      assert.equal(redo.code, 0, redo.stderr);
      assert.equal(await get('statefulset/db', '.spec.template.spec.containers[0].image'), 'registry.example/db:2');
    });

    it('refuses a StatefulSet template no revision of it holds', async () => {
      const rollout = await kubectl(['set', 'image', 'statefulset/db', 'db=registry.example/db:9', '-n', namespace]);
      assert.notEqual(rollout.code, 0);
      assert.match(rollout.stderr, /\[probe-gate\] changing the pod template of StatefulSet db is a rollout/);
    });
  });
});
