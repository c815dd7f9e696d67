import assert from 'node:assert/strict';
import { eventually, inFreshNamespace, kubectl, readyEndpoints } from '../support/e2e.js';

/**
 * The other ways to empty a Service, on a real API server: new pod labels that its selector no
 * longer matches (refused), and deleting or evicting a DaemonSet or a bare Pod that is its last
 * backend (warned). The API server sends each as it really does: a Deployment patch, a DaemonSet
 * and a Pod DELETE with the stored object as oldObject, an Eviction that names the pod alone.
 */

const namespace = `relabel-${Date.now().toString(36)}`;

const service = (name: string, selector: Record<string, string>): string =>
  JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector, ports: [{ port: 80, targetPort: 8080 }] } });

const template = (labels: Record<string, string>) => ({ metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/web:1.0' }] } });

async function apply(manifest: string): Promise<void> {
  const result = await kubectl(['apply', '-f', '-'], { input: manifest });
  assert.equal(result.code, 0, result.stderr);
}

/** Waits until levee's caches hold the Service's endpoints: its server-side dry-run answer says so. */
async function untilLeveeSees(what: string, dryRun: () => Promise<boolean>): Promise<void> {
  await eventually(`levee to see ${what}`, async () => (await dryRun()) || 'not yet');
}

describe('e2e: relabels and bare backends (labels-leave-service, last-backend-deleted)', function () {
  this.timeout(240_000);

  inFreshNamespace(namespace);

  it('refuses a template that drops the label the Service selects, keeping the selector, and stores nothing', async () => {
    await apply(JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web', tier: 'front' }) },
    }));
    await apply(service('front', { tier: 'front' }));
    await eventually('2 ready endpoints behind Service front', async () => (await readyEndpoints(namespace, 'front')) === 2 || `${await readyEndpoints(namespace, 'front')}`, 120_000);
    const patch = JSON.stringify({ spec: { template: { metadata: { labels: { app: 'web', tier: null } } } } });
    await untilLeveeSees('the front endpoints', async () => (await kubectl(['patch', 'deployment/web', '-n', namespace, '--type=merge', '-p', patch, '--dry-run=server'])).code !== 0);

    const refused = await kubectl(['patch', 'deployment/web', '-n', namespace, '--type=merge', '-p', patch]);
    assert.notEqual(refused.code, 0, 'the relabel went through');
    assert.match(refused.stderr, /\[scale-to-zero\].*new pod labels of Deployment\/web leave Service front/);
    const stored = await kubectl(['get', 'deployment/web', '-n', namespace, '-o', 'jsonpath={.spec.template.metadata.labels.tier}']);
    assert.equal(stored.stdout, 'front');

    // A label the Service does not select may change freely.
    const unrelated = await kubectl(['patch', 'deployment/web', '-n', namespace, '--type=merge', '-p', JSON.stringify({ spec: { template: { metadata: { labels: { track: 'stable' } } } } })]);
    assert.equal(unrelated.code, 0, unrelated.stderr);
  });

  it('warns when a DaemonSet that is the last backend of its Service is deleted, and deletes it', async () => {
    await apply(JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', namespace },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: template({ app: 'agent' }) },
    }));
    await apply(service('agent', { app: 'agent' }));
    await eventually('ready endpoints behind Service agent', async () => (await readyEndpoints(namespace, 'agent')) > 0 || 'none yet', 120_000);
    await untilLeveeSees('the agent endpoints', async () => /last-backend|leaves Service agent/.test((await kubectl(['delete', 'daemonset/agent', '-n', namespace, '--dry-run=server'])).stderr));

    const deleted = await kubectl(['delete', 'daemonset/agent', '-n', namespace, '--wait=false']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stderr, /Warning: levee \[scale-to-zero\] deleting DaemonSet\/agent leaves Service agent/);
  });

  it('warns when a bare Pod that is the last backend of its Service is deleted, and not for a Deployment pod', async () => {
    await apply(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'solo', namespace, labels: { app: 'solo' } }, spec: template({}).spec }));
    await apply(service('solo', { app: 'solo' }));
    await eventually('a ready endpoint behind Service solo', async () => (await readyEndpoints(namespace, 'solo')) === 1 || `${await readyEndpoints(namespace, 'solo')}`, 120_000);
    await untilLeveeSees('the solo endpoint', async () => /leaves Service solo/.test((await kubectl(['delete', 'pod/solo', '-n', namespace, '--dry-run=server'])).stderr));

    const deleted = await kubectl(['delete', 'pod/solo', '-n', namespace, '--wait=false']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stderr, /Warning: levee \[scale-to-zero\] deleting Pod\/solo leaves Service solo/);

    const pods = await kubectl(['get', 'pods', '-n', namespace, '-l', 'app=web', '-o', 'jsonpath={.items[0].metadata.name}']);
    assert.equal(pods.code, 0, pods.stderr);
    const replaced = await kubectl(['delete', `pod/${pods.stdout}`, '-n', namespace, '--wait=false']);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.doesNotMatch(replaced.stderr, /scale-to-zero/);
  });

  it('warns when a bare Pod that is the last backend of its Service is evicted (kubectl drain), dry-run or not, and not for a Deployment pod', async () => {
    await loneBackend('drained');
    const evict = (pod: string, dryRun: boolean) =>
      kubectl(['create', '--raw', `/api/v1/namespaces/${namespace}/pods/${pod}/eviction${dryRun ? '?dryRun=All' : ''}`, '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace } }),
      });
    const warning = /Warning: levee \[scale-to-zero\] evicting Pod\/drained leaves Service drained in namespace \S+ with no endpoints, and nothing recreates a pod no controller owns/;

    const dryRun = await evict('drained', true);
    assert.equal(dryRun.code, 0, dryRun.stderr);
    assert.match(dryRun.stderr, warning);
    assert.equal((await kubectl(['get', 'pod/drained', '-n', namespace, '-o', 'jsonpath={.metadata.deletionTimestamp}'])).stdout, '', 'a dry-run eviction left the pod alone');

    const evicted = await evict('drained', false);
    assert.equal(evicted.code, 0, evicted.stderr);
    assert.match(evicted.stderr, warning);
    await eventually('pod drained to be on its way out', async () => {
      const got = await kubectl(['get', 'pod/drained', '-n', namespace, '-o', 'jsonpath={.metadata.deletionTimestamp}']);
      return got.code !== 0 || got.stdout !== '' || 'still there';
    });

    const pods = await kubectl(['get', 'pods', '-n', namespace, '-l', 'app=web', '-o', 'jsonpath={.items[0].metadata.name}']);
    assert.equal(pods.code, 0, pods.stderr);
    const replaced = await evict(pods.stdout, false);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.doesNotMatch(replaced.stderr, /scale-to-zero/);
  });

  it('takes an Eviction as the API server sends it whatever its spelling: policy/v1beta1, another pod named in its body, its dry run in deleteOptions', async () => {
    await loneBackend('spelled');
    const evict = (pod: string, body: Record<string, unknown>, query = '') =>
      kubectl(['create', '--raw', `/api/v1/namespaces/${namespace}/pods/${pod}/eviction${query}`, '-f', '-'], { input: JSON.stringify({ kind: 'Eviction', ...body }) });
    const warning = /Warning: levee \[scale-to-zero\] evicting Pod\/spelled leaves Service spelled in namespace/;
    const deletionTimestamp = async (pod: string) => (await kubectl(['get', `pod/${pod}`, '-n', namespace, '-o', 'jsonpath={.metadata.deletionTimestamp}'])).stdout;

    // policy/v1beta1 is still decoded at the pods/eviction subresource and reaches levee as the same request.
    const beta = await evict('spelled', { apiVersion: 'policy/v1beta1', metadata: { name: 'spelled', namespace } }, '?dryRun=All');
    assert.equal(beta.code, 0, beta.stderr);
    assert.match(beta.stderr, warning);

    // The API server refuses a body naming another pod than its URL before any webhook is asked.
    const other = await evict('spelled', { apiVersion: 'policy/v1', metadata: { name: 'someone-else', namespace } });
    assert.notEqual(other.code, 0, 'an Eviction naming another pod than its URL went through');
    assert.match(other.stderr, /name in URL does not match name in Eviction object/);
    assert.doesNotMatch(other.stderr, /scale-to-zero/);

    // A pod that does not exist: levee is asked first and answers without refusing; the API server's 404 follows.
    const missing = await evict('no-such-pod', { apiVersion: 'policy/v1', metadata: { name: 'no-such-pod', namespace } });
    assert.notEqual(missing.code, 0, 'evicted a pod that does not exist');
    assert.match(missing.stderr, /NotFound|not found/);
    assert.doesNotMatch(missing.stderr, /levee/);

    // The dry run written in the body's deleteOptions alone: still warned, the pod left alone.
    const inBody = await evict('spelled', { apiVersion: 'policy/v1', metadata: { name: 'spelled', namespace }, deleteOptions: { dryRun: ['All'] } });
    assert.equal(inBody.code, 0, inBody.stderr);
    assert.match(inBody.stderr, warning);
    assert.equal(await deletionTimestamp('spelled'), '', 'a dry-run eviction left the pod alone');
  });

  it('remembers no eviction whose dry run is written in its deleteOptions: the other bare pod of the Service is still not its last backend', async () => {
    for (const pod of ['pair-a', 'pair-b']) {
      await apply(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod, namespace, labels: { app: 'pair' } }, spec: template({}).spec }));
    }
    await apply(service('pair', { app: 'pair' }));
    await eventually('2 ready endpoints behind Service pair', async () => (await readyEndpoints(namespace, 'pair')) === 2 || `${await readyEndpoints(namespace, 'pair')}`, 120_000);
    const evict = (pod: string, body: Record<string, unknown>, query = '') =>
      kubectl(['create', '--raw', `/api/v1/namespaces/${namespace}/pods/${pod}/eviction${query}`, '-f', '-'], { input: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace }, ...body }) });
    // Until levee holds both endpoints, a dry-run delete of pair-a warns.
    await untilLeveeSees('both pair endpoints', async () => {
      const dry = await kubectl(['delete', 'pod/pair-a', '-n', namespace, '--dry-run=server']);
      return dry.code === 0 && !/scale-to-zero/.test(dry.stderr);
    });

    const inBody = await evict('pair-a', { deleteOptions: { dryRun: ['All'] } });
    assert.equal(inBody.code, 0, inBody.stderr);
    assert.doesNotMatch(inBody.stderr, /scale-to-zero/, 'pair-b stays behind Service pair');
    const second = await evict('pair-b', {}, '?dryRun=All');
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stderr, /scale-to-zero/, 'the dry-run eviction of pair-a was counted as done');
    const pods = await kubectl(['get', 'pods', '-n', namespace, '-l', 'app=pair', '-o', 'jsonpath={.items[*].metadata.name}']);
    assert.equal(pods.stdout, 'pair-a pair-b');
  });

  /** Creates bare pod `name` (labels app=<name>, these ownerReferences) and Service `name`, and waits until levee judges its delete as the last backend's. */
  async function loneBackend(name: string, ownerReferences?: unknown[]): Promise<void> {
    await apply(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: { app: name }, ...(ownerReferences ? { ownerReferences } : {}) }, spec: template({}).spec }));
    await apply(service(name, { app: name }));
    await eventually(`a ready endpoint behind Service ${name}`, async () => (await readyEndpoints(namespace, name)) === 1 || `${await readyEndpoints(namespace, name)}`, 120_000);
    await untilLeveeSees(`the ${name} endpoint`, async () => new RegExp(`leaves Service ${name}`).test((await kubectl(['delete', `pod/${name}`, '-n', namespace, '--dry-run=server'])).stderr));
  }

  async function storedLabel(pod: string, key: string): Promise<string> {
    const got = await kubectl(['get', `pod/${pod}`, '-n', namespace, '-o', `jsonpath={.metadata.labels.${key}}`]);
    assert.equal(got.code, 0, got.stderr);
    return got.stdout;
  }

  it('judges a pod whose controller reference names a ConfigMap as the bare pod it is: relabels refused however sent, its delete warned', async () => {
    const created = await kubectl(['create', 'configmap', 'settings', '-n', namespace]);
    assert.equal(created.code, 0, created.stderr);
    const uid = (await kubectl(['get', 'configmap/settings', '-n', namespace, '-o', 'jsonpath={.metadata.uid}'])).stdout;
    assert.ok(uid, 'the ConfigMap has a uid');
    // The real uid: the garbage collector keeps the pod, its owner exists.
    await loneBackend('forged', [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'settings', uid, controller: true }]);

    const relabels: Array<[string, string[], string?]> = [
      ['kubectl label', ['label', 'pod/forged', '-n', namespace, 'app=quarantined', '--overwrite']],
      ['a JSON patch', ['patch', 'pod/forged', '-n', namespace, '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/metadata/labels/app', value: 'quarantined' }])]],
      ['a strategic merge patch', ['patch', 'pod/forged', '-n', namespace, '--type=strategic', '-p', JSON.stringify({ metadata: { labels: { app: null } } })]],
      [
        'server-side apply',
        ['apply', '--server-side', '--force-conflicts', '--field-manager=relabeller', '-f', '-'],
        JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'forged', namespace, labels: { app: 'quarantined' } } }),
      ],
    ];
    for (const [how, args, input] of relabels) {
      const refused = await kubectl(args, input ? { input } : {});
      assert.notEqual(refused.code, 0, `${how}: the relabel went through`);
      assert.match(refused.stderr, /\[scale-to-zero\].*new pod labels of Pod\/forged leave Service forged/, how);
      assert.equal(await storedLabel('forged', 'app'), 'forged', how);
    }

    const deleted = await kubectl(['delete', 'pod/forged', '-n', namespace, '--wait=false']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stderr, /Warning: levee \[scale-to-zero\] deleting Pod\/forged leaves Service forged/);
  });

  it('pods/status: the API server keeps the labels a status update writes, so levee judges them: a relabel out of the only Service refused', async () => {
    await loneBackend('status-solo');
    // A label no Service selects, written through pods/status: stored (the API server puts back
    // only the spec, deletionTimestamp and ownerReferences of a status update).
    const unrelated = await kubectl(['patch', 'pod/status-solo', '-n', namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({ metadata: { labels: { written: 'through-status' } } })]);
    assert.equal(unrelated.code, 0, unrelated.stderr);
    assert.equal(await storedLabel('status-solo', 'written'), 'through-status', 'pods/status changed a label');

    const refused = await kubectl(['patch', 'pod/status-solo', '-n', namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({ metadata: { labels: { app: 'quarantined' } } })]);
    assert.notEqual(refused.code, 0, 'the relabel through pods/status went through');
    assert.match(refused.stderr, /\[scale-to-zero\].*new pod labels of Pod\/status-solo leave Service status-solo/);
    assert.equal(await storedLabel('status-solo', 'app'), 'status-solo');
  });
});
