import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import yaml from 'js-yaml';
import { recordValue } from '../../src/engine/authorship.js';
import type { UserInfo } from '../../src/kube/types.js';
import { minimalCrd } from '../support/crds.js';
import { e2e, eventually, kubectl, readyEndpoints, sleep, type KubectlResult } from '../support/e2e.js';

/**
 * "Only levee writes its stamps", against the real API server: every path that stores
 * metadata.annotations on an object levee reads a stamp from (status and other subresources,
 * server-side apply through a subresource, JSON patch removals, a Binding) either drops the
 * stamp or is refused with the README's message; and a record forged where levee does not see
 * it is never honoured for the admin it names.
 */

const namespace = `stamps-${Date.now().toString(36)}`;
const FORGED_BY = 'levee.dev/overridden-by';
const RECORD = 'levee.dev/override-authorized-by';
const FORGED = /is written by levee alone/;
const inOneHour = (): string => new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const overrideOf = (expires: string): Record<string, string> => ({
  'levee.dev/override': 'scale-to-zero',
  'levee.dev/override-reason': `INC-91: retiring ${namespace}`,
  'levee.dev/override-expires': expires,
});

interface Stored {
  metadata: { annotations?: Record<string, string> | null; resourceVersion?: string };
}

async function read(path: string): Promise<Stored> {
  const result = await kubectl(['get', '--raw', path]);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as Stored;
}

async function annotationsAt(path: string): Promise<Record<string, string>> {
  return (await read(path)).metadata.annotations ?? {};
}

/** A PUT of the stored object through `subresource`, with `annotations` added to it. */
async function putThrough(path: string, subresource: string, annotations: Record<string, string>, as: 'admin' | 'developer' = 'admin'): Promise<KubectlResult> {
  const put = async (): Promise<KubectlResult> => {
    const object = await read(path);
    object.metadata.annotations = { ...(object.metadata.annotations ?? {}), ...annotations };
    return kubectl(['replace', '--raw', `${path}/${subresource}`, '-f', '-'], { input: JSON.stringify(object), as });
  };
  // A controller's or kwok's status write between the read and the PUT is a 409: read again.
  let result = await put();
  for (let attempt = 1; attempt < 5 && result.stderr.includes('the object has been modified'); attempt++) result = await put();
  return result;
}

function refused(result: KubectlResult, pattern: RegExp): void {
  assert.notEqual(result.code, 0, `expected a refusal, got: ${result.stdout}`);
  assert.match(result.stderr, pattern);
}

async function whoAmI(as: 'admin' | 'developer' = 'admin'): Promise<UserInfo> {
  const result = await kubectl(['auth', 'whoami', '-o', 'json'], { as });
  assert.equal(result.code, 0, result.stderr);
  const review = JSON.parse(result.stdout) as { status: { userInfo: UserInfo } };
  return review.status.userInfo;
}

const apply = async (object: unknown, as: 'admin' | 'developer' = 'admin'): Promise<KubectlResult> => kubectl(['apply', '-f', '-'], { input: JSON.stringify(object), as });

/** One request to the test cluster's API server with the admin's client certificate: any verb, path and content type. */
async function raw(method: string, path: string, body?: string, contentType = 'application/json'): Promise<{ status: number; text: string }> {
  const env = await e2e();
  const config = yaml.load(readFileSync(env.cluster.kubeconfig, 'utf8')) as {
    clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
    users: Array<{ user: { 'client-certificate-data': string; 'client-key-data': string } }>;
  };
  const decode = (b64: string) => Buffer.from(b64, 'base64');
  const server = new URL(config.clusters[0]!.cluster.server);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: Number(server.port),
        method,
        path,
        ca: decode(config.clusters[0]!.cluster['certificate-authority-data']),
        cert: decode(config.users[0]!.user['client-certificate-data']),
        key: decode(config.users[0]!.user['client-key-data']),
        headers: { 'content-type': contentType, accept: 'application/json' },
        timeout: 30_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A kind levee reads stamps from, one object of it, and the subresources its API serves. */
interface Target {
  name: string;
  /** The object's path (namespaced: under the namespace given). */
  path: (namespace: string) => string;
  object: (namespace: string) => Record<string, unknown>;
  subresources: string[];
  /** Built-in kinds take strategic merge patches; custom resources do not. */
  builtin: boolean;
  namespaced: boolean;
}

const RECORD_FORGED = '{"username":"mallory","groups":["system:masters"],"override":""}';
const WAYS = ['PUT', 'json-patch', 'merge-patch', 'strategic-merge-patch', 'apply'] as const;
type Way = (typeof WAYS)[number];

/** The write that adds a forged record and a forged overridden-by, `way`, through `subresource` ('' for the object itself). */
async function forge(target: Target, namespace: string, subresource: string, way: Way, tag: string): Promise<{ status: number; text: string }> {
  const base = target.path(namespace);
  const path = subresource ? `${base}/${subresource}` : base;
  const forged = { [RECORD]: RECORD_FORGED, [FORGED_BY]: `mallory-${tag}` };
  const query = way === 'apply' ? '?fieldManager=forger&force=true' : '';
  switch (way) {
    case 'PUT': {
      const put = async (): Promise<{ status: number; text: string }> => {
        const read = await raw('GET', path);
        assert.equal(read.status, 200, `GET ${path}: ${read.text}`);
        const object = JSON.parse(read.text) as Stored;
        object.metadata.annotations = { ...(object.metadata.annotations ?? {}), ...forged };
        return raw('PUT', path, JSON.stringify(object));
      };
      // A controller's or kwok's status write between the read and the PUT is a 409: read again.
      let answer = await put();
      for (let attempt = 1; attempt < 5 && answer.status === 409; attempt++) answer = await put();
      return answer;
    }
    case 'json-patch': {
      const read = await raw('GET', path);
      assert.equal(read.status, 200, `GET ${path}: ${read.text}`);
      const current = (JSON.parse(read.text) as Stored).metadata.annotations;
      const ops = current
        ? Object.entries(forged).map(([key, value]) => ({ op: 'add', path: `/metadata/annotations/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, value }))
        : [{ op: 'add', path: '/metadata/annotations', value: forged }];
      return raw('PATCH', path, JSON.stringify(ops), 'application/json-patch+json');
    }
    case 'merge-patch':
      return raw('PATCH', path, JSON.stringify({ metadata: { annotations: forged } }), 'application/merge-patch+json');
    case 'strategic-merge-patch':
      return raw('PATCH', path, JSON.stringify({ metadata: { annotations: forged } }), 'application/strategic-merge-patch+json');
    case 'apply': {
      const object = target.object(namespace) as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
      const manifest = { apiVersion: object.apiVersion, kind: object.kind, metadata: { name: object.metadata.name, ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}), annotations: forged } };
      return raw('PATCH', `${path}${query}`, JSON.stringify(manifest), 'application/apply-patch+yaml');
    }
  }
}

const labels = (name: string): Record<string, string> => ({ app: name });
const podSpec = { containers: [{ name: 'app', image: 'registry.example/app:1', resources: { requests: { cpu: '100m' } } }] };
const template = (name: string) => ({ metadata: { labels: labels(name) }, spec: podSpec });

describe('e2e: only levee writes its stamps, whatever path a write takes', function () {
  this.timeout(240_000);

  before(async function () {
    this.timeout(1_800_000);
    await e2e();
    assert.equal((await kubectl(['create', 'namespace', namespace])).code, 0);
    const objects = [
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'ledger', namespace }, spec: { replicas: 1, serviceName: 'ledger', selector: { matchLabels: labels('ledger') }, template: template('ledger') } },
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'cache', namespace }, spec: { replicas: 1, selector: { matchLabels: labels('cache') }, template: template('cache') } },
      { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace }, spec: { selector: { matchLabels: labels('agent') }, template: template('agent') } },
      { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'report', namespace }, spec: { suspend: true, template: { ...template('report'), spec: { ...podSpec, restartPolicy: 'Never' } } } },
      { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'nightly', namespace }, spec: { suspend: true, schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: { ...podSpec, restartPolicy: 'Never' } } } } } },
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace }, spec: { replicas: 1, selector: { matchLabels: labels('web') }, template: template('web') } },
      { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', namespace }, spec: { minReplicas: 1, maxReplicas: 3, scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }] } },
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'lone', namespace, labels: labels('lone') }, spec: podSpec },
      // Unbound (no scheduler of that name): kwok's nodes take no in-place resize.
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'waiting', namespace, labels: labels('waiting') }, spec: { ...podSpec, schedulerName: 'nobody' } },
    ];
    for (const object of objects) {
      const result = await apply(object);
      assert.equal(result.code, 0, result.stderr);
    }
  });

  after(async () => {
    await kubectl(['delete', 'clusterrole,clusterrolebinding', `binder-${namespace}`, '--ignore-not-found']);
    await kubectl(['delete', 'pod', 'stamped', '-n', 'kube-system', '--ignore-not-found', '--wait=false']);
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  describe('subresources: a forged stamp is never stored, and where annotations are stored it is refused', () => {
    // Which subresources store metadata.annotations on this API server (true), and which put the stored ones back.
    const targets: Array<[string, string, string, boolean]> = [
      ['statefulsets/status', `/apis/apps/v1/namespaces/${namespace}/statefulsets/ledger`, 'status', true],
      ['replicasets/status', `/apis/apps/v1/namespaces/${namespace}/replicasets/cache`, 'status', true],
      ['daemonsets/status', `/apis/apps/v1/namespaces/${namespace}/daemonsets/agent`, 'status', true],
      ['deployments/status', `/apis/apps/v1/namespaces/${namespace}/deployments/web`, 'status', true],
      ['jobs/status', `/apis/batch/v1/namespaces/${namespace}/jobs/report`, 'status', true],
      ['cronjobs/status', `/apis/batch/v1/namespaces/${namespace}/cronjobs/nightly`, 'status', true],
      ['horizontalpodautoscalers/status', `/apis/autoscaling/v2/namespaces/${namespace}/horizontalpodautoscalers/web`, 'status', true],
      ['pods/status', `/api/v1/namespaces/${namespace}/pods/lone`, 'status', true],
      ['pods/ephemeralcontainers', `/api/v1/namespaces/${namespace}/pods/lone`, 'ephemeralcontainers', false],
      ['pods/resize', `/api/v1/namespaces/${namespace}/pods/waiting`, 'resize', false],
    ];
    for (const [name, path, subresource, stores] of targets) {
      it(`${name} ${stores ? 'stores annotations: a forged stamp is refused' : 'drops annotations: a forged stamp goes with them'}`, async () => {
        const plain = await putThrough(path, subresource, { 'team.example/note': subresource });
        assert.equal(plain.code, 0, plain.stderr);
        assert.equal((await annotationsAt(path))['team.example/note'] === subresource, stores, `${name} stores annotations`);
        const forged = await putThrough(path, subresource, { [FORGED_BY]: 'mallory', [RECORD]: '{"username":"mallory","groups":["system:masters"],"override":""}' });
        if (stores) refused(forged, FORGED);
        const now = await annotationsAt(path);
        assert.equal(now[FORGED_BY], undefined, `${name} stored a forged ${FORGED_BY}`);
        assert.equal(now[RECORD], undefined, `${name} stored a forged ${RECORD}`);
      });
    }

    it('nodes/status (stores annotations): a forged stamp is refused', async () => {
      const node = (await kubectl(['get', 'nodes', '-o', 'jsonpath={.items[0].metadata.name}'])).stdout.trim();
      const path = `/api/v1/nodes/${node}`;
      const forged = await putThrough(path, 'status', { [RECORD]: '{"username":"mallory","groups":["system:masters"],"override":""}' });
      refused(forged, FORGED);
      assert.equal((await annotationsAt(path))[RECORD], undefined);
    });

    it('deployments/scale: annotations on the Scale are not stored on the Deployment', async () => {
      const path = `/apis/apps/v1/namespaces/${namespace}/deployments/web`;
      const scale = await read(`${path}/scale`);
      scale.metadata.annotations = { [FORGED_BY]: 'mallory' };
      await kubectl(['replace', '--raw', `${path}/scale`, '-f', '-'], { input: JSON.stringify(scale) });
      assert.equal((await annotationsAt(path))[FORGED_BY], undefined);
    });

    it('server-side apply through --subresource=status is refused the same way', async () => {
      const manifest = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'ledger', namespace, annotations: { [FORGED_BY]: 'mallory' } } };
      const result = await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=stamper', '--subresource=status', '-f', '-'], { input: JSON.stringify(manifest) });
      refused(result, FORGED);
      assert.equal((await annotationsAt(`/apis/apps/v1/namespaces/${namespace}/statefulsets/ledger`))[FORGED_BY], undefined);
    });
  });

  describe('a stored record', () => {
    const path = `/apis/apps/v1/namespaces/${namespace}/deployments/web`;

    before(async () => {
      const annotated = await kubectl(['annotate', '--overwrite', 'deployment', 'web', '-n', namespace, ...Object.entries(overrideOf(inOneHour())).map(([k, v]) => `${k}=${v}`)]);
      assert.equal(annotated.code, 0, annotated.stderr);
      assert.notEqual((await annotationsAt(path))[RECORD] ?? '', '', 'levee recorded the admin as the author');
    });

    it('a JSON patch through status that removes it is refused, and it stays', async () => {
      const stored = (await annotationsAt(path))[RECORD];
      const result = await kubectl(['patch', 'deployment', 'web', '-n', namespace, '--subresource=status', '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/metadata/annotations/levee.dev~1override-authorized-by' }])]);
      refused(result, /levee\.dev\/override-authorized-by is written by levee alone, and this request removes it/);
      assert.equal((await annotationsAt(path))[RECORD], stored);
    });

    it('a JSON patch on the Deployment itself that removes it leaves it in place', async () => {
      const stored = (await annotationsAt(path))[RECORD];
      const result = await kubectl(['patch', 'deployment', 'web', '-n', namespace, '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/metadata/annotations/levee.dev~1override-authorized-by' }])], { as: 'developer' });
      assert.equal(result.code, 0, result.stderr);
      assert.equal((await annotationsAt(path))[RECORD], stored);
    });
  });

  describe('a record forged where levee does not read it is not honoured', () => {
    it('a key spelled in capitals (which the API server accepts) is no record: the developer\'s scale to 0 is still refused', async () => {
      const name = 'caps';
      const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace }, spec: { replicas: 1, selector: { matchLabels: labels(name) }, template: template(name) } };
      assert.equal((await apply(deployment)).code, 0);
      assert.equal((await apply({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector: labels(name), ports: [{ port: 80 }] } })).code, 0);
      await eventually(`ready endpoints behind ${name}`, async () => (await readyEndpoints(namespace, name)) > 0, 120_000);
      await eventually('levee to see the endpoints', async () => (await kubectl(['scale', `deployment/${name}`, '-n', namespace, '--replicas=0', '--dry-run=server'])).code !== 0);
      const override = overrideOf(inOneHour());
      const set = await kubectl(['annotate', 'deployment', name, '-n', namespace, ...Object.entries(override).map(([k, v]) => `${k}=${v}`)], { as: 'developer' });
      assert.equal(set.code, 0, set.stderr);
      const forged = recordValue(await whoAmI('admin'), override);
      const path = `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`;
      const capitals = await putThrough(path, 'status', { 'LEVEE.DEV/override-authorized-by': forged });
      assert.equal(capitals.code, 0, `the API server takes a key in capitals: ${capitals.stderr}`);
      assert.equal((await annotationsAt(path))['LEVEE.DEV/override-authorized-by'], forged);
      const scaled = await kubectl(['scale', `deployment/${name}`, '-n', namespace, '--replicas=0'], { as: 'developer' });
      refused(scaled, /override ignored: not authorized: levee has no record of who set this override/);
      assert.equal((await kubectl(['get', 'deployment', name, '-n', namespace, '-o', 'jsonpath={.spec.replicas}'])).stdout, '1');
    });

    it('a Binding (pods/binding, which copies its annotations onto the Pod) carrying a forged record is refused, and the developer\'s relabel of the last backend is still refused', async () => {
      const name = 'solo';
      const binder = `system:serviceaccount:${namespace}:binder`;
      const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: `binder-${namespace}` }, rules: [{ apiGroups: [''], resources: ['pods/binding', 'bindings'], verbs: ['create'] }] };
      const binding = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: `binder-${namespace}` }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role.metadata.name }, subjects: [{ kind: 'ServiceAccount', name: 'binder', namespace }] };
      assert.equal((await apply(role)).code, 0);
      assert.equal((await apply(binding)).code, 0);
      assert.equal((await apply({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector: labels(name), ports: [{ port: 80 }] } })).code, 0);
      const override = overrideOf(inOneHour());
      // A pod for a scheduler of its own: it waits, unbound, for the binder.
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: labels(name), annotations: override }, spec: { ...podSpec, schedulerName: 'binder' } };
      const created = await apply(pod, 'developer');
      assert.equal(created.code, 0, created.stderr);
      const node = (await kubectl(['get', 'nodes', '-o', 'jsonpath={.items[0].metadata.name}'])).stdout.trim();
      const forged = recordValue(await whoAmI('admin'), override);
      const bind = { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, annotations: { [RECORD]: forged } }, target: { apiVersion: 'v1', kind: 'Node', name: node } };
      const bound = await kubectl(['create', '--raw', `/api/v1/namespaces/${namespace}/pods/${name}/binding`, '-f', '-', '--as', binder], { input: JSON.stringify(bind) });
      const podPath = `/api/v1/namespaces/${namespace}/pods/${name}`;
      refused(bound, FORGED);
      assert.equal((await annotationsAt(podPath))[RECORD], undefined, 'a Binding stored a forged record on the Pod');
      const plain = { ...bind, metadata: { name, namespace } };
      const rebound = await kubectl(['create', '--raw', `/api/v1/namespaces/${namespace}/pods/${name}/binding`, '-f', '-', '--as', binder], { input: JSON.stringify(plain) });
      assert.equal(rebound.code, 0, rebound.stderr);
      await eventually(`ready endpoints behind ${name}`, async () => (await readyEndpoints(namespace, name)) > 0, 120_000);
      await eventually('levee to see the endpoint', async () => (await kubectl(['label', 'pod', name, '-n', namespace, `app=elsewhere`, '--overwrite', '--dry-run=server'])).code !== 0);
      const relabel = await kubectl(['label', 'pod', name, '-n', namespace, 'app=elsewhere', '--overwrite'], { as: 'developer' });
      refused(relabel, /scale-to-zero/);
      assert.equal((await kubectl(['get', 'pod', name, '-n', namespace, '-o', 'jsonpath={.metadata.labels.app}'])).stdout, name);
    });

    it('the legacy bindings resource is held to the same', async () => {
      const name = 'solo-legacy';
      const binder = `system:serviceaccount:${namespace}:binder`;
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: labels(name) }, spec: { ...podSpec, schedulerName: 'binder' } };
      assert.equal((await apply(pod, 'developer')).code, 0);
      const node = (await kubectl(['get', 'nodes', '-o', 'jsonpath={.items[0].metadata.name}'])).stdout.trim();
      const bind = { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace, annotations: { [FORGED_BY]: 'mallory' } }, target: { apiVersion: 'v1', kind: 'Node', name: node } };
      const bound = await kubectl(['create', '--raw', `/api/v1/namespaces/${namespace}/bindings`, '-f', '-', '--as', binder], { input: JSON.stringify(bind) });
      refused(bound, FORGED);
      assert.equal((await annotationsAt(`/api/v1/namespaces/${namespace}/pods/${name}`))[FORGED_BY], undefined, 'a Binding stored a forged stamp on the Pod');
    });
  });

  describe('every subresource of every kind levee reads stamps from, in kube-system and elsewhere, every way of writing', () => {
    const meta = (name: string, ns: string, namespaced = true) => ({ name, ...(namespaced ? { namespace: ns } : {}), annotations: { 'team.example/owner': 'payments' } });
    const core = (ns: string, plural: string, name: string) => `/api/v1/namespaces/${ns}/${plural}/${name}`;
    const grouped = (group: string, version: string, plural: string, name: string) => (ns: string) => `/apis/${group}/${version}/namespaces/${ns}/${plural}/${name}`;
    const suspendedPod = { ...podSpec, restartPolicy: 'Never' };
    const targets: Target[] = [
      { name: 'Deployment', builtin: true, namespaced: true, subresources: ['status', 'scale'], path: grouped('apps', 'v1', 'deployments', 'forge-web'), object: (ns) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta('forge-web', ns), spec: { replicas: 1, paused: true, selector: { matchLabels: labels('forge-web') }, template: template('forge-web') } }) },
      { name: 'StatefulSet', builtin: true, namespaced: true, subresources: ['status', 'scale'], path: grouped('apps', 'v1', 'statefulsets', 'forge-ledger'), object: (ns) => ({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: meta('forge-ledger', ns), spec: { replicas: 0, serviceName: 'forge-ledger', selector: { matchLabels: labels('forge-ledger') }, template: template('forge-ledger') } }) },
      { name: 'ReplicaSet', builtin: true, namespaced: true, subresources: ['status', 'scale'], path: grouped('apps', 'v1', 'replicasets', 'forge-cache'), object: (ns) => ({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: meta('forge-cache', ns), spec: { replicas: 0, selector: { matchLabels: labels('forge-cache') }, template: template('forge-cache') } }) },
      { name: 'DaemonSet', builtin: true, namespaced: true, subresources: ['status'], path: grouped('apps', 'v1', 'daemonsets', 'forge-agent'), object: (ns) => ({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: meta('forge-agent', ns), spec: { selector: { matchLabels: labels('forge-agent') }, template: { ...template('forge-agent'), spec: { ...podSpec, nodeSelector: { 'levee.example/none': 'none' } } } } }) },
      { name: 'ReplicationController', builtin: true, namespaced: true, subresources: ['status', 'scale'], path: (ns) => core(ns, 'replicationcontrollers', 'forge-rc'), object: (ns) => ({ apiVersion: 'v1', kind: 'ReplicationController', metadata: meta('forge-rc', ns), spec: { replicas: 0, selector: labels('forge-rc'), template: template('forge-rc') } }) },
      { name: 'Job', builtin: true, namespaced: true, subresources: ['status'], path: grouped('batch', 'v1', 'jobs', 'forge-report'), object: (ns) => ({ apiVersion: 'batch/v1', kind: 'Job', metadata: meta('forge-report', ns), spec: { suspend: true, template: { ...template('forge-report'), spec: suspendedPod } } }) },
      { name: 'CronJob', builtin: true, namespaced: true, subresources: ['status'], path: grouped('batch', 'v1', 'cronjobs', 'forge-nightly'), object: (ns) => ({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: meta('forge-nightly', ns), spec: { suspend: true, schedule: '0 3 * * *', jobTemplate: { spec: { template: { spec: suspendedPod } } } } }) },
      { name: 'HorizontalPodAutoscaler', builtin: true, namespaced: true, subresources: ['status'], path: grouped('autoscaling', 'v2', 'horizontalpodautoscalers', 'forge-hpa'), object: (ns) => ({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: meta('forge-hpa', ns), spec: { minReplicas: 1, maxReplicas: 2, scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'forge-web' }, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }] } }) },
      // Unbound (no scheduler of that name), so resize and ephemeral containers are taken as writes of the Pod.
      { name: 'Pod', builtin: true, namespaced: true, subresources: ['status', 'ephemeralcontainers', 'resize'], path: (ns) => core(ns, 'pods', 'forge-pod'), object: (ns) => ({ apiVersion: 'v1', kind: 'Pod', metadata: meta('forge-pod', ns), spec: { ...podSpec, schedulerName: 'nobody' } }) },
      { name: 'ScaledObject (KEDA)', builtin: false, namespaced: true, subresources: ['status'], path: grouped('keda.sh', 'v1alpha1', 'scaledobjects', 'forge-so'), object: (ns) => ({ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: meta('forge-so', ns), spec: { scaleTargetRef: { name: 'forge-web' }, minReplicaCount: 1 } }) },
      { name: 'MachineDeployment (Cluster API)', builtin: false, namespaced: true, subresources: ['status', 'scale'], path: grouped('cluster.x-k8s.io', 'v1beta2', 'machinedeployments', 'forge-md'), object: (ns) => ({ apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'MachineDeployment', metadata: meta('forge-md', ns), spec: { replicas: 1 } }) },
      { name: 'KubeadmControlPlane (Cluster API)', builtin: false, namespaced: true, subresources: ['status', 'scale'], path: grouped('controlplane.cluster.x-k8s.io', 'v1beta2', 'kubeadmcontrolplanes', 'forge-kcp'), object: (ns) => ({ apiVersion: 'controlplane.cluster.x-k8s.io/v1beta2', kind: 'KubeadmControlPlane', metadata: meta('forge-kcp', ns), spec: { replicas: 1 } }) },
      { name: 'AWSMachineTemplate (Cluster API AWS)', builtin: false, namespaced: true, subresources: ['status'], path: grouped('infrastructure.cluster.x-k8s.io', 'v1beta2', 'awsmachinetemplates', 'forge-amt'), object: (ns) => ({ apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2', kind: 'AWSMachineTemplate', metadata: meta('forge-amt', ns), spec: { template: { spec: { instanceType: 'm5.large' } } } }) },
    ];
    const nodePool: Target = {
      name: 'NodePool (Karpenter)', builtin: false, namespaced: false, subresources: ['status'],
      path: () => `/apis/karpenter.sh/v1/nodepools/forge-${namespace}`,
      object: () => ({ apiVersion: 'karpenter.sh/v1', kind: 'NodePool', metadata: meta(`forge-${namespace}`, '', false), spec: { template: { spec: { requirements: [{ key: 'karpenter.sh/capacity-type', operator: 'In', values: ['on-demand'] }] } } } }),
    };
    const node: Target = {
      name: 'Node', builtin: true, namespaced: false, subresources: ['status'],
      path: () => `/api/v1/nodes/forge-${namespace}`,
      object: () => ({ apiVersion: 'v1', kind: 'Node', metadata: { ...meta(`forge-${namespace}`, '', false), labels: { 'kubernetes.io/hostname': `forge-${namespace}` } }, spec: { taints: [{ key: 'levee.example/forge', effect: 'NoSchedule' }] } }),
    };
    const crds: Array<[string, string]> = [
      ['scaledobjects.keda.sh', minimalCrd('keda.sh', 'ScaledObject', 'scaledobjects', { versions: ['v1alpha1'] })],
      ['machinedeployments.cluster.x-k8s.io', minimalCrd('cluster.x-k8s.io', 'MachineDeployment', 'machinedeployments', { scale: true })],
      ['kubeadmcontrolplanes.controlplane.cluster.x-k8s.io', minimalCrd('controlplane.cluster.x-k8s.io', 'KubeadmControlPlane', 'kubeadmcontrolplanes', { scale: true })],
      ['awsmachinetemplates.infrastructure.cluster.x-k8s.io', minimalCrd('infrastructure.cluster.x-k8s.io', 'AWSMachineTemplate', 'awsmachinetemplates', { versions: ['v1beta2'] })],
      ['nodepools.karpenter.sh', minimalCrd('karpenter.sh', 'NodePool', 'nodepools', { scope: 'Cluster', versions: ['v1'] })],
    ];
    const createdCrds: string[] = [];
    const created: Array<{ target: Target; ns: string }> = [];
    let tag = 0;

    before(async function () {
      this.timeout(600_000);
      for (const [name, crd] of crds) {
        if ((await kubectl(['get', 'crd', name])).code === 0) continue;
        assert.equal((await kubectl(['apply', '-f', '-'], { input: crd })).code, 0, name);
        createdCrds.push(name);
      }
      if (createdCrds.length > 0) assert.equal((await kubectl(['wait', '--for', 'condition=Established', '--timeout=60s', ...createdCrds.map((name) => `crd/${name}`)])).code, 0);
      const all = [...targets.flatMap((target) => [namespace, 'kube-system'].map((ns) => ({ target, ns }))), { target: nodePool, ns: '' }, { target: node, ns: '' }];
      for (const { target, ns } of all) {
        // A platform change (kube-system workloads, NodePools, Cluster API) may be held while the probe run after the last one has no verdict.
        await eventually(`${target.name} created in ${ns || 'the cluster'}`, async () => {
          const result = await apply(target.object(ns));
          return result.code === 0 || result.stderr;
        }, 180_000);
        created.push({ target, ns });
      }
    });

    after(async function () {
      this.timeout(300_000);
      for (const { target, ns } of created.filter((each) => each.ns !== namespace)) await raw('DELETE', target.path(ns));
      // Gone before the next file installs its own (the real ones, or the same minimal ones).
      for (const { target, ns } of created.filter((each) => each.ns === namespace && !each.target.builtin)) await raw('DELETE', target.path(ns));
      if (createdCrds.length > 0) {
        const deleted = await kubectl(['delete', 'crd', ...createdCrds, '--ignore-not-found', '--wait=true', '--timeout=120s']);
        assert.equal(deleted.code, 0, deleted.stderr);
      }
    });

    /**
     * Each write adds a forged record and a forged overridden-by through `subresource` (or to the
     * object itself), and must either be refused by levee as forged, or be admitted with neither
     * stored (the subresource drops annotations, or /mutate put the stored stamps back). Anything
     * else (stored, or refused for another reason) is listed.
     */
    async function attack(target: Target, ns: string): Promise<string[]> {
      const problems: string[] = [];
      for (const subresource of ['', ...target.subresources]) {
        for (const way of WAYS) {
          if (way === 'strategic-merge-patch' && !target.builtin) continue;
          // Server-side apply of a Scale takes a Scale manifest, whose annotations are never stored: its PUT and patches stand for it.
          if (way === 'apply' && subresource === 'scale') continue;
          const label = `${way} ${target.name}${subresource ? `/${subresource}` : ''} in ${ns || 'the cluster'}`;
          const id = `${++tag}`;
          const before = (await annotationsAt(target.path(ns)))[RECORD];
          const answer = await forge(target, ns, subresource, way, id);
          const annotations = await annotationsAt(target.path(ns));
          if (annotations[RECORD] !== before || annotations[FORGED_BY] === `mallory-${id}`) problems.push(`${label}: stored (HTTP ${answer.status})`);
          else if (answer.status >= 300 && !FORGED.test(answer.text)) problems.push(`${label}: HTTP ${answer.status}, not levee's refusal: ${answer.text.slice(0, 300)}`);
        }
      }
      return problems;
    }

    for (const target of [...targets, nodePool, node]) {
      const namespaces = target.namespaced ? ['elsewhere', 'kube-system'] : [''];
      for (const where of namespaces) {
        it(`${target.name}${where ? ` (${where})` : ''}: a forged record through ${['the object', ...target.subresources].join(', ')}, by PUT, JSON, merge${target.builtin ? ', strategic' : ''} patch and server-side apply, is refused or dropped`, async () => {
          const ns = where === 'elsewhere' ? namespace : where;
          assert.deepEqual(await attack(target, ns), []);
        });
      }
    }

    it('every namespaced kind above created in kube-system carrying a forged record is refused: no /mutate entry runs there, and levee reads a record there as anywhere', async () => {
      const outcomes: string[] = [];
      for (const target of targets) {
        const object = target.object('kube-system') as { metadata: { name: string; annotations: Record<string, string> } };
        const name = `${object.metadata.name}-made`;
        const path = target.path('kube-system').replace(/\/[^/]+$/, `/${name}`);
        const forged = { ...object, metadata: { ...object.metadata, name, annotations: { ...object.metadata.annotations, [RECORD]: RECORD_FORGED } } };
        // A platform change may be held while the probe run after the last one has no verdict: retry those.
        for (let attempt = 0; ; attempt++) {
          const result = await apply(forged);
          if (result.code === 0) {
            const stored = (await annotationsAt(path))[RECORD];
            await raw('DELETE', path);
            if (stored !== undefined) outcomes.push(`${target.name}: created with the forged record stored`);
            break;
          }
          if (FORGED.test(result.stderr)) break;
          if (attempt >= 30) {
            outcomes.push(`${target.name}: ${result.stderr}`);
            break;
          }
          await sleep(2000);
        }
      }
      assert.deepEqual(outcomes, []);
    });

    it('a PUT whose metadata.annotations is null, through the object and each subresource that stores it, in kube-system and elsewhere, is no condition error (one would refuse it on a Fail entry)', async () => {
      const problems: string[] = [];
      for (const { target, ns } of created) {
        for (const subresource of ['', ...target.subresources.filter((each) => each === 'status')]) {
          const path = subresource ? `${target.path(ns)}/${subresource}` : target.path(ns);
          let answer = { status: 0, text: '' };
          for (let attempt = 0; attempt < 5; attempt++) {
            const read = await raw('GET', path);
            assert.equal(read.status, 200, `GET ${path}: ${read.text}`);
            const object = JSON.parse(read.text) as Stored;
            object.metadata.annotations = null;
            answer = await raw('PUT', path, JSON.stringify(object));
            if (answer.status !== 409) break;
          }
          if (answer.status >= 300 && !FORGED.test(answer.text)) problems.push(`${target.name}${subresource ? `/${subresource}` : ''} in ${ns || 'the cluster'}: HTTP ${answer.status}: ${answer.text.slice(0, 300)}`);
        }
      }
      assert.deepEqual(problems, []);
    });
  });

  describe('kinds levee reads no stamp from reach no levee entry', () => {
    const kinds: Array<{ name: string; path: string; object: Record<string, unknown> }> = [
      { name: 'ConfigMap', path: `/api/v1/namespaces/${namespace}/configmaps/plain`, object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'plain', namespace }, data: { a: '1' } } },
      { name: 'Secret', path: `/api/v1/namespaces/${namespace}/secrets/plain`, object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'plain', namespace }, stringData: { a: '1' } } },
      { name: 'Event', path: `/api/v1/namespaces/${namespace}/events/plain`, object: { apiVersion: 'v1', kind: 'Event', metadata: { name: 'plain', namespace }, involvedObject: { kind: 'ConfigMap', name: 'plain', namespace }, reason: 'Plain', message: 'plain', type: 'Normal' } },
      { name: 'Service', path: `/api/v1/namespaces/${namespace}/services/plain`, object: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'plain', namespace }, spec: { selector: labels('plain'), ports: [{ port: 80 }] } } },
    ];
    for (const { name, path, object } of kinds) {
      it(`a ${name} update carrying levee.dev/override-authorized-by is stored as written: no Fail entry of levee took it (one would refuse a record levee did not write)`, async () => {
        assert.equal((await apply(object)).code, 0);
        const answer = await raw('PATCH', path, JSON.stringify({ metadata: { annotations: { [RECORD]: RECORD_FORGED } } }), 'application/merge-patch+json');
        assert.equal(answer.status, 200, answer.text);
        assert.equal((await annotationsAt(path))[RECORD], RECORD_FORGED);
      });
    }

    it('a record naming an admin on the Service in front of a Deployment does not lift the refusal of scaling its only backend to 0', async () => {
      const name = 'fronted';
      const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace }, spec: { replicas: 1, selector: { matchLabels: labels(name) }, template: template(name) } };
      assert.equal((await apply(deployment)).code, 0);
      const override = overrideOf(inOneHour());
      const forged = recordValue(await whoAmI('admin'), override);
      const service = { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace, annotations: { ...override, [RECORD]: forged } }, spec: { selector: labels(name), ports: [{ port: 80 }] } };
      const created = await apply(service);
      assert.equal(created.code, 0, created.stderr);
      assert.equal((await annotationsAt(`/api/v1/namespaces/${namespace}/services/${name}`))[RECORD], forged);
      await eventually(`ready endpoints behind ${name}`, async () => (await readyEndpoints(namespace, name)) > 0, 120_000);
      await eventually('levee to see the endpoints', async () => (await kubectl(['scale', `deployment/${name}`, '-n', namespace, '--replicas=0', '--dry-run=server'])).code !== 0);
      const set = await kubectl(['annotate', 'deployment', name, '-n', namespace, ...Object.entries(override).map(([k, v]) => `${k}=${v}`)], { as: 'developer' });
      assert.equal(set.code, 0, set.stderr);
      const scaled = await kubectl(['scale', `deployment/${name}`, '-n', namespace, '--replicas=0'], { as: 'developer' });
      refused(scaled, /override ignored: not authorized: levee has no record of who set this override/);
    });
  });

  describe('kube-system is held to it too', () => {
    it('a Deployment, DaemonSet or StatefulSet created in kube-system carrying a forged record is refused: levee reads it there when it holds a platform change, and no /mutate entry runs there', async () => {
      const override = overrideOf(inOneHour());
      // Naming someone other than the sender: a record naming the sender is what levee would write.
      const forged = recordValue({ username: 'alice', uid: 'alice-uid', groups: ['system:masters', 'system:authenticated'] }, override);
      assert.notEqual(forged, recordValue(await whoAmI('admin'), override));
      const outcomes: string[] = [];
      for (const kind of ['Deployment', 'DaemonSet', 'StatefulSet']) {
        const name = `forged-${kind.toLowerCase()}-${namespace}`;
        const spec = { selector: { matchLabels: labels(name) }, template: { ...template(name), spec: { ...podSpec, nodeSelector: { 'levee.example/none': 'none' } } }, ...(kind === 'StatefulSet' ? { serviceName: name, replicas: 0 } : kind === 'Deployment' ? { replicas: 0 } : {}) };
        const object = { apiVersion: 'apps/v1', kind, metadata: { name, namespace: 'kube-system', annotations: { ...override, [RECORD]: forged } }, spec };
        // A platform change may be held while the probe run after the last one has no verdict: retry those.
        for (let attempt = 0; ; attempt++) {
          const result = await apply(object);
          if (result.code === 0) {
            const stored = (await annotationsAt(`/apis/apps/v1/namespaces/kube-system/${kind.toLowerCase()}s/${name}`))[RECORD];
            await kubectl(['delete', kind.toLowerCase(), name, '-n', 'kube-system', '--wait=false']);
            outcomes.push(`${kind}: created${stored === forged ? ', the forged record stored' : ''}`);
            break;
          }
          if (FORGED.test(result.stderr)) break;
          if (attempt >= 30) {
            outcomes.push(`${kind}: ${result.stderr}`);
            break;
          }
          await sleep(2000);
        }
      }
      assert.deepEqual(outcomes, []);
    });

    it('a kube-system Deployment carrying an override still gets its ReplicaSet: the Deployment controller copies the override onto it, and that create is taken yet let through', async () => {
      const name = `overridden-${namespace}`;
      const object = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'kube-system', annotations: overrideOf(inOneHour()) }, spec: { replicas: 1, selector: { matchLabels: labels(name) }, template: template(name) } };
      try {
        // A platform change may be held while the probe run after the last one has no verdict.
        await eventually(`Deployment kube-system/${name} created`, async () => {
          const result = await apply(object);
          return result.code === 0 || result.stderr;
        }, 120_000);
        await eventually(`a ReplicaSet of kube-system/${name} carrying the override`, async () => {
          const result = await kubectl(['get', 'replicasets', '-n', 'kube-system', '-l', `app=${name}`, '-o', 'json']);
          if (result.code !== 0) return result.stderr;
          const items = (JSON.parse(result.stdout) as { items: Stored[] }).items;
          return items.some((each) => each.metadata.annotations?.['levee.dev/override'] === 'scale-to-zero') || `${items.length} ReplicaSets`;
        }, 60_000);
      } finally {
        await kubectl(['delete', 'deployment', name, '-n', 'kube-system', '--ignore-not-found', '--wait=false']);
      }
    });

    it('a Pod created in kube-system with a forged stamp is refused, and so is one written later through pods/status', async () => {
      const pod = (annotations: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'stamped', namespace: 'kube-system', annotations }, spec: { ...podSpec, schedulerName: 'binder' } });
      refused(await apply(pod({ [FORGED_BY]: 'mallory' })), FORGED);
      const created = await apply(pod({ 'team.example/note': 'plain' }));
      assert.equal(created.code, 0, created.stderr);
      refused(await putThrough('/api/v1/namespaces/kube-system/pods/stamped', 'status', { [RECORD]: '{"username":"mallory","groups":[],"override":""}' }), FORGED);
    });

    it('a Node created with a forged record is refused, or stored without it', async () => {
      const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: `forged-${namespace}`, annotations: { [RECORD]: '{"username":"mallory","groups":["system:masters"],"override":""}' } } };
      const created = await apply(node);
      if (created.code !== 0) assert.match(created.stderr, FORGED);
      else {
        // mutate-nodes dropped it before the Node was stored.
        const stored = await kubectl(['get', 'node', node.metadata.name, '-o', 'json']);
        await kubectl(['delete', 'node', node.metadata.name, '--wait=false']);
        assert.equal((JSON.parse(stored.stdout) as Stored).metadata.annotations?.[RECORD], undefined);
      }
    });
  });
});
