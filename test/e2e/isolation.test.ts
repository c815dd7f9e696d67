import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { call } from '../support/https.js';
import { e2e, eventually, kubectl, type KubectlResult } from '../support/e2e.js';
import { startGuardedCluster, type GuardedCluster } from '../support/guarded-cluster.js';

/**
 * `npm test` beside a developer's `npm start`: the e2e suites run on a cluster of their own,
 * so what a user did to their cluster changes no result, and a test run leaves that cluster
 * and its levee exactly as they were. A second cluster stands in for the developer's, guarded
 * by levee as `npm start` guards it, and is disturbed as users disturb theirs (the README's
 * Monzo replay with the Deployment deleted and its Service left, a cordoned node, a stopped
 * kube-scheduler); then a probe-gate case runs on the test cluster.
 */

const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'];
// Objects compared by resourceVersion: everything a user or a test could create or change,
// except levee's own namespace (its probe creates and deletes objects there all the time) and
// the ProbeVerdict the stand-in's own probe keeps publishing.
const KINDS = [
  'namespaces', 'services', 'endpointslices.discovery.k8s.io', 'deployments.apps', 'replicasets.apps', 'statefulsets.apps',
  'daemonsets.apps', 'pods', 'configmaps', 'secrets', 'serviceaccounts', 'roles.rbac.authorization.k8s.io',
  'rolebindings.rbac.authorization.k8s.io', 'clusterroles.rbac.authorization.k8s.io', 'clusterrolebindings.rbac.authorization.k8s.io',
  'validatingwebhookconfigurations.admissionregistration.k8s.io', 'mutatingwebhookconfigurations.admissionregistration.k8s.io',
  'customresourcedefinitions.apiextensions.k8s.io', 'priorityclasses.scheduling.k8s.io',
];

interface KubeItem {
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  spec?: { unschedulable?: boolean; taints?: unknown[] };
}

interface Snapshot {
  objects: Record<string, string>;
  nodes: Record<string, string>;
  components: Record<string, string>;
  levee: string;
  decisions: number;
  kubeconfig: string;
}

function ok(result: KubectlResult, what: string): KubectlResult {
  assert.equal(result.code, 0, `${what}: ${result.stderr}`);
  return result;
}

function pidOf(dir: string, component: string): number | null {
  try {
    return Number(readFileSync(join(dir, `${component}.pid`), 'utf8').trim());
  } catch {
    return null;
  }
}

function alive(pid: number | null | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function decisionsOf(standIn: GuardedCluster): Promise<number> {
  const metrics = await call(standIn.port, standIn.ca, { method: 'GET', path: '/metrics' });
  assert.equal(metrics.status, 200);
  return metrics.text
    .split('\n')
    .filter((line) => line.startsWith('levee_decisions_total'))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0);
}

async function snapshot(standIn: GuardedCluster): Promise<Snapshot> {
  const on = { kubeconfig: standIn.cluster.kubeconfig };
  const list = JSON.parse(ok(await kubectl(['get', KINDS.join(','), '-A', '-o', 'json'], on), 'listing the stand-in').stdout) as { items: KubeItem[] };
  const objects: Record<string, string> = {};
  for (const item of list.items) {
    if (item.metadata.namespace === 'levee-system' || (item.kind === 'Namespace' && item.metadata.name === 'levee-system')) continue;
    objects[`${item.kind}/${item.metadata.namespace ?? ''}/${item.metadata.name}`] = item.metadata.resourceVersion ?? '';
  }
  // Nodes: what a user sets (kwok renews their status all the time).
  const nodeList = JSON.parse(ok(await kubectl(['get', 'nodes', '-o', 'json'], on), 'listing nodes').stdout) as { items: KubeItem[] };
  const nodes = Object.fromEntries(
    nodeList.items.map((node) => [node.metadata.name, JSON.stringify({ unschedulable: node.spec?.unschedulable ?? false, taints: node.spec?.taints ?? [], labels: node.metadata.labels })]),
  );
  const components = Object.fromEntries(COMPONENTS.map((name) => {
    const pid = pidOf(standIn.cluster.dir, name);
    return [name, `${pid} ${alive(pid) ? 'running' : 'stopped'}`];
  }));
  const ready = await call(standIn.port, standIn.ca, { method: 'GET', path: '/readyz' }).catch((err: Error) => ({ status: 0, text: err.message }));
  return {
    objects,
    nodes,
    components,
    levee: `serve ${standIn.levee.pid} ${standIn.levee.exitCode === null ? 'running' : 'exited'} /readyz ${ready.status}; probe ${standIn.probe.pid} ${standIn.probe.exitCode === null ? 'running' : 'exited'}`,
    decisions: await decisionsOf(standIn),
    kubeconfig: createHash('sha256').update(readFileSync(standIn.cluster.kubeconfig)).digest('hex'),
  };
}

function verdictFile(path: string): { verdict: string; failing: string[] } | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as { verdict: string; failing: string[] };
  } catch {
    return undefined;
  }
}

describe('e2e: npm test shares nothing with the developer\'s cluster', function () {
  this.timeout(300_000);
  let standIn: GuardedCluster;
  let initial: Snapshot;
  const namespace = `isolated-${Date.now().toString(36)}`;

  before(async function () {
    this.timeout(900_000);
    await e2e();
    standIn = await startGuardedCluster('standin-dev-cluster', { intervalSeconds: 3, thresholds: { serviceGraceSeconds: 1 } });
    const on = { kubeconfig: standIn.cluster.kubeconfig };
    // The README's Monzo replay, then the Deployment deleted and its Service left behind.
    ok(await kubectl(['create', 'deployment', 'ledger', '--image=registry.example/ledger:1.0', '--replicas=2'], on), 'create deployment');
    ok(await kubectl(['expose', 'deployment', 'ledger', '--port=80', '--target-port=8080'], on), 'expose');
    ok(await kubectl(['delete', 'deployment', 'ledger'], on), 'delete deployment');
    ok(await kubectl(['cordon', 'ondemand-1'], on), 'cordon');
    const scheduler = pidOf(standIn.cluster.dir, 'kube-scheduler');
    assert.ok(alive(scheduler), 'the stand-in\'s kube-scheduler runs');
    process.kill(scheduler!, 'SIGTERM');
    // The disturbance is real: the stand-in's own probes see it.
    await eventually('the stand-in\'s probes to read Unhealthy (scheduler) with service-endpoints failing', async () => {
      const verdict = verdictFile(standIn.verdictFile);
      return (verdict?.verdict === 'Unhealthy' && verdict.failing.includes('scheduler') && verdict.failing.includes('service-endpoints')) || JSON.stringify(verdict ? { verdict: verdict.verdict, failing: verdict.failing } : 'no verdict yet');
    }, 180_000);
    initial = await snapshot(standIn);
  });

  after(async function () {
    this.timeout(120_000);
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
    await standIn?.stop();
  });

  it('runs probe-gate on its own cluster: Healthy there, a rollout allowed, while the developer\'s reads Unhealthy', async () => {
    const env = await e2e();
    assert.notEqual(env.cluster.kubeconfig, standIn.cluster.kubeconfig);
    assert.notEqual(env.cluster.apiServerUrl, standIn.cluster.apiServerUrl);
    await eventually('the test cluster\'s probes to read Healthy', async () => {
      const verdict = verdictFile(env.verdictFile);
      return verdict?.verdict === 'Healthy' || `verdict ${verdict?.verdict ?? 'none'} (failing: ${verdict?.failing.join(', ') ?? '-'})`;
    }, 180_000);
    ok(await kubectl(['create', 'namespace', namespace]), 'create namespace');
    const rollout = ok(await kubectl(['create', 'deployment', 'web', '-n', namespace, '--image=registry.example/web:1', '--replicas=1']), 'rollout');
    assert.doesNotMatch(rollout.stderr, /probe-gate/);
    await eventually('web to get a Ready pod on the test cluster (its scheduler runs)', async () => {
      const result = await kubectl(['get', 'deployment', 'web', '-n', namespace, '-o', 'jsonpath={.status.readyReplicas}']);
      return result.stdout === '1' || `readyReplicas ${result.stdout || 0}`;
    }, 120_000);
    // Nothing the user did there is here.
    assert.equal((await kubectl(['get', 'service', 'ledger', '-n', 'default'])).code, 1);
    assert.equal((await kubectl(['get', 'node', 'ondemand-1', '-o', 'jsonpath={.spec.unschedulable}'])).stdout, '');
    assert.equal(verdictFile(standIn.verdictFile)?.verdict, 'Unhealthy');
  });

  it('leaves the developer\'s cluster and its levee exactly as they were', async () => {
    const now = await snapshot(standIn);
    assert.deepEqual(now.components, initial.components);
    assert.match(now.components['kube-scheduler']!, /stopped$/);
    assert.deepEqual(now.nodes, initial.nodes);
    assert.match(now.nodes['ondemand-1']!, /"unschedulable":true/);
    assert.deepEqual(now.objects, initial.objects);
    assert.ok(now.objects['Service/default/ledger'], 'the Service left behind is still there');
    assert.equal(now.levee, initial.levee);
    assert.match(now.levee, /serve \d+ running \/readyz 200; probe \d+ running/);
    assert.equal(now.decisions, initial.decisions, 'no review from the test run reached the developer\'s levee');
    assert.equal(now.kubeconfig, initial.kubeconfig);
  });
});
