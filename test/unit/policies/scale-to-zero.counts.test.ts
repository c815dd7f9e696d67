import assert from 'node:assert/strict';
import { ClusterState } from '../../../src/cluster/state.js';
import { toWorkloadView } from '../../../src/cluster/views.js';
import { buildConfig, type LeveeConfig } from '../../../src/config.js';
import { admissionResponse, conflictRefusal } from '../../../src/admission/response.js';
import { readBundle } from '../../../src/engine/bundle.js';
import { PolicyEvaluator } from '../../../src/engine/evaluator.js';
import { judgeAndRemember } from '../../../src/engine/remember.js';
import type { Judgement, PipelineDeps } from '../../../src/engine/pipeline.js';
import type { AdmissionRequest, GroupVersionKind, GroupVersionResource, KubeObject } from '../../../src/kube/types.js';
import { workloadKey, type ScalableKind } from '../../../src/kube/workload.js';
import type { CurrentVerdict } from '../../../src/probe-verdict.js';
import { BUNDLE_PATH } from '../../support/bundle.js';
import { addDeploymentWithPods, addPod, addReplicaSet, addService, addWorkload, podNames } from '../../support/cluster.js';
import { workloadObject } from '../../support/fleet.js';
import { fakeAuthorizer, loadEvaluator } from '../../support/pipeline.js';
import { admissionRequest, controllerRef, GVK, GVR, hpaObject, replicaSetObject, scaledObject, scaleRequest } from '../../support/requests.js';
import { judge } from '../../support/review-corpus.js';

/**
 * validate.levee.dev sends a workload's change of replicas only when it takes them to 0
 * (workload-update-changes-what-is-judged, scale-changes-what-is-judged). These are the scales
 * it leaves out, judged anyway through the pipeline (so that they join the review corpus that
 * test/policies/webhook-match-conditions.test.ts checks the conditions against): every scalable
 * kind, through the object and through `/scale`, by a person, an autoscaler and the Deployment
 * controller, with the probe verdict Unhealthy and a configuration as eager as it gets. None of
 * them may draw a finding or leave anything in the ledger of recent decisions; the scale to 0
 * next to each of them must (so that the fixtures are ones levee does judge).
 */

const NOW = new Date('2026-11-30T12:00:00Z');
const NAMESPACE = 'shop';
const LABELS = { app: 'web' };
const HPA_CONTROLLER = 'system:serviceaccount:kube-system:horizontal-pod-autoscaler';
const KEDA = 'system:serviceaccount:keda:keda-operator';
const DEPLOYMENT_CONTROLLER = 'system:serviceaccount:kube-system:deployment-controller';

const KINDS: ReadonlyArray<{ kind: ScalableKind; gvk: GroupVersionKind; gvr: GroupVersionResource }> = [
  { kind: 'Deployment', gvk: GVK.deployment, gvr: GVR.deployments },
  { kind: 'StatefulSet', gvk: GVK.statefulSet, gvr: GVR.statefulsets },
  { kind: 'ReplicaSet', gvk: GVK.replicaSet, gvr: GVR.replicasets },
  { kind: 'ReplicationController', gvk: { group: '', version: 'v1', kind: 'ReplicationController' }, gvr: GVR.replicationControllers },
];

/** A workload as the API server hands it to admission: replicas defaulted, a pod template. */
function workload(kind: ScalableKind, replicas: number, name = 'web', namespace = NAMESPACE): KubeObject {
  return {
    apiVersion: kind === 'ReplicationController' ? 'v1' : 'apps/v1',
    kind,
    metadata: { name, namespace, uid: `uid-${name}`, labels: LABELS },
    spec: {
      replicas,
      selector: kind === 'ReplicationController' ? LABELS : { matchLabels: LABELS },
      ...(kind === 'StatefulSet' ? { serviceName: name } : {}),
      template: { metadata: { labels: LABELS }, spec: { containers: [{ name: 'app', image: 'registry.example/web:1.0' }] } },
    },
  };
}

/** Service `web` whose only backend is workload `web` of `kind`, with three ready pods (a Deployment's through its ReplicaSet). */
function backedBy(kind: ScalableKind, namespace = NAMESPACE): ClusterState {
  const cluster = new ClusterState();
  if (kind === 'Deployment') {
    addDeploymentWithPods(cluster, 'web', namespace, 3, LABELS);
    addService(cluster, 'web', namespace, LABELS, podNames('web', 3));
  } else {
    const object = workload(kind, 3, 'web', namespace);
    if (kind === 'ReplicaSet') addReplicaSet(cluster, object);
    else addWorkload(cluster, object);
    const pods = ['web-0', 'web-1', 'web-2'];
    for (const pod of pods) addPod(cluster, pod, namespace, { kind, name: 'web' });
    addService(cluster, 'web', namespace, LABELS, pods);
  }
  for (const store of cluster.allStores()) store.markSynced();
  return cluster;
}

function objectUpdate(kind: (typeof KINDS)[number], from: number, to: number, username = 'alice', namespace = NAMESPACE): AdmissionRequest {
  return admissionRequest({
    kind: kind.gvk,
    resource: kind.gvr,
    operation: 'UPDATE',
    name: 'web',
    namespace,
    username,
    object: workload(kind.kind, to, 'web', namespace),
    oldObject: workload(kind.kind, from, 'web', namespace),
  });
}

/** A Scale written with `spec.replicas: 0` spelled out, as a client may send it; the API server's encoding drops it. */
function explicitZeroScale(kind: (typeof KINDS)[number], from: number, to: number, username = 'alice'): AdmissionRequest {
  const request = scaleRequest(kind.gvr, 'web', from, to, { namespace: NAMESPACE, username });
  for (const scale of [request.object, request.oldObject]) (scale!.spec as Record<string, unknown>).replicas ??= 0;
  return request;
}

const unhealthy: CurrentVerdict = {
  file: '(test)',
  document: { verdict: 'Unhealthy', since: NOW.toISOString(), generatedAt: NOW.toISOString(), reporter: 'test', leader: true, run: 1, failing: ['etcd'], probes: [] },
};

/** Every on-demand loss below the floor, the namespace critical: what makes levee find the most. */
const eager = buildConfig({ policies: { 'spot-capacity': { minOnDemandNodes: 1_000_000, minOnDemandShare: 1, critical: { namespaces: [NAMESPACE, 'kube-system'] } } } });

function findingsOf(judgement: Judgement): string[] {
  assert.equal(judgement.error, undefined, judgement.error?.message);
  return (judgement.decision?.findings ?? []).map((finding) => `${finding.policy}/${finding.rule}:${finding.action}`);
}

describe('policies/scale-to-zero: scales between counts above 0 (what validate.levee.dev leaves out)', () => {
  let evaluator: PolicyEvaluator;
  let eagerEvaluator: PolicyEvaluator;
  before(async () => {
    evaluator = await loadEvaluator();
    eagerEvaluator = await PolicyEvaluator.load(readBundle(BUNDLE_PATH), { config: { policies: eager.policies } });
  });

  /** Judged twice on /validate: with levee's defaults and a Healthy cluster, and with the eager configuration while Unhealthy. */
  async function judgedBoth(cluster: ClusterState, request: AdmissionRequest, config: LeveeConfig = buildConfig()): Promise<{ own: Judgement; eager: Judgement }> {
    const deps = (evaluate: PolicyEvaluator, settings: LeveeConfig, verdict?: CurrentVerdict): PipelineDeps => ({
      evaluator: evaluate,
      cluster,
      config: settings,
      authorizer: fakeAuthorizer(),
      now: () => NOW,
      ...(verdict ? { verdict: () => verdict } : {}),
    });
    const [own, eagerJudgement] = await Promise.all([judge(deps(evaluator, config), request, 'validate'), judge(deps(eagerEvaluator, eager, unhealthy), request, 'validate')]);
    return { own, eager: eagerJudgement };
  }

  async function assertNothingFound(cluster: ClusterState, request: AdmissionRequest, what: string, config?: LeveeConfig): Promise<void> {
    const { own, eager: eagerJudgement } = await judgedBoth(cluster, request, config);
    for (const [label, judgement] of [['default', own], ['eager, Unhealthy', eagerJudgement]] as const) {
      assert.deepEqual(findingsOf(judgement), [], `${what} (${label})`);
      assert.equal(judgement.decision?.allowed, true, `${what} (${label})`);
      assert.deepEqual(judgement.changes ?? [], [], `${what} (${label}): nothing to remember`);
    }
  }

  for (const kind of KINDS) {
    describe(kind.kind, () => {
      for (const [from, to] of [[3, 1], [1, 3], [0, 2], [3, 3], [2, 0], [0, 0]] as Array<[number, number]>) {
        const drop = to === 0 && from !== 0;
        it(`${from} -> ${to} through the object and through /scale (spec: {} and spec.replicas: 0 alike) ${drop ? 'is refused and remembered' : 'finds nothing'}`, async () => {
          const requests: Array<[string, AdmissionRequest]> = [
            ['the object', objectUpdate(kind, from, to)],
            ['/scale', scaleRequest(kind.gvr, 'web', from, to, { namespace: NAMESPACE })],
            ['/scale with replicas 0 spelled out', explicitZeroScale(kind, from, to)],
          ];
          for (const [route, request] of requests) {
            const what = `${kind.kind} ${from} -> ${to} through ${route}`;
            if (!drop) {
              await assertNothingFound(backedBy(kind.kind), request, what);
              continue;
            }
            const { own } = await judgedBoth(backedBy(kind.kind), request);
            assert.deepEqual(findingsOf(own), ['scale-to-zero/scale-to-zero:deny'], what);
            assert.deepEqual(own.changes, [{ store: 'workloads', key: workloadKey({ kind: kind.kind, namespace: NAMESPACE, name: 'web' }), after: { replicas: 0 } }], what);
          }
        });
      }
    });
  }

  describe('autoscalers that let the workload reach zero', () => {
    function underAutoscalers(): ClusterState {
      const cluster = backedBy('Deployment');
      for (const object of [hpaObject('web-hpa', NAMESPACE, 'web', 0), scaledObject('web-so', NAMESPACE, 'web', { minReplicaCount: 0 })]) {
        const store = object.kind === 'HorizontalPodAutoscaler' ? cluster.hpas : cluster.kedaScalers;
        store.upsert(...store.project(object)!);
      }
      return cluster;
    }
    const deployment = KINDS[0]!;

    it("find nothing in the HPA's or KEDA's every step above 0, from 0 included", async () => {
      for (const username of [HPA_CONTROLLER, KEDA, 'system:kube-controller-manager']) {
        for (const [from, to] of [[1, 4], [4, 2], [0, 1], [0, 5]] as const) {
          await assertNothingFound(underAutoscalers(), scaleRequest(GVR.deployments, 'web', from, to, { namespace: NAMESPACE, username }), `${username} ${from} -> ${to}`);
        }
      }
    });

    it('warn (autoscaler-to-zero) on their step to 0, through /scale and the object alike, and remember it', async () => {
      for (const request of [scaleRequest(GVR.deployments, 'web', 1, 0, { namespace: NAMESPACE, username: KEDA }), objectUpdate(deployment, 1, 0, HPA_CONTROLLER)]) {
        const { own } = await judgedBoth(underAutoscalers(), request);
        assert.deepEqual(findingsOf(own), ['scale-to-zero/autoscaler-to-zero:warn']);
        assert.equal(own.decision?.allowed, true);
        assert.equal(own.changes?.length, 1);
      }
    });
  });

  describe("the Deployment controller's ReplicaSet steps", () => {
    /** Deployment web mid-rollout: ReplicaSet web-old runs its 3 pods behind Service web, web-new has none yet. */
    function midRollout(): ClusterState {
      const cluster = new ClusterState();
      addWorkload(cluster, workload('Deployment', 3));
      addReplicaSet(cluster, replicaSetObject('web-old', NAMESPACE, 3, LABELS, controllerRef('Deployment', 'web')));
      addReplicaSet(cluster, replicaSetObject('web-new', NAMESPACE, 0, LABELS, controllerRef('Deployment', 'web')));
      const pods = ['web-old-0', 'web-old-1', 'web-old-2'];
      for (const pod of pods) addPod(cluster, pod, NAMESPACE, { kind: 'ReplicaSet', name: 'web-old' });
      addService(cluster, 'web', NAMESPACE, LABELS, pods);
      for (const store of cluster.allStores()) store.markSynced();
      return cluster;
    }
    const step = (name: string, from: number, to: number, username = DEPLOYMENT_CONTROLLER): AdmissionRequest =>
      admissionRequest({
        kind: GVK.replicaSet,
        resource: GVR.replicasets,
        operation: 'UPDATE',
        name,
        namespace: NAMESPACE,
        username,
        object: replicaSetObject(name, NAMESPACE, to, LABELS, controllerRef('Deployment', 'web')),
        oldObject: replicaSetObject(name, NAMESPACE, from, LABELS, controllerRef('Deployment', 'web')),
      });

    it('find nothing in the steps up and down between counts above 0, nor in the last step of the old ReplicaSet to 0', async () => {
      for (const request of [step('web-new', 0, 1), step('web-old', 3, 2), step('web-new', 1, 3), step('web-old', 2, 1), step('web-old', 1, 0)]) {
        await assertNothingFound(midRollout(), request, `${request.name} ${JSON.stringify(request.oldObject?.spec)} -> ${JSON.stringify(request.object?.spec)}`);
      }
    });

    it("refuses a person taking the running ReplicaSet to 0, through the object or /scale, and finds nothing in a person's step above 0", async () => {
      for (const request of [step('web-old', 3, 0, 'alice'), scaleRequest(GVR.replicasets, 'web-old', 3, 0, { namespace: NAMESPACE })]) {
        const { own } = await judgedBoth(midRollout(), request);
        assert.deepEqual(findingsOf(own), ['scale-to-zero/scale-to-zero:deny']);
      }
      await assertNothingFound(midRollout(), step('web-old', 3, 1, 'alice'), 'a person scaling the ReplicaSet 3 -> 1');
      await assertNothingFound(midRollout(), scaleRequest(GVR.replicasets, 'web-old', 3, 1, { namespace: NAMESPACE }), 'a person scaling replicasets/web-old 3 -> 1');
    });
  });

  describe('the ledger of recent decisions never needs to see a scale above 0', () => {
    /** Service web backed by Deployments web-a and web-b, two ready pods each. */
    function twoBackends(): ClusterState {
      const cluster = new ClusterState();
      addDeploymentWithPods(cluster, 'web-a', NAMESPACE, 2, LABELS);
      addDeploymentWithPods(cluster, 'web-b', NAMESPACE, 2, LABELS);
      addService(cluster, 'web', NAMESPACE, LABELS, [...podNames('web-a', 2), ...podNames('web-b', 2)]);
      for (const store of cluster.allStores()) store.markSynced();
      return cluster;
    }
    const deps = (cluster: ClusterState): PipelineDeps => ({ evaluator, cluster, config: buildConfig(), authorizer: fakeAuthorizer(), now: () => NOW });
    const toScale = (name: string, from: number, to: number) => scaleRequest(GVR.deployments, name, from, to, { namespace: NAMESPACE });

    it('a scale back up from 0 leaves the ledger as it was, so leaving it out of levee changes no later decision', async () => {
      const answer = (d: PipelineDeps, request: AdmissionRequest) =>
        judgeAndRemember(d, request, 'validate', { answer: (j) => admissionResponse(request.uid, j, { route: 'validate' }), conflict: (m) => conflictRefusal(request.uid, m) });

      const seen = twoBackends();
      const unseen = twoBackends();
      for (const cluster of [seen, unseen]) assert.equal((await answer(deps(cluster), toScale('web-a', 2, 0))).response.allowed, true, 'web-b still backs the Service');
      // web-a is scaled back up at once: levee is asked in one cluster, not in the other.
      const generation = seen.recentDecisions.generation;
      const upAgain = await answer(deps(seen), toScale('web-a', 0, 2));
      assert.equal(upAgain.response.allowed, true);
      assert.deepEqual(upAgain.judgement.changes ?? [], []);
      assert.equal(seen.recentDecisions.generation, generation, 'nothing recorded');
      assert.deepEqual([...seen.recentDecisions.pending('workloads')], [...unseen.recentDecisions.pending('workloads')]);

      for (const cluster of [seen, unseen]) {
        // Before the watch shows web-a again, levee counts it on its way to 0: web-b is refused (the safe side).
        assert.equal((await answer(deps(cluster), toScale('web-b', 2, 0))).response.allowed, false);
        // The watch shows web-a at 0, then back at 2 with ready pods (the same endpoints): web-b may go.
        const atZero = toWorkloadView(workload('Deployment', 0, 'web-a'))!;
        cluster.workloads.upsert(workloadKey(atZero.ref), atZero);
        const backUp = toWorkloadView(workload('Deployment', 2, 'web-a'))!;
        cluster.workloads.upsert(workloadKey(backUp.ref), backUp);
        assert.equal(cluster.recentDecisions.size, 0, 'confirmed by the watch');
        assert.equal((await answer(deps(cluster), toScale('web-b', 2, 0))).response.allowed, true);
      }
    });
  });

  describe('kube-system (validate-kube-system.levee.dev, the warn-only route)', () => {
    it('finds nothing in a Deployment or StatefulSet scaled between counts above 0; a scale to 0 behind a Service is found', async () => {
      for (const kind of KINDS.slice(0, 2)) {
        for (const [from, to] of [[2, 5], [5, 1], [0, 2]] as const) {
          await assertNothingFound(backedBy(kind.kind, 'kube-system'), objectUpdate(kind, from, to, 'alice', 'kube-system'), `kube-system ${kind.kind} ${from} -> ${to}`);
        }
        const { own } = await judgedBoth(backedBy(kind.kind, 'kube-system'), objectUpdate(kind, 2, 0, 'alice', 'kube-system'));
        assert.ok(findingsOf(own).includes('scale-to-zero/scale-to-zero:deny'), `kube-system ${kind.kind} 2 -> 0: ${findingsOf(own).join(', ')}`);
      }
    });

    it('finds nothing in a kubectl scale of one between counts above 0; its kubectl scale to 0 is found, as its update to 0 is', async () => {
      for (const kind of KINDS.slice(0, 2)) {
        for (const [from, to] of [[2, 5], [5, 1], [0, 2]] as const) {
          await assertNothingFound(backedBy(kind.kind, 'kube-system'), scaleRequest(kind.gvr, 'web', from, to, { namespace: 'kube-system' }), `kube-system ${kind.kind}/scale ${from} -> ${to}`);
        }
        const { own } = await judgedBoth(backedBy(kind.kind, 'kube-system'), scaleRequest(kind.gvr, 'web', 2, 0, { namespace: 'kube-system' }));
        assert.ok(findingsOf(own).includes('scale-to-zero/scale-to-zero:deny'), `kube-system ${kind.kind}/scale 2 -> 0: ${findingsOf(own).join(', ')}`);
      }
    });
  });

  describe('spot-capacity and probe-gate', () => {
    it('find nothing in a critical workload pinned to spot scaled between counts above 0, and refuse it newly pinned', async () => {
      const pinned = (replicas: number, nodeSelector: Record<string, string>): KubeObject => {
        const object = workloadObject('web', { namespace: NAMESPACE, labels: { 'levee.dev/critical': 'true' }, podLabels: LABELS, nodeSelector });
        (object.spec as Record<string, unknown>).replicas = replicas;
        return object;
      };
      const spot = { 'karpenter.sh/capacity-type': 'spot' };
      const update = (from: KubeObject, to: KubeObject) =>
        admissionRequest({ kind: GVK.deployment, resource: GVR.deployments, operation: 'UPDATE', name: 'web', namespace: NAMESPACE, object: to, oldObject: from });
      for (const [from, to] of [[2, 5], [5, 1], [0, 3]] as const) {
        await assertNothingFound(backedBy('Deployment'), update(pinned(from, spot), pinned(to, spot)), `pinned ${from} -> ${to}`);
      }
      const { own } = await judgedBoth(backedBy('Deployment'), update(pinned(2, {}), pinned(2, spot)));
      assert.ok(findingsOf(own).some((finding) => finding.startsWith('spot-capacity/critical-pinned-to-spot:')), findingsOf(own).join(', '));
    });

    it('probe-gate refuses a pod template change while Unhealthy, so the scales above found nothing with the gate closed', async () => {
      const changed = workload('Deployment', 3);
      ((changed.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec.containers[0]!).image = 'registry.example/web:2.0';
      const request = admissionRequest({ kind: GVK.deployment, resource: GVR.deployments, operation: 'UPDATE', name: 'web', namespace: NAMESPACE, object: changed, oldObject: workload('Deployment', 3) });
      const { eager: eagerJudgement } = await judgedBoth(backedBy('Deployment'), request);
      assert.ok(findingsOf(eagerJudgement).includes('probe-gate/cluster-unhealthy:deny'), findingsOf(eagerJudgement).join(', '));
    });
  });
});
