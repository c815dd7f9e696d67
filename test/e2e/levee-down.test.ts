import assert from 'node:assert/strict';
import { e2e, eventually, killLevee, kubectl, restartLevee, type KubectlResult } from '../support/e2e.js';

/**
 * levee dead, cluster alive: with every levee process of the test cluster killed (serve and
 * probe, SIGKILL, their webhook registrations left in place as after a crash), the cluster
 * keeps running itself (Nodes register and report status, ReplicaSets create Pods,
 * kube-system and levee's own namespace take changes), while the kinds levee guards wait with
 * the API server's "failed calling webhook"; once levee is back they pass or fail on their
 * merits. Timings are printed, not asserted.
 */

const namespace = `down-${Date.now().toString(36)}`;
const node = `late-${Date.now().toString(36)}`;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function deployment(name: string, ns: string, replicas: number): string {
  const labels = { app: name };
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels },
    spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1.0' }] } } },
  });
}

// A spot node as kwok manages them (scripts/cluster/nodes.mjs): registering it is a Node
// create, its turning Ready is kwok's status update.
const nodeManifest = JSON.stringify({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: {
    name: node,
    annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
    labels: { 'kubernetes.io/hostname': node, 'kubernetes.io/os': 'linux', 'karpenter.sh/capacity-type': 'spot' },
  },
  spec: { providerID: `kwok://${node}` },
  status: {
    capacity: { cpu: '4', memory: '16Gi', pods: '110' },
    allocatable: { cpu: '3920m', memory: '15Gi', pods: '110' },
    nodeInfo: { architecture: 'amd64', operatingSystem: 'linux', kubeletVersion: 'v1.34.4', containerRuntimeVersion: 'containerd://2.0.5', kernelVersion: '6.1.0', osImage: 'Linux' },
  },
});

const WAITS = /failed calling webhook "(validate|mutate)\.levee\.dev"/;

function ok(result: KubectlResult, what: string): void {
  assert.equal(result.code, 0, `${what}: ${result.stderr}`);
}

async function podNames(): Promise<string[]> {
  const result = await kubectl(['get', 'pods', '-n', namespace, '-l', 'app=ledger', '-o', 'jsonpath={range .items[?(@.status.phase=="Running")]}{.metadata.name}{"\\n"}{end}']);
  return result.stdout.split('\n').filter(Boolean).sort();
}

describe('e2e: levee dead, cluster alive', function () {
  this.timeout(300_000);
  let killed = 0;
  let restarted = false;

  before(async function () {
    this.timeout(900_000);
    await e2e();
    ok(await kubectl(['create', 'namespace', namespace]), 'namespace');
    ok(await kubectl(['apply', '-f', '-'], { input: deployment('ledger', namespace, 2) }), 'ledger');
    ok(await kubectl(['expose', 'deployment', 'ledger', '-n', namespace, '--port=80']), 'Service ledger');
    await eventually('two Running ledger pods', async () => (await podNames()).length === 2 || `${(await podNames()).length}`, 120_000);
    await eventually('levee to see ledger behind its Service', async () => {
      const scale = await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=0', '--dry-run=server']);
      return scale.code !== 0 || scale.stdout;
    });
  });

  after(async function () {
    this.timeout(300_000);
    if (!restarted) await restartLevee();
    await kubectl(['delete', 'node', node, '--ignore-not-found']);
    await kubectl(['delete', 'deployment', `levee-down-${namespace}`, '-n', 'kube-system', '--ignore-not-found']);
    await kubectl(['delete', 'deployment,configmap', '-l', `levee.dev/test=${namespace}`, '-n', 'levee-system', '--ignore-not-found']);
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  it('with every levee process killed, guarded kinds wait with "failed calling webhook" and nothing is stored', async () => {
    await killLevee('SIGKILL');
    killed = Date.now();
    ok(await kubectl(['get', 'validatingwebhookconfiguration,mutatingwebhookconfiguration', 'levee-e2e']), 'the registrations stay');
    const create = await kubectl(['apply', '-f', '-'], { input: deployment('web', namespace, 1) });
    assert.notEqual(create.code, 0);
    assert.match(create.stderr, WAITS);
    assert.equal((await kubectl(['get', 'deployment', 'web', '-n', namespace])).code, 1, 'web was not stored');
    const scale = await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=0']);
    assert.notEqual(scale.code, 0);
    assert.match(scale.stderr, WAITS);
    assert.equal((await kubectl(['get', 'deployment', 'ledger', '-n', namespace, '-o', 'jsonpath={.spec.replicas}'])).stdout, '2');
  });

  it('Nodes still register and report status', async () => {
    ok(await kubectl(['apply', '-f', '-'], { input: nodeManifest }), 'Node create');
    await eventually(`Node ${node} to turn Ready (its status updated by kwok)`, async () => {
      const ready = await kubectl(['get', 'node', node, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
      return ready.stdout === 'True' || `Ready=${ready.stdout || 'none'}`;
    }, 90_000);
    ok(await kubectl(['cordon', node]), 'cordon');
    ok(await kubectl(['uncordon', node]), 'uncordon');
  });

  it('ReplicaSets still create Pods', async () => {
    const before = await podNames();
    ok(await kubectl(['delete', 'pod', before[0]!, '-n', namespace, '--wait=false']), 'delete a ledger pod');
    await eventually('a replacement pod to be created and Running', async () => {
      const now = await podNames();
      return (now.length === 2 && !now.includes(before[0]!)) || now.join(', ');
    }, 120_000);
  });

  it('kube-system and levee\'s own namespace take changes as usual', async () => {
    ok(await kubectl(['apply', '-f', '-'], { input: deployment(`levee-down-${namespace}`, 'kube-system', 1) }), 'a Deployment in kube-system');
    const labels = `levee.dev/test=${namespace}`;
    ok(await kubectl(['create', 'configmap', `down-${namespace}`, '-n', 'levee-system', '--from-literal=a=b']), 'a ConfigMap in levee-system');
    ok(await kubectl(['label', 'configmap', `down-${namespace}`, '-n', 'levee-system', labels]), 'label');
    const inOwn = JSON.parse(deployment(`down-${namespace}`, 'levee-system', 1)) as { metadata: { labels: Record<string, string> } };
    inOwn.metadata.labels['levee.dev/test'] = namespace;
    ok(await kubectl(['apply', '-f', '-'], { input: JSON.stringify(inOwn) }), 'a Deployment in levee-system');
  });

  it('once levee is back, the waiting changes pass or fail on their merits', async () => {
    const restarting = Date.now();
    await restartLevee();
    restarted = true;
    const ready = Date.now();
    let passed = 0;
    await eventually('a Deployment create to pass', async () => {
      const create = await kubectl(['apply', '-f', '-'], { input: deployment('web', namespace, 1) });
      if (create.code === 0) {
        passed = Date.now();
        return true;
      }
      return create.stderr.trim();
    }, 60_000);
    const scale = await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=0']);
    assert.notEqual(scale.code, 0);
    assert.match(scale.stderr, /admission webhook "validate\.levee\.dev" denied the request: .*\[scale-to-zero\]/);
    assert.equal((await kubectl(['get', 'deployment', 'ledger', '-n', namespace, '-o', 'jsonpath={.spec.replicas}'])).stdout, '2');
    ok(await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=3']), 'a scale-up passes');
    console.log(`      (levee down ${seconds(restarting - killed)}; ready ${seconds(ready - restarting)} after its restart began; the first waiting change passed ${seconds(passed - restarting)} after)`);
  });
});
