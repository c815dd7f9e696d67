import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject } from '../../src/kube/types.js';
import { startRecorder, type AdmissionRecorder } from '../support/admission-recorder.js';
import { buildTool } from '../support/controllers.js';
import { e2e, e2ePort, eventually, kubectl } from '../support/e2e.js';
import { call } from '../support/https.js';
import type { IsolatedProcess } from '../support/isolated-process.js';
import {
  installKarpenter,
  isReady,
  KARPENTER_NAMESPACE,
  KARPENTER_USER,
  kwokNodeClass,
  nodePool,
  nodesOfPool,
  startKarpenter,
  uninstallKarpenter,
  workloadFor,
  type KarpenterInstall,
  type NodeItem,
} from '../support/karpenter.js';

/**
 * levee's spot-capacity rules against Karpenter itself: the kwok provider's Karpenter, built
 * from sigs.k8s.io/karpenter at the version tools/karpenter pins, running with the identity
 * its chart gives it (system:serviceaccount:kube-system:karpenter), launching real Nodes
 * from real NodePools on the local cluster.
 *
 * What Karpenter sends that levee is asked about (recorded with copies of levee's own webhook
 * registrations; the whole list, with field managers, is written to
 * .levee/e2e/karpenter-requests.txt), all as system:serviceaccount:kube-system:karpenter:
 *   - CREATE nodes: the launched instance's Node, already labelled karpenter.sh/capacity-type,
 *     karpenter.sh/nodepool, node.kubernetes.io/instance-type, topology.kubernetes.io/zone,
 *     tainted karpenter.sh/unregistered:NoExecute, spec.providerID set, no status.nodeInfo;
 *   - UPDATE nodes, registration: metadata.finalizers (karpenter.sh/termination),
 *     metadata.ownerReferences (its NodeClaim), label karpenter.sh/registered, spec.taints (the
 *     unregistered taint removed); then label karpenter.sh/initialized;
 *   - UPDATE nodes, disruption (consolidation, drift, expiry): spec.taints gains
 *     karpenter.sh/disrupted:NoSchedule, with label node.kubernetes.io/exclude-from-external-load-balancers;
 *     levee reads it as tainting the node (on an on-demand node below the floor:
 *     on-demand-floor-by-failure-handler, audit);
 *   - DELETE nodes (before or after the taint: on expiry the Node is deleted while still
 *     schedulable), then UPDATE nodes removing the finalizer;
 *   - UPDATE nodepools: annotations karpenter.sh/nodepool-hash and -hash-version.
 * Not sent to levee: nodeclaims and nodeclaims/status, nodepools/status, leases and events.
 * Karpenter never writes nodes/status (kwok does, for the kubelet). Its drain's pods/eviction
 * creates reach validate-pods, which only warns on them (a bare pod that is a Service's last endpoint).
 */

const namespace = `karpenter-${Date.now().toString(36)}`;
const ON_DEMAND_POOL = 'levee-on-demand';
const SPOT_POOL = 'levee-spot';
const EXPIRING_POOL = 'levee-expiring';
const MINIMUM = 2;
const LEADER_LEASE = 'karpenter-leader-election';
const MANAGED_NODES = ['levee-e2e-nodegroup-1', 'levee-e2e-nodegroup-2'];

/** An on-demand node of an EKS managed node group, kept Ready by the local cluster's kwok. */
function managedNode(name: string) {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake' },
      labels: { 'kubernetes.io/hostname': name, 'eks.amazonaws.com/capacityType': 'ON_DEMAND', 'eks.amazonaws.com/nodegroup': 'system' },
    },
    spec: { providerID: `kwok://${name}` },
  };
}

async function apply(object: unknown, ...extra: string[]) {
  return kubectl(['apply', ...extra, '-f', '-'], { input: JSON.stringify(object) });
}

async function staticOnDemandNodes(): Promise<string[]> {
  const result = await kubectl(['get', 'nodes', '-l', 'karpenter.sh/capacity-type=on-demand,!karpenter.sh/registered', '-o', 'jsonpath={.items[*].metadata.name}']);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.split(' ').filter(Boolean).sort();
}

async function readyNodeOf(pool: string, except: string[] = []): Promise<NodeItem> {
  let found: NodeItem | undefined;
  await eventually(`a Ready node of NodePool ${pool} launched by Karpenter`, async () => {
    const nodes = (await nodesOfPool(pool)).filter((node) => !except.includes(node.metadata.name) && !node.metadata.deletionTimestamp);
    found = nodes.find((node) => isReady(node) && node.metadata.labels?.['karpenter.sh/initialized'] === 'true');
    return found !== undefined || JSON.stringify(nodes.map((node) => [node.metadata.name, isReady(node), node.metadata.labels?.['karpenter.sh/initialized']]));
  }, 180_000);
  return found!;
}

async function nodeGone(name: string): Promise<void> {
  await eventually(`node ${name} to be deleted by Karpenter`, async () => {
    const result = await kubectl(['get', 'node', name, '--ignore-not-found', '-o', 'name']);
    return result.stdout.trim() === '' || `still there: ${result.stdout.trim()}`;
  }, 240_000);
}

async function findings(rule: string): Promise<number> {
  const env = await e2e();
  const metrics = await call(env.port, env.ca, { method: 'GET', path: '/metrics' });
  return metrics.text
    .split('\n')
    .filter((line) => line.startsWith('levee_policy_findings_total') && line.includes(`rule="${rule}"`))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

/** Whether a Node takes new pods: not cordoned, no NoSchedule or NoExecute taint. */
function takesPods(node: KubeObject | null): boolean {
  const spec = (node?.spec ?? {}) as { unschedulable?: boolean; taints?: Array<{ effect?: string }> };
  return spec.unschedulable !== true && !(spec.taints ?? []).some((taint) => taint.effect === 'NoSchedule' || taint.effect === 'NoExecute');
}

describe('e2e: spot-capacity against Karpenter (kwok provider)', function () {
  this.timeout(300_000);
  let install: KarpenterInstall | undefined;
  let karpenter: IsolatedProcess | undefined;
  let recorder: AdmissionRecorder | undefined;
  const cordoned: string[] = [];

  before(async function () {
    this.timeout(3_600_000);
    await e2e();
    // A cold build takes minutes; the cluster is left untouched until it is done.
    await buildTool('karpenter');
    install = await installKarpenter();
    recorder = await startRecorder({ port: e2ePort(60), users: [KARPENTER_USER], name: 'levee-e2e-karpenter-recorder' });
    // A Lease left by an earlier run would hold the new process back until it expires.
    await kubectl(['delete', 'lease', LEADER_LEASE, '-n', KARPENTER_NAMESPACE, '--ignore-not-found']);
    karpenter = await startKarpenter(install);
    await eventually('Karpenter to take its leader Lease', async () => {
      if (karpenter!.exited()) throw new Error(`Karpenter exited:\n${karpenter!.logTail()}`);
      return recorder!.requests({ resource: 'coordination.k8s.io/leases', name: LEADER_LEASE }).length > 0 || 'not yet';
    }, 120_000);
    assert.equal((await apply(kwokNodeClass())).code, 0);
    assert.equal((await kubectl(['create', 'namespace', namespace])).code, 0);
  });

  after(async function () {
    this.timeout(600_000);
    await kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=false']);
    for (const node of cordoned) await kubectl(['uncordon', node]);
    await kubectl(['delete', 'node', ...MANAGED_NODES, '--ignore-not-found']);
    // Spot pools first: levee refuses deleting the last on-demand pool while a spot one remains.
    for (const pool of [SPOT_POOL, EXPIRING_POOL, ON_DEMAND_POOL]) await kubectl(['delete', 'nodepool', pool, '--ignore-not-found', '--wait=false']);
    if (karpenter && !karpenter.exited()) {
      await eventually('Karpenter to remove the nodes it launched', async () => {
        const left = await kubectl(['get', 'nodes', '-l', 'karpenter.sh/registered', '-o', 'name']);
        return left.stdout.trim() === '' || left.stdout.trim();
      }, 240_000).catch(() => undefined);
    }
    await karpenter?.stop();
    // Whatever Karpenter left behind goes now, so that later tests count the cluster's own nodes only.
    const leftovers = await kubectl(['get', 'nodes', '-l', 'karpenter.kwok.sh/kwoknodeclass', '-o', 'name']);
    for (const node of leftovers.stdout.split('\n').filter(Boolean)) {
      await kubectl(['patch', node, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
      await kubectl(['delete', node, '--ignore-not-found', '--wait=false']);
    }
    if (install) await uninstallKarpenter(install);
    if (recorder) {
      writeFileSync(join(process.cwd(), '.levee', 'e2e', 'karpenter-requests.txt'), `${recorder.summary().join('\n')}\n`);
      await recorder.stop();
    }
  });

  it('runs as its chart\'s ServiceAccount, and levee is asked nothing before there is work', async () => {
    const lease = await kubectl(['get', 'lease', LEADER_LEASE, '-n', KARPENTER_NAMESPACE, '-o', 'jsonpath={.spec.holderIdentity}']);
    assert.equal(lease.code, 0, lease.stderr);
    assert.ok(recorder!.requests({ user: KARPENTER_USER }).length > 0, 'everything recorded so far was sent with Karpenter\'s own token');
    assert.deepEqual(recorder!.requests({ levee: true }), []);
  });

  it('allows a spot-only NodePool as the only pool beside a managed node group\'s on-demand nodes, and refuses it once they are gone', async () => {
    // The local cluster's own nodes carry karpenter.sh/nodepool (they stand in for Karpenter's),
    // so levee counts none of them outside Karpenter; a managed node group's nodes do not.
    const created = await apply({ apiVersion: 'v1', kind: 'List', items: MANAGED_NODES.map(managedNode) });
    assert.equal(created.code, 0, created.stderr);
    await eventually('levee to count the managed node group\'s nodes', async () => {
      const probe = await apply(nodePool(SPOT_POOL, { capacityTypes: ['spot'] }), '--dry-run=server');
      return probe.code === 0 || probe.stderr;
    });
    const deleted = await kubectl(['delete', 'node', ...MANAGED_NODES]);
    assert.equal(deleted.code, 0, deleted.stderr);
    await eventually('levee to refuse the spot-only NodePool without them', async () => {
      const probe = await apply(nodePool(SPOT_POOL, { capacityTypes: ['spot'] }), '--dry-run=server');
      return probe.code !== 0 || 'still allowed';
    });
    const refused = await apply(nodePool(SPOT_POOL, { capacityTypes: ['spot'] }));
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /NodePool levee-spot allows only spot capacity and no other NodePool can launch on-demand nodes \(rule all-pools-spot\), and 0 schedulable on-demand node\(s\) outside Karpenter are fewer than 2/,
    );
  });

  it('allows the spot-only NodePool next to an on-demand one, on the CRDs of the pinned module', async () => {
    const onDemand = await apply(nodePool(ON_DEMAND_POOL, { capacityTypes: ['on-demand'] }));
    assert.equal(onDemand.code, 0, onDemand.stderr);
    await eventually('levee to see the on-demand NodePool', async () => {
      const probe = await apply(nodePool(SPOT_POOL, { capacityTypes: ['spot'] }), '--dry-run=server');
      return probe.code === 0 || probe.stderr;
    });
    const spot = await apply(nodePool(SPOT_POOL, { capacityTypes: ['spot'] }));
    assert.equal(spot.code, 0, spot.stderr);
  });

  it('Karpenter launches a Node from each NodePool, labelled with the capacity type levee reads', async () => {
    for (const pool of [ON_DEMAND_POOL, SPOT_POOL]) assert.equal((await apply(workloadFor(pool, namespace))).code, 0);
    const onDemand = await readyNodeOf(ON_DEMAND_POOL);
    const spot = await readyNodeOf(SPOT_POOL);
    assert.equal(onDemand.metadata.labels?.['karpenter.sh/capacity-type'], 'on-demand');
    assert.equal(spot.metadata.labels?.['karpenter.sh/capacity-type'], 'spot');
    await eventually('both workloads to be available on Karpenter\'s nodes', async () => {
      const result = await kubectl(['get', 'deployments', '-n', namespace, '-o', 'jsonpath={.items[*].status.availableReplicas}']);
      return result.stdout === '1 1' || result.stdout;
    });
    const created = recorder!.requests({ user: KARPENTER_USER, operation: 'CREATE', resource: '/nodes' });
    assert.ok(created.length >= 2, `Karpenter created its Nodes itself: ${created.length}`);
    assert.ok(created.every((entry) => entry.levee), 'levee is asked about every Node Karpenter creates');
    const launched = created.find((entry) => entry.name === spot.metadata.name);
    assert.equal(launched?.object?.metadata?.labels?.['karpenter.sh/capacity-type'], 'spot', 'the capacity type is there from the first write');
    assert.ok(recorder!.requests({ user: KARPENTER_USER, operation: 'CREATE', resource: 'karpenter.sh/nodeclaims', levee: false }).length >= 2);
  });

  it('levee counts the on-demand Node Karpenter launched toward the on-demand floor, and not the spot one', async () => {
    const statics = await staticOnDemandNodes();
    const onDemand = (await nodesOfPool(ON_DEMAND_POOL))[0]!.metadata.name;
    const spot = (await nodesOfPool(SPOT_POOL))[0]!.metadata.name;
    // Leave exactly MINIMUM schedulable on-demand nodes: one of the cluster's and Karpenter's.
    for (const node of statics.slice(0, statics.length - (MINIMUM - 1))) {
      const result = await kubectl(['cordon', node]);
      assert.equal(result.code, 0, result.stderr);
      cordoned.push(node);
    }
    await eventually('levee to refuse cordoning Karpenter\'s on-demand node', async () => {
      const probe = await kubectl(['cordon', onDemand, '--dry-run=server']);
      return /denied the request/.test(probe.stderr) || probe.stdout + probe.stderr;
    });
    const refused = await kubectl(['cordon', onDemand, '--dry-run=server']);
    assert.match(refused.stderr, new RegExp(`cordoning on-demand node ${onDemand} would leave ${MINIMUM - 1} schedulable on-demand node\\(s\\), below the minimum of ${MINIMUM}`));
    const spotCordon = await kubectl(['cordon', spot, '--dry-run=server']);
    assert.equal(spotCordon.code, 0, spotCordon.stderr);
  });

  it('Karpenter consolidates its empty on-demand Node below the floor: levee lets it through and records an audit finding', async () => {
    const node = (await nodesOfPool(ON_DEMAND_POOL))[0]!.metadata.name;
    const before = await findings('on-demand-floor-by-failure-handler');
    assert.equal((await kubectl(['scale', 'deployment', `on-${ON_DEMAND_POOL}`, '-n', namespace, '--replicas=0'])).code, 0);
    const consolidating = await kubectl(['patch', 'nodepool', ON_DEMAND_POOL, '--type=merge', '-p', '{"spec":{"disruption":{"consolidateAfter":"0s"}}}']);
    assert.equal(consolidating.code, 0, consolidating.stderr);
    await nodeGone(node);
    const byKarpenter = recorder!.requests({ user: KARPENTER_USER, resource: '/nodes' }).filter((entry) => entry.name === node);
    // The disruption taint is the update that stops the node taking pods. Karpenter's earlier taint
    // updates (its unregistered taint taken off at registration) come while the node takes none,
    // and validate-nodes' condition rightly leaves those out.
    const tainted = byKarpenter.find((entry) => entry.operation === 'UPDATE' && entry.changes.includes('spec.taints') && takesPods(entry.oldObject) && !takesPods(entry.object));
    assert.ok(tainted, `Karpenter tainted the node before deleting it: ${byKarpenter.map((entry) => `${entry.operation} ${entry.changes.join(',')}`).join('; ')}`);
    assert.ok(tainted.levee, 'the taint that stops the node taking pods reached levee');
    assert.ok(byKarpenter.some((entry) => entry.operation === 'DELETE' && entry.levee), 'Karpenter deleted the Node itself, and levee was asked');
    assert.ok(await findings('on-demand-floor-by-failure-handler') > before, 'levee recorded the drop below the floor as the failure handler\'s');
    assert.doesNotMatch(karpenter!.logTail(100_000), /denied the request/);
  });

  it('drift: a changed NodePool template makes Karpenter replace the spot Node, and levee refuses none of it', async () => {
    const old = (await nodesOfPool(SPOT_POOL))[0]!.metadata.name;
    const drifted = await apply(nodePool(SPOT_POOL, { capacityTypes: ['spot'], labels: { 'levee.dev/e2e-generation': '2' } }));
    assert.equal(drifted.code, 0, drifted.stderr);
    const replacement = await readyNodeOf(SPOT_POOL, [old]);
    assert.equal(replacement.metadata.labels?.['levee.dev/e2e-generation'], '2');
    await nodeGone(old);
    const hash = recorder!.requests({ user: KARPENTER_USER, operation: 'UPDATE', resource: 'karpenter.sh/nodepools' });
    assert.ok(hash.every((entry) => entry.levee), 'levee is asked about Karpenter\'s own NodePool updates');
    assert.doesNotMatch(karpenter!.logTail(100_000), /denied the request/);
  });

  it('expiry: Karpenter replaces an expired Node, and levee refuses none of it', async () => {
    const created = await apply(nodePool(EXPIRING_POOL, { capacityTypes: ['on-demand'], expireAfter: '45s' }));
    assert.equal(created.code, 0, created.stderr);
    assert.equal((await apply(workloadFor(EXPIRING_POOL, namespace))).code, 0);
    const first = await readyNodeOf(EXPIRING_POOL);
    await nodeGone(first.metadata.name);
    await readyNodeOf(EXPIRING_POOL, [first.metadata.name]);
    assert.doesNotMatch(karpenter!.logTail(100_000), /denied the request/);
  });

  it('refuses deleting the last on-demand NodePools while the spot one remains', async () => {
    assert.equal((await kubectl(['delete', 'nodepool', EXPIRING_POOL, '--wait=false'])).code, 0);
    await eventually('levee to see the expiring NodePool gone', async () => {
      const probe = await kubectl(['delete', 'nodepool', ON_DEMAND_POOL, '--dry-run=server']);
      return /rule all-pools-spot/.test(probe.stderr) || probe.stdout + probe.stderr;
    });
    const refused = await kubectl(['delete', 'nodepool', ON_DEMAND_POOL]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /deleting NodePool levee-on-demand leaves 1 NodePool\(s\), none of which can launch on-demand nodes \(rule all-pools-spot\)/);
  });
});
