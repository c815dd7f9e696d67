import assert from 'node:assert/strict';
import type { AdmissionRequest, KubeObject } from '../../../src/kube/types.js';
import { ClusterState } from '../../../src/cluster/state.js';
import { toReplicaSetView } from '../../../src/cluster/views.js';
import { buildConfig } from '../../../src/config.js';
import { probeGate, type ProbeGateContext } from '../../../src/policies/probe-gate.js';
import type { CurrentVerdict, VerdictDocument } from '../../../src/probe-verdict.js';
import { admissionRequest, GVK, GVR } from '../../support/requests.js';
import { contextOf } from '../../support/review-corpus.js';

const config = buildConfig();
const now = new Date('2026-06-01T12:00:00Z');

function template(image: string, annotations?: Record<string, string>): Record<string, unknown> {
  return {
    metadata: { labels: { app: 'web' }, ...(annotations ? { annotations } : {}) },
    spec: { containers: [{ name: 'app', image, resources: {} }], restartPolicy: 'Always' },
  };
}

function deployment(image: string, options: { replicas?: number; annotations?: Record<string, string>; templateAnnotations?: Record<string, string>; owner?: boolean; labels?: Record<string, string> } = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'shop',
      labels: options.labels ?? { app: 'web' },
      ...(options.annotations ? { annotations: options.annotations } : {}),
      ...(options.owner ? { ownerReferences: [{ apiVersion: 'example.com/v1', kind: 'App', name: 'web', uid: 'u', controller: true }] } : {}),
    },
    spec: { replicas: options.replicas ?? 2, selector: { matchLabels: { app: 'web' } }, template: template(image, options.templateAnnotations) },
  };
}

function update(oldObject: KubeObject, object: KubeObject): AdmissionRequest {
  return admissionRequest({ kind: GVK.deployment, resource: GVR.deployments, operation: 'UPDATE', namespace: 'shop', name: 'web', object, oldObject });
}

/** What a policy is given in `serve`: the caches, and the verdict file with the document last read from it, if any. */
interface Served {
  cluster: ClusterState;
  verdict?: CurrentVerdict;
}

function served(document?: VerdictDocument): Served & { verdict: CurrentVerdict } {
  return { cluster: new ClusterState(), verdict: { document, file: '/var/run/levee/verdict.json' } };
}

function contextFor(request: AdmissionRequest, { cluster, verdict }: Served = served()): ProbeGateContext | undefined {
  return contextOf(probeGate, { request, cluster, config, now, verdict }) as ProbeGateContext | undefined;
}

const POD = { group: '', version: 'v1', kind: 'Pod' };
const PODS = { group: '', version: 'v1', resource: 'pods' };

describe('policies/probe-gate context', () => {
  describe('what the request does to pods', () => {
    it('calls creating a workload, and changing its pod template, rollouts', () => {
      const create = admissionRequest({ kind: GVK.deployment, resource: GVR.deployments, operation: 'CREATE', namespace: 'shop', object: deployment('app:1') });
      assert.equal(contextFor(create)?.change, 'create');
      assert.deepEqual(contextFor(create)?.target, { kind: 'Deployment', namespace: 'shop', name: 'web' });
      assert.equal(contextFor(update(deployment('app:1'), deployment('app:2')))?.change, 'template');
      // `kubectl rollout restart` changes only a template annotation: still a rollout.
      assert.equal(contextFor(update(deployment('app:1'), deployment('app:1', { templateAnnotations: { 'kubectl.kubernetes.io/restartedAt': 'now' } })))?.change, 'template');
    });

    it('tells scale-ups, metadata-only changes, the scale subresource and deletions apart from rollouts', () => {
      assert.equal(contextFor(update(deployment('app:1'), deployment('app:1', { replicas: 5 })))?.change, 'scale');
      assert.equal(contextFor(update(deployment('app:1'), deployment('app:1', { annotations: { team: 'payments' } })))?.change, 'no-template-change');
      const scale = admissionRequest({ kind: GVK.scale, resource: GVR.deployments, subResource: 'scale', operation: 'UPDATE', namespace: 'shop', name: 'web', object: { kind: 'Scale', spec: { replicas: 4 } }, oldObject: { kind: 'Scale', spec: { replicas: 2 } } });
      assert.deepEqual(contextFor(scale)?.change, 'scale');
      assert.equal(contextFor(scale)?.target.kind, 'Deployment');
      const remove = admissionRequest({ kind: GVK.deployment, resource: GVR.deployments, operation: 'DELETE', namespace: 'shop', name: 'web', oldObject: deployment('app:1') });
      assert.equal(contextFor(remove)?.change, 'delete');
    });

    it('recognises a rollback: the new template is one a ReplicaSet of this Deployment already has', () => {
      const gate = served();
      const { cluster } = gate;
      // As the Deployment controller writes it, and as the typed client lists it: pod-template-hash label, null timestamp.
      const oldTemplate = template('app:1') as { metadata: { labels: Record<string, string>; creationTimestamp?: unknown } };
      oldTemplate.metadata.labels = { ...oldTemplate.metadata.labels, 'pod-template-hash': '5d8f7c' };
      oldTemplate.metadata.creationTimestamp = null;
      cluster.replicaSets.upsert('shop/web-5d8f7c', toReplicaSetView({
        kind: 'ReplicaSet',
        metadata: { name: 'web-5d8f7c', namespace: 'shop', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u', controller: true }] },
        spec: { template: oldTemplate },
      }));
      assert.equal(contextFor(update(deployment('app:2'), deployment('app:1')), gate)?.change, 'rollback');
      assert.equal(contextFor(update(deployment('app:2'), deployment('app:3')), gate)?.change, 'template', 'a new template is no rollback');
      const other = deployment('app:1');
      other.metadata!.name = 'api';
      const otherRequest = admissionRequest({ kind: GVK.deployment, resource: GVR.deployments, operation: 'UPDATE', namespace: 'shop', name: 'api', object: other, oldObject: deployment('app:2') });
      assert.equal(contextFor(otherRequest, gate)?.change, 'template', "another Deployment's history does not count");
    });

    it('lets controllers create pods, but judges an operator changing a Deployment it owns', () => {
      const controlled: KubeObject = { kind: 'Pod', metadata: { name: 'web-1', namespace: 'shop', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f7c', uid: 'u', controller: true }] }, spec: { containers: [] } };
      assert.equal(contextFor(admissionRequest({ kind: POD, resource: PODS, operation: 'CREATE', namespace: 'shop', object: controlled }))?.change, 'controlled');
      const bare: KubeObject = { kind: 'Pod', metadata: { name: 'debug', namespace: 'shop' }, spec: { containers: [{ name: 'sh', image: 'busybox' }] } };
      assert.equal(contextFor(admissionRequest({ kind: POD, resource: PODS, operation: 'CREATE', namespace: 'shop', object: bare }))?.change, 'create');
      assert.equal(contextFor(update(deployment('app:1', { owner: true }), deployment('app:2', { owner: true })))?.change, 'template');
    });

    it('changing the spec of a bare Pod is a rollout; relabelling it is not', () => {
      const pod = (image: string, labels: Record<string, string> = {}): KubeObject => ({ kind: 'Pod', metadata: { name: 'debug', namespace: 'shop', labels }, spec: { containers: [{ name: 'sh', image }] } });
      const podUpdate = (object: KubeObject, oldObject: KubeObject) => admissionRequest({ kind: POD, resource: PODS, operation: 'UPDATE', namespace: 'shop', name: 'debug', object, oldObject });
      assert.equal(contextFor(podUpdate(pod('busybox:1.37'), pod('busybox:1.36')))?.change, 'template');
      assert.equal(contextFor(podUpdate(pod('busybox:1.36', { team: 'sre' }), pod('busybox:1.36')))?.change, 'no-template-change');
      const annotated: KubeObject = { ...pod('busybox:1.36'), metadata: { name: 'debug', namespace: 'shop', labels: {}, annotations: { 'team.example/owner': 'sre' } } };
      assert.equal(contextFor(podUpdate(annotated, pod('busybox:1.36')))?.change, 'no-template-change');
    });

    it("lets the probe's own workloads through in levee's namespace only", () => {
      const probeWorkload = (namespace: string) => {
        const object = deployment('pause', { labels: { 'levee.dev/probe': 'true' } });
        object.metadata!.namespace = namespace;
        return admissionRequest({ kind: GVK.deployment, resource: GVR.deployments, operation: 'CREATE', namespace, object });
      };
      assert.equal(contextFor(probeWorkload('levee-system'))?.change, 'probe-workload');
      assert.equal(contextFor(probeWorkload('shop'))?.change, 'create');
    });

    it('judges Jobs, CronJobs, DaemonSets and StatefulSets, and has nothing to say about other kinds or subresources', () => {
      const cronJob = (image: string): KubeObject => ({ kind: 'CronJob', metadata: { name: 'nightly', namespace: 'shop' }, spec: { schedule: '@daily', jobTemplate: { spec: { template: template(image) } } } });
      const cron = admissionRequest({ kind: { group: 'batch', version: 'v1', kind: 'CronJob' }, resource: { group: 'batch', version: 'v1', resource: 'cronjobs' }, operation: 'UPDATE', namespace: 'shop', object: cronJob('job:2'), oldObject: cronJob('job:1') });
      assert.equal(contextFor(cron)?.change, 'template');
      const daemonSet = admissionRequest({ kind: { group: 'apps', version: 'v1', kind: 'DaemonSet' }, resource: { group: 'apps', version: 'v1', resource: 'daemonsets' }, operation: 'CREATE', namespace: 'shop', object: { kind: 'DaemonSet', metadata: { name: 'agent' }, spec: { template: template('agent:1') } } });
      assert.equal(contextFor(daemonSet)?.change, 'create');
      assert.equal(contextFor(admissionRequest({ kind: GVK.configMap, resource: GVR.configMaps, operation: 'CREATE', namespace: 'shop', object: { kind: 'ConfigMap' } })), undefined);
      const status = admissionRequest({ kind: GVK.deployment, resource: GVR.deployments, subResource: 'status', operation: 'UPDATE', namespace: 'shop', name: 'web', object: deployment('app:1'), oldObject: deployment('app:1') });
      assert.equal(contextFor(status), undefined);
    });
  });

  describe('the verdict and its age', () => {
    const create = admissionRequest({ kind: GVK.deployment, resource: GVR.deployments, operation: 'CREATE', namespace: 'shop', object: deployment('app:1') });
    const verdict = (ageSeconds: number, overrides: Partial<VerdictDocument> = {}): VerdictDocument => ({
      verdict: 'Unhealthy',
      since: '2026-06-01T11:50:00.000Z',
      generatedAt: new Date(now.getTime() - ageSeconds * 1000).toISOString(),
      reporter: 'probe-1',
      leader: true,
      run: 9,
      failing: ['controller-manager'],
      probes: [
        { probe: 'controller-manager', status: 'Failing', critical: true, lastOk: false, latencyMs: 3, message: 'Lease not renewed for 40 s', hint: 'is kube-controller-manager running?', consecutiveFailures: 4, consecutiveSuccesses: 0, failingSince: '2026-06-01T11:50:00.000Z', lastTransitionTime: '2026-06-01T11:50:00.000Z', checkedAt: '2026-06-01T11:59:57.000Z' },
        { probe: 'etcd', status: 'Passing', critical: true, lastOk: true, latencyMs: 2, message: 'ok', consecutiveFailures: 0, consecutiveSuccesses: 9, lastTransitionTime: '2026-06-01T11:00:00.000Z', checkedAt: '2026-06-01T11:59:57.000Z' },
      ],
      ...overrides,
    });

    it('passes a fresh verdict with its failing probes, their hints and since when', () => {
      const context = contextFor(create, served(verdict(3)))!;
      assert.equal(context.verdict, 'Unhealthy');
      assert.equal(context.verdictAgeSeconds, 3);
      assert.equal(context.since, '2026-06-01T11:50:00.000Z');
      assert.deepEqual(context.failing, [{ probe: 'controller-manager', message: 'Lease not renewed for 40 s', hint: 'is kube-controller-manager running?', since: '2026-06-01T11:50:00.000Z' }]);
    });

    it('calls a verdict older than maxVerdictAgeSeconds Unknown (stale), and no verdict at all Unknown (missing)', () => {
      const gate = served(verdict(121));
      const stale = contextFor(create, gate)!;
      assert.equal(stale.verdict, 'Unknown');
      assert.equal(stale.unknownReason, 'stale');
      assert.equal(stale.verdictAgeSeconds, 121);
      assert.equal(stale.maxVerdictAgeSeconds, 120);
      assert.deepEqual(stale.failing, []);
      gate.verdict.document = verdict(120);
      assert.equal(contextFor(create, gate)!.verdict, 'Unhealthy', 'exactly the limit is still fresh');
      const missing = contextFor(create, served())!;
      assert.equal(missing.verdict, 'Unknown');
      assert.equal(missing.unknownReason, 'missing');
      assert.equal(missing.verdictAgeSeconds, -1);
      assert.equal(missing.verdictFile, '/var/run/levee/verdict.json');
    });

    it('has nothing to judge where there is no verdict source (levee audit)', () => {
      assert.equal(contextFor(create, { cluster: new ClusterState() }), undefined);
    });

    it('has nothing to judge while the verdict is fresh and Healthy or Degraded: the gate is open', () => {
      for (const state of ['Healthy', 'Degraded'] as const) {
        assert.equal(contextFor(create, served(verdict(5, { verdict: state, failing: [] }))), undefined);
      }
    });

    it('follows a configured maximum age', () => {
      const { cluster, verdict: current } = served(verdict(30, { verdict: 'Healthy', failing: [] }));
      const strict = buildConfig({ policies: { 'probe-gate': { maxVerdictAgeSeconds: 10 } } });
      const context = contextOf(probeGate, { request: create, cluster, config: strict, now, verdict: current }) as ProbeGateContext;
      assert.equal(context.verdict, 'Unknown');
      assert.equal(context.unknownReason, 'stale');
    });
  });
});
