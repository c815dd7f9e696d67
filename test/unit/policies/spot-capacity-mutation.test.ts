import assert from 'node:assert/strict';
import type { AdmissionRequest, KubeObject } from '../../../src/kube/types.js';
import { ClusterState } from '../../../src/cluster/state.js';
import { buildConfig, type LeveeConfig } from '../../../src/config.js';
import { admissionResponse } from '../../../src/admission/response.js';
import type { AdmissionResponse } from '../../../src/admission/types.js';
import type { PipelineDeps } from '../../../src/engine/pipeline.js';
import { spotCapacitySpread } from '../../../src/policies/spot-capacity-mutation.js';
import { shippedEvaluator } from '../../support/bundle.js';
import { capacityRequirement, DEPLOYMENT, request, requiredAffinity, workloadObject, type WorkloadOptions } from '../../support/fleet.js';
import { judge, mutateWith } from '../../support/review-corpus.js';

const critical: WorkloadOptions = { labels: { 'levee.dev/critical': 'true' } };

function mutated(admission: AdmissionRequest, config: LeveeConfig = buildConfig()): KubeObject {
  const copy = structuredClone(admission.object!);
  mutateWith(spotCapacitySpread, { request: admission, cluster: new ClusterState(), config, now: new Date(0), copy });
  return copy;
}

/** What /mutate answers: the judgement, and the AdmissionResponse built from it. */
async function answer(deps: PipelineDeps, admission: AdmissionRequest): Promise<{ response: AdmissionResponse }> {
  return { response: admissionResponse(admission.uid, await judge(deps, admission, 'mutate'), { route: 'mutate' }) };
}

function spread(object: KubeObject): unknown {
  return (object.spec as { template: { spec: { topologySpreadConstraints?: unknown } } }).template.spec.topologySpreadConstraints;
}

describe('policies/spot-capacity mutation', () => {
  it('adds a preferred spread across capacity types to a critical workload that has none', () => {
    const object = mutated(request(DEPLOYMENT, 'CREATE', workloadObject('ledger', critical), null));
    assert.deepEqual(spread(object), [
      { maxSkew: 1, topologyKey: 'karpenter.sh/capacity-type', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'ledger' } } },
    ]);
  });

  it('keeps the spread constraints the user wrote and appends', () => {
    const zone = { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'ledger' } } };
    const object = mutated(request(DEPLOYMENT, 'CREATE', workloadObject('ledger', { ...critical, topologySpreadConstraints: [zone] }), null));
    const constraints = spread(object) as Array<{ topologyKey: string }>;
    assert.deepEqual(constraints[0], zone);
    assert.deepEqual(constraints.map((constraint) => constraint.topologyKey), ['topology.kubernetes.io/zone', 'karpenter.sh/capacity-type']);
  });

  it('never overrides a placement that already speaks of capacity type', () => {
    const placements: WorkloadOptions[] = [
      { nodeSelector: { 'eks.amazonaws.com/capacityType': 'ON_DEMAND' } },
      { affinity: requiredAffinity([capacityRequirement('In', ['spot', 'on-demand'])]) },
      { topologySpreadConstraints: [{ maxSkew: 2, topologyKey: 'karpenter.sh/capacity-type', whenUnsatisfiable: 'DoNotSchedule' }] },
    ];
    for (const placement of placements) {
      const admission = request(DEPLOYMENT, 'CREATE', workloadObject('ledger', { ...critical, ...placement }), null);
      assert.deepEqual(mutated(admission), admission.object, JSON.stringify(placement));
    }
  });

  it('leaves workloads that are not critical, DaemonSets and controller-made objects alone', () => {
    for (const admission of [
      request(DEPLOYMENT, 'CREATE', workloadObject('batch'), null),
      request({ ...DEPLOYMENT, kind: 'DaemonSet', resource: 'daemonsets' }, 'CREATE', workloadObject('agent', { ...critical, kind: 'DaemonSet' }), null),
      request({ ...DEPLOYMENT, kind: 'ReplicaSet', resource: 'replicasets' }, 'CREATE', workloadObject('ledger-abc', { ...critical, kind: 'ReplicaSet', controller: true }), null),
    ]) {
      assert.deepEqual(mutated(admission), admission.object);
    }
  });

  it('does not start a rollout: an update that leaves the pod template alone is left alone', () => {
    const before = workloadObject('ledger', critical);
    const scaled = structuredClone(before);
    (scaled.spec as { replicas: number }).replicas = 6;
    assert.deepEqual(mutated(request(DEPLOYMENT, 'UPDATE', scaled, before)), scaled);
    const rolled = workloadObject('ledger', { ...critical, image: 'registry.example/ledger:2.0' });
    assert.equal((spread(mutated(request(DEPLOYMENT, 'UPDATE', rolled, before))) as unknown[]).length, 1);
  });

  it('can be turned off', () => {
    const off = buildConfig({ policies: { 'spot-capacity': { spread: { enabled: false } } } });
    const admission = request(DEPLOYMENT, 'CREATE', workloadObject('ledger', critical), null);
    assert.deepEqual(mutated(admission, off), admission.object);
  });

  it('reaches the API server as a JSON Patch from /mutate, and not for an exempt namespace', async () => {
    const evaluator = await shippedEvaluator();
    const deps = (config: LeveeConfig) => ({
      evaluator,
      cluster: new ClusterState(),
      config,
      authorizer: { mayOverride: async () => ({ allowed: false }) },
      now: () => new Date(0),
    });
    const admission = request(DEPLOYMENT, 'CREATE', workloadObject('ledger', critical), null);
    const judged = await answer(deps(buildConfig()), admission);
    assert.equal(judged.response.allowed, true);
    assert.equal(judged.response.patchType, 'JSONPatch');
    const patch = JSON.parse(Buffer.from(judged.response.patch!, 'base64').toString('utf8')) as Array<{ op: string; path: string }>;
    assert.deepEqual(patch.map((operation) => `${operation.op} ${operation.path}`), ['add /spec/template/spec/topologySpreadConstraints']);

    const exempt = buildConfig({ policies: { 'spot-capacity': { exempt: { namespaces: ['payments'] } } } });
    const untouched = await answer(deps(exempt), admission);
    assert.equal(untouched.response.patch, undefined);
  });
});
