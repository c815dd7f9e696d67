import assert from 'node:assert/strict';
import type { AdmissionRequest, KubeObject } from '../../../src/kube/types.js';
import { toControllerRevisionView } from '../../../src/cluster/controller-revisions.js';
import { ClusterState, ownerKey } from '../../../src/cluster/state.js';
import { toReplicaSetView, toWorkloadView } from '../../../src/cluster/views.js';
import { buildConfig } from '../../../src/config.js';
import { probeGate, type ProbeGateContext } from '../../../src/policies/probe-gate.js';
import type { CurrentVerdict, VerdictDocument } from '../../../src/probe-verdict.js';
import { admissionRequest, GVK, GVR, scaleRequest } from '../../support/requests.js';
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
      uid: 'uid-web',
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
      const scale = scaleRequest(GVR.deployments, 'web', 2, 4, { namespace: 'shop' });
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
        metadata: { name: 'web-5d8f7c', namespace: 'shop', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-web', controller: true }] },
        spec: { template: oldTemplate },
      }));
      assert.equal(contextFor(update(deployment('app:2'), deployment('app:1')), gate)?.change, 'rollback');
      assert.equal(contextFor(update(deployment('app:2'), deployment('app:3')), gate)?.change, 'template', 'a new template is no rollback');
      const named = (name: string, uid: string, image: string): KubeObject => {
        const object = deployment(image);
        object.metadata = { ...object.metadata, name, uid };
        return object;
      };
      const otherRequest = admissionRequest({ kind: GVK.deployment, resource: GVR.deployments, operation: 'UPDATE', namespace: 'shop', name: 'api', object: named('api', 'uid-api', 'app:1'), oldObject: named('api', 'uid-api', 'app:2') });
      assert.equal(contextFor(otherRequest, gate)?.change, 'template', "another Deployment's history does not count");
      const recreated = admissionRequest({ kind: GVK.deployment, resource: GVR.deployments, operation: 'UPDATE', namespace: 'shop', name: 'web', object: named('web', 'uid-web-2', 'app:1'), oldObject: named('web', 'uid-web-2', 'app:2') });
      assert.equal(contextFor(recreated, gate)?.change, 'template', 'nor the history of a deleted Deployment of the same name');
    });

    describe('rollbacks of DaemonSets and StatefulSets', () => {
      // As the daemon-set and statefulset controllers store a revision: the template as a
      // strategic merge patch that replaces it, with the typed client's null timestamp.
      function revision(owner: { kind: string; name: string; uid: string }, image: string, number: number): KubeObject {
        const patch = { ...template(image), $patch: 'replace' } as Record<string, unknown>;
        (patch.metadata as Record<string, unknown>).creationTimestamp = null;
        return {
          apiVersion: 'apps/v1',
          kind: 'ControllerRevision',
          metadata: { name: `${owner.name}-${number}`, namespace: 'shop', ownerReferences: [{ apiVersion: 'apps/v1', ...owner, controller: true }] },
          data: { spec: { template: patch } },
          revision: number,
        };
      }

      function workload(kind: 'DaemonSet' | 'StatefulSet', uid: string, image: string): KubeObject {
        return { apiVersion: 'apps/v1', kind, metadata: { name: 'agent', namespace: 'shop', uid }, spec: { selector: { matchLabels: { app: 'web' } }, template: template(image) } };
      }

      for (const kind of ['DaemonSet', 'StatefulSet'] as const) {
        it(`recognises \`kubectl rollout undo\` of a ${kind}: back to a ControllerRevision of that very ${kind}`, () => {
          const gate = served();
          for (const [image, number] of [['agent:1', 1], ['agent:2', 2]] as const) {
            const view = toControllerRevisionView(revision({ kind, name: 'agent', uid: 'uid-agent' }, image, number));
            gate.cluster.controllerRevisions.upsert(`shop/agent-${number}`, view);
          }
          const resource = { group: 'apps', version: 'v1', resource: `${kind.toLowerCase()}s` };
          const undo = (uid: string, from: string, to: string) =>
            admissionRequest({ kind: { group: 'apps', version: 'v1', kind }, resource, operation: 'UPDATE', namespace: 'shop', name: 'agent', object: workload(kind, uid, to), oldObject: workload(kind, uid, from) });
          assert.equal(contextFor(undo('uid-agent', 'agent:2', 'agent:1'), gate)?.change, 'rollback');
          assert.equal(contextFor(undo('uid-agent', 'agent:2', 'agent:3'), gate)?.change, 'template', 'a template it never ran');
          assert.equal(contextFor(undo('uid-other', 'agent:2', 'agent:1'), gate)?.change, 'template', "another object's revisions");
        });
      }
    });

    describe('pods, ReplicaSets and Jobs made by their controllers', () => {
      const REPLICASET_CONTROLLER = 'system:serviceaccount:kube-system:replicaset-controller';

      function pod(owner?: { apiVersion?: string; kind: string; name: string; uid: string }): KubeObject {
        return {
          kind: 'Pod',
          metadata: { name: 'web-1', namespace: 'shop', ...(owner ? { ownerReferences: [{ apiVersion: 'apps/v1', ...owner, controller: true }] } : {}) },
          spec: { containers: [{ name: 'app', image: 'app:1' }] },
        };
      }

      function createPod(object: KubeObject, username: string): AdmissionRequest {
        return admissionRequest({ kind: POD, resource: PODS, operation: 'CREATE', namespace: 'shop', object, username });
      }

      /** The caches with ReplicaSet web-5d8f7c (uid uid-rs), DaemonSet agent and CronJob nightly. */
      function withOwners(): Served & { verdict: CurrentVerdict } {
        const gate = served();
        const rs = toWorkloadView({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-5d8f7c', namespace: 'shop', uid: 'uid-rs' }, spec: { replicas: 2 } })!;
        gate.cluster.workloads.upsert('ReplicaSet/shop/web-5d8f7c', rs);
        const deploymentView = toWorkloadView(deployment('app:1'))!;
        gate.cluster.workloads.upsert('Deployment/shop/web', deploymentView);
        gate.cluster.owners.upsert(ownerKey('DaemonSet', 'shop', 'agent'), 'uid-ds');
        gate.cluster.owners.upsert(ownerKey('CronJob', 'shop', 'nightly'), 'uid-cron');
        return gate;
      }

      it("lets a controller identity create a pod for an owner levee caches with that uid", () => {
        const gate = withOwners();
        assert.equal(contextFor(createPod(pod({ kind: 'ReplicaSet', name: 'web-5d8f7c', uid: 'uid-rs' }), REPLICASET_CONTROLLER), gate)?.change, 'controlled');
        assert.equal(contextFor(createPod(pod({ kind: 'DaemonSet', name: 'agent', uid: 'uid-ds' }), 'system:serviceaccount:kube-system:daemon-set-controller'), gate)?.change, 'controlled');
        assert.equal(contextFor(createPod(pod({ kind: 'ReplicaSet', name: 'web-5d8f7c', uid: 'uid-rs' }), 'system:kube-controller-manager'), gate)?.change, 'controlled');
      });

      it('judges a pod whose controller reference is forged: another kind, another uid, an owner not cached', () => {
        const gate = withOwners();
        for (const owner of [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'uid-cm' },
          { kind: 'ReplicaSet', name: 'web-5d8f7c', uid: 'uid-invented' },
          { kind: 'ReplicaSet', name: 'never-made', uid: 'uid-rs' },
          { kind: 'ReplicaSet', name: 'web-5d8f7c', uid: '' },
          { kind: 'Deployment', name: 'web', uid: 'uid-web' },
        ]) {
          assert.equal(contextFor(createPod(pod(owner), REPLICASET_CONTROLLER), gate)?.change, 'create', JSON.stringify(owner));
        }
      });

      it('judges a pod with a true controller reference that a person sends', () => {
        const gate = withOwners();
        assert.equal(contextFor(createPod(pod({ kind: 'ReplicaSet', name: 'web-5d8f7c', uid: 'uid-rs' }), 'alice'), gate)?.change, 'create');
        assert.equal(contextFor(createPod(pod({ kind: 'ReplicaSet', name: 'web-5d8f7c', uid: 'uid-rs' }), 'system:serviceaccount:kube-system:my-operator'), gate)?.change, 'create');
        assert.equal(contextFor(createPod(pod(), REPLICASET_CONTROLLER), gate)?.change, 'create', 'a bare pod stays a bare pod whoever sends it');
      });

      it('judges a pod template change on a pod with a forged controller', () => {
        const gate = withOwners();
        const forged = (image: string): KubeObject => {
          const object = pod({ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: 'uid-cm' });
          (object.spec as { containers: Array<{ image: string }> }).containers[0]!.image = image;
          return object;
        };
        const request = admissionRequest({ kind: POD, resource: PODS, operation: 'UPDATE', namespace: 'shop', name: 'web-1', object: forged('app:2'), oldObject: forged('app:1') });
        assert.equal(contextFor(request, gate)?.change, 'template');
      });

      it('treats ReplicaSets of a cached Deployment and Jobs of a cached CronJob the same way', () => {
        const gate = withOwners();
        const replicaSet = (owner: { kind: string; name: string; uid: string }): KubeObject => ({
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          metadata: { name: 'web-6f9', namespace: 'shop', ownerReferences: [{ apiVersion: 'apps/v1', ...owner, controller: true }] },
          spec: { template: template('app:2') },
        });
        const createRs = (object: KubeObject, username: string) => admissionRequest({ kind: GVK.replicaSet, resource: GVR.replicasets, operation: 'CREATE', namespace: 'shop', object, username });
        const deploymentController = 'system:serviceaccount:kube-system:deployment-controller';
        assert.equal(contextFor(createRs(replicaSet({ kind: 'Deployment', name: 'web', uid: 'uid-web' }), deploymentController), gate)?.change, 'controlled');
        assert.equal(contextFor(createRs(replicaSet({ kind: 'Deployment', name: 'web', uid: 'uid-web' }), 'alice'), gate)?.change, 'create');
        assert.equal(contextFor(createRs(replicaSet({ kind: 'ConfigMap', name: 'x', uid: 'uid-cm' }), deploymentController), gate)?.change, 'create');
        const job = (owner: { kind: string; name: string; uid: string }): KubeObject => ({
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { name: 'nightly-29', namespace: 'shop', ownerReferences: [{ apiVersion: 'batch/v1', ...owner, controller: true }] },
          spec: { template: template('job:1') },
        });
        const jobs = { group: 'batch', version: 'v1', resource: 'jobs' };
        const createJob = (object: KubeObject, username: string) => admissionRequest({ kind: { group: 'batch', version: 'v1', kind: 'Job' }, resource: jobs, operation: 'CREATE', namespace: 'shop', object, username });
        const cronJobController = 'system:serviceaccount:kube-system:cronjob-controller';
        assert.equal(contextFor(createJob(job({ kind: 'CronJob', name: 'nightly', uid: 'uid-cron' }), cronJobController), gate)?.change, 'controlled');
        assert.equal(contextFor(createJob(job({ kind: 'CronJob', name: 'nightly', uid: 'uid-forged' }), cronJobController), gate)?.change, 'create');
      });

      it('follows the configured controller identities', () => {
        const gate = withOwners();
        const operator = 'system:serviceaccount:ops:my-operator';
        const configured = buildConfig({ policies: { 'probe-gate': { controllers: [operator] } } });
        const request = createPod(pod({ kind: 'ReplicaSet', name: 'web-5d8f7c', uid: 'uid-rs' }), operator);
        const judged = (cfg: typeof config) => (contextOf(probeGate, { request, cluster: gate.cluster, config: cfg, now, verdict: gate.verdict }) as ProbeGateContext).change;
        assert.equal(judged(configured), 'controlled');
        assert.equal(judged(config), 'create');
      });
    });

    it('judges an operator changing a Deployment it owns', () => {
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

    it('has nothing to judge while only minor probes fail: a Healthy verdict that lists failing probes keeps the gate open', () => {
      const failingMinor = (probe: string) => ({ probe, status: 'Failing' as const, critical: false, severity: 'minor' as const, lastOk: false, latencyMs: 1, message: `${probe} fails`, consecutiveFailures: 3, consecutiveSuccesses: 0, failingSince: '2026-06-01T11:50:00.000Z', lastTransitionTime: '2026-06-01T11:50:00.000Z', checkedAt: '2026-06-01T11:59:57.000Z' });
      const minorOnly = verdict(5, { verdict: 'Healthy', failing: ['on-demand-share', 'restart-burst'], probes: [failingMinor('on-demand-share'), failingMinor('restart-burst')] });
      assert.equal(contextFor(create, served(minorOnly)), undefined);
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
