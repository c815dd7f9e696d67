import assert from 'node:assert/strict';
import type { AdmissionRequest, KubeObject } from '../../../src/kube/types.js';
import { ClusterState } from '../../../src/cluster/state.js';
import { toReplicaSetView } from '../../../src/cluster/views.js';
import { buildConfig } from '../../../src/config.js';
import { platformChangeOf } from '../../../src/policies/platform-changes.js';
import { probeOnChange, type ProbeOnChangeContext } from '../../../src/policies/probe-on-change.js';
import type { ChangeRunView } from '../../../src/policies/types.js';
import type { CurrentVerdict, VerdictDocument } from '../../../src/probe-verdict.js';
import { admissionRequest, GVK, GVR } from '../../support/requests.js';
import { contextOf } from '../../support/review-corpus.js';

const config = buildConfig();
const now = new Date('2026-06-01T12:00:00Z');

function workload(kind: string, namespace: string, image: string, replicas = 2): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name: 'coredns', namespace, uid: 'uid-coredns', labels: { k8s: 'dns' } },
    spec: { replicas, selector: { matchLabels: { k8s: 'dns' } }, template: { metadata: { labels: { k8s: 'dns' } }, spec: { containers: [{ name: 'dns', image }] } } },
  };
}

function deploymentUpdate(namespace: string, before: KubeObject, after: KubeObject, options: { username?: string; dryRun?: boolean } = {}): AdmissionRequest {
  return admissionRequest({ kind: GVK.deployment, resource: GVR.deployments, operation: 'UPDATE', namespace, name: 'coredns', object: after, oldObject: before, ...options });
}

const NODEPOOL_GVK = { group: 'karpenter.sh', version: 'v1', kind: 'NodePool' };
const NODEPOOL_GVR = { group: 'karpenter.sh', version: 'v1', resource: 'nodepools' };

function nodePool(capacity: string[], limitsCpu = '100'): KubeObject {
  return {
    apiVersion: 'karpenter.sh/v1',
    kind: 'NodePool',
    metadata: { name: 'general', uid: 'uid-pool' },
    spec: { limits: { cpu: limitsCpu }, template: { spec: { requirements: [{ key: 'karpenter.sh/capacity-type', operator: 'In', values: capacity }] } } },
  };
}

function node(version: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name: 'worker-1', uid: 'uid-node' }, status: { nodeInfo: { kubeletVersion: version } } };
}

function verdictDocument(verdict: VerdictDocument['verdict'], generatedAt: Date, failing: string[] = []): VerdictDocument {
  return {
    verdict,
    since: generatedAt.toISOString(),
    generatedAt: generatedAt.toISOString(),
    run: 1,
    reporter: 'probe-0',
    leader: true,
    failing,
    probes: failing.map((probe) => ({ probe, status: 'Failing', critical: true, lastOk: false, latencyMs: 1, message: `${probe} failed`, consecutiveFailures: 2, consecutiveSuccesses: 0, checkedAt: generatedAt.toISOString() })),
  } as unknown as VerdictDocument;
}

const healthy: CurrentVerdict = { document: verdictDocument('Healthy', new Date(now.getTime() - 5000)), file: '/var/run/levee/verdict.json' };
const none: ChangeRunView = { state: 'none', change: '', expectedSeconds: 10 };

function contextFor(request: AdmissionRequest, changeRun: ChangeRunView = none, verdict: CurrentVerdict = healthy, cluster = new ClusterState()): ProbeOnChangeContext | undefined {
  return contextOf(probeOnChange, { request, cluster, config, now, verdict, changeRun }) as ProbeOnChangeContext | undefined;
}

const coreDnsTemplateChange = deploymentUpdate('kube-system', workload('Deployment', 'kube-system', 'coredns:1.11'), workload('Deployment', 'kube-system', 'coredns:1.12'));

describe('policies/probe-on-change: what is a platform change', () => {
  it('a pod template change of a kube-system Deployment is one; of an ordinary workload, none', () => {
    const change = platformChangeOf(coreDnsTemplateChange, config, new ClusterState());
    assert.deepEqual(change, {
      area: 'workload',
      target: { kind: 'Deployment', namespace: 'kube-system', name: 'coredns' },
      what: 'changing the pod template of Deployment kube-system/coredns',
      holdable: true,
      recovery: false,
    });
    const ordinary = deploymentUpdate('shop', workload('Deployment', 'shop', 'web:1'), workload('Deployment', 'shop', 'web:2'));
    assert.equal(platformChangeOf(ordinary, config, new ClusterState()), undefined);
    assert.equal(contextFor(ordinary), undefined);
  });

  it('a change of replicas alone, or of metadata, is not one (autoscalers scale CoreDNS all day)', () => {
    const scaled = deploymentUpdate('kube-system', workload('Deployment', 'kube-system', 'coredns:1.11', 2), workload('Deployment', 'kube-system', 'coredns:1.11', 5));
    assert.equal(platformChangeOf(scaled, config, new ClusterState()), undefined);
    const annotated = workload('Deployment', 'kube-system', 'coredns:1.11');
    annotated.metadata!.annotations = { 'deployment.kubernetes.io/revision': '4' };
    assert.equal(platformChangeOf(deploymentUpdate('kube-system', workload('Deployment', 'kube-system', 'coredns:1.11'), annotated), config, new ClusterState()), undefined);
    const scale = admissionRequest({ kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, resource: GVR.deployments, subResource: 'scale', operation: 'UPDATE', namespace: 'kube-system', name: 'coredns', object: { spec: { replicas: 3 } }, oldObject: { spec: { replicas: 2 } } });
    assert.equal(platformChangeOf(scale, config, new ClusterState()), undefined);
  });

  it('creating and deleting kube-system DaemonSets and StatefulSets are; a delete is a recovery', () => {
    const created = admissionRequest({ kind: { group: 'apps', version: 'v1', kind: 'DaemonSet' }, resource: GVR.daemonSets, operation: 'CREATE', namespace: 'kube-system', object: workload('DaemonSet', 'kube-system', 'proxy:1') });
    assert.equal(platformChangeOf(created, config, new ClusterState())?.what, 'creating DaemonSet kube-system/coredns');
    const deleted = admissionRequest({ kind: { group: 'apps', version: 'v1', kind: 'StatefulSet' }, resource: GVR.statefulsets, operation: 'DELETE', namespace: 'kube-system', name: 'coredns', oldObject: workload('StatefulSet', 'kube-system', 'x:1') });
    const change = platformChangeOf(deleted, config, new ClusterState());
    assert.equal(change?.what, 'deleting StatefulSet kube-system/coredns');
    assert.equal(change?.recovery, true);
  });

  it('a kube-system rollback to a template its ReplicaSets ran is a recovery', () => {
    const cluster = new ClusterState();
    const old = workload('Deployment', 'kube-system', 'coredns:1.11');
    cluster.replicaSets.upsert(
      'kube-system/coredns-1',
      toReplicaSetView({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'coredns-1', namespace: 'kube-system', uid: 'rs-1', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'coredns', uid: 'uid-coredns', controller: true }] },
        spec: { replicas: 0, template: (old.spec as { template: unknown }).template },
      }),
    );
    const undo = deploymentUpdate('kube-system', workload('Deployment', 'kube-system', 'coredns:1.12'), old);
    const change = platformChangeOf(undo, config, cluster);
    assert.equal(change?.what, 'rolling back the pod template of Deployment kube-system/coredns');
    assert.equal(change?.recovery, true);
  });

  it('NodePool spec changes are, replicas and metadata are not', () => {
    const request = (before: KubeObject, after: KubeObject): AdmissionRequest =>
      admissionRequest({ kind: NODEPOOL_GVK, resource: NODEPOOL_GVR, operation: 'UPDATE', name: 'general', namespace: '', object: after, oldObject: before });
    assert.equal(platformChangeOf(request(nodePool(['on-demand']), nodePool(['on-demand'], '200')), config, new ClusterState())?.what, 'changing the spec of NodePool general');
    const hashed = nodePool(['on-demand']);
    hashed.metadata!.annotations = { 'karpenter.sh/nodepool-hash': '123' };
    assert.equal(platformChangeOf(request(nodePool(['on-demand']), hashed), config, new ClusterState()), undefined);
  });

  it('a kubelet reporting another version starts a run but is never held; a heartbeat is nothing', () => {
    const upgraded = admissionRequest({ kind: { group: '', version: 'v1', kind: 'Node' }, resource: { group: '', version: 'v1', resource: 'nodes' }, subResource: 'status', operation: 'UPDATE', name: 'worker-1', namespace: '', object: node('v1.34.2'), oldObject: node('v1.33.5'), username: 'system:node:worker-1' });
    const change = platformChangeOf(upgraded, config, new ClusterState());
    assert.equal(change?.what, 'the kubelet of Node worker-1 reporting v1.34.2 (was v1.33.5)');
    assert.equal(change?.holdable, false);
    const same = { ...upgraded, object: node('v1.33.5') };
    assert.equal(platformChangeOf(same, config, new ClusterState()), undefined);
  });

  it('the controllers that carry out admitted changes (Cluster API, kube-controller-manager) make none', () => {
    const md = (version: string): KubeObject => ({ apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'MachineDeployment', metadata: { name: 'md-0', namespace: 'fleet' }, spec: { replicas: 3, template: { spec: { version } } } });
    const request = (username: string): AdmissionRequest =>
      admissionRequest({ kind: { group: 'cluster.x-k8s.io', version: 'v1beta2', kind: 'MachineDeployment' }, resource: { group: 'cluster.x-k8s.io', version: 'v1beta2', resource: 'machinedeployments' }, operation: 'UPDATE', namespace: 'fleet', name: 'md-0', object: md('v1.34.0'), oldObject: md('v1.33.0'), username });
    assert.equal(platformChangeOf(request('alice'), config, new ClusterState())?.what, 'changing the spec of MachineDeployment fleet/md-0');
    assert.equal(platformChangeOf(request('system:serviceaccount:capi-system:capi-manager'), config, new ClusterState()), undefined);
  });
});

describe('policies/probe-on-change context', () => {
  it('is absent in `levee audit` (no verdict, no runs) and for everything else', () => {
    assert.equal(contextOf(probeOnChange, { request: coreDnsTemplateChange, cluster: new ClusterState(), config, now }), undefined);
  });

  it('says how long the pending run has been going and when to retry', () => {
    const pending: ChangeRunView = { state: 'pending', change: 'creating DaemonSet kube-system/kube-proxy', admittedAt: new Date(now.getTime() - 4000), expectedSeconds: 9 };
    const context = contextFor(coreDnsTemplateChange, pending)!;
    assert.deepEqual(context.run, { state: 'pending', change: 'creating DaemonSet kube-system/kube-proxy', elapsedSeconds: 4, retryAfterSeconds: 5, verdict: '', reason: '' });
    assert.equal(context.verdict, 'Healthy');
    const late = contextFor(coreDnsTemplateChange, { ...pending, admittedAt: new Date(now.getTime() - 30_000) })!;
    assert.equal(late.run.retryAfterSeconds, 1, 'never "retry in 0 s"');
  });

  it("takes the run's Unhealthy over an older verdict serve has not re-read yet, and not over a newer one", () => {
    const finishedAt = new Date(now.getTime() - 1000);
    const done: ChangeRunView = { state: 'done', change: 'x', admittedAt: new Date(now.getTime() - 9000), finishedAt, verdict: 'Unhealthy', expectedSeconds: 8 };
    const stale = contextFor(coreDnsTemplateChange, done)!;
    assert.equal(stale.verdict, 'Unhealthy');
    assert.equal(stale.since, finishedAt.toISOString());
    const recovered: CurrentVerdict = { document: verdictDocument('Healthy', new Date(now.getTime() - 500)), file: 'f' };
    assert.equal(contextFor(coreDnsTemplateChange, done, recovered)!.verdict, 'Healthy');
    const stillBad: CurrentVerdict = { document: verdictDocument('Unhealthy', new Date(now.getTime() - 500), ['scheduler']), file: 'f' };
    assert.deepEqual(contextFor(coreDnsTemplateChange, done, stillBad)!.failing, ['scheduler']);
  });
});
