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

  it('spreads every kind that scales, critical in every way the configuration allows (each one reaches /mutate: test/policies/webhook-match-conditions)', () => {
    const custom = buildConfig({
      policies: { 'spot-capacity': { critical: { labels: { 'tier.example.com/class': 'gold' }, namespaces: ['ledger-prod'], priorityClassNames: ['business-critical'] } } },
    });
    const ways: Array<{ what: string; options: WorkloadOptions; config: LeveeConfig }> = [
      { what: 'its own label', options: critical, config: buildConfig() },
      { what: 'its pods\' label only', options: { podLabels: { app: 'ledger', 'levee.dev/critical': 'true' } }, config: buildConfig() },
      { what: 'a default priority class', options: { priorityClassName: 'system-cluster-critical' }, config: buildConfig() },
      { what: 'a configured label', options: { labels: { 'tier.example.com/class': 'gold' } }, config: custom },
      { what: 'a configured label on its pods', options: { podLabels: { app: 'ledger', 'tier.example.com/class': 'gold' } }, config: custom },
      { what: 'a configured namespace', options: { namespace: 'ledger-prod' }, config: custom },
      { what: 'a configured priority class', options: { priorityClassName: 'business-critical' }, config: custom },
    ];
    const kinds = [
      { kind: DEPLOYMENT, apiVersion: 'apps/v1' },
      { kind: { ...DEPLOYMENT, kind: 'StatefulSet', resource: 'statefulsets' }, apiVersion: 'apps/v1' },
      { kind: { ...DEPLOYMENT, kind: 'ReplicaSet', resource: 'replicasets' }, apiVersion: 'apps/v1' },
      { kind: { group: '', version: 'v1', kind: 'ReplicationController', resource: 'replicationcontrollers' }, apiVersion: 'v1' },
    ];
    for (const { kind, apiVersion } of kinds) {
      for (const { what, options, config } of ways) {
        const object = { ...workloadObject('ledger', options), apiVersion, kind: kind.kind };
        const created = mutated(request(kind, 'CREATE', object, null), config);
        assert.equal((spread(created) as unknown[] | undefined)?.length, 1, `${kind.kind} critical by ${what}, created`);
        const rolled = { ...workloadObject('ledger', { ...options, image: 'registry.example/ledger:2.0' }), apiVersion, kind: kind.kind };
        const updated = mutated(request(kind, 'UPDATE', rolled, object), config);
        assert.equal((spread(updated) as unknown[] | undefined)?.length, 1, `${kind.kind} critical by ${what}, new pod template`);
      }
    }
  });

  describe('cases the /mutate condition must let through (each is rendered and checked by test/policies/webhook-match-conditions)', () => {
    const spreadCount = (object: KubeObject): number | undefined => (spread(object) as unknown[] | undefined)?.length;

    it('an owner that is not a controller (controller: false, or not said) leaves the workload the user\'s', () => {
      for (const reference of [{ controller: false }, {}]) {
        const object = workloadObject('ledger', critical);
        object.metadata!.ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: 'uid-owner', ...reference }];
        assert.equal(spreadCount(mutated(request(DEPLOYMENT, 'CREATE', object, null))), 1, JSON.stringify(reference));
      }
    });

    it('a critical label added in the same update as a new image; the label alone adds nothing', () => {
      const before = workloadObject('ledger');
      assert.equal(spreadCount(mutated(request(DEPLOYMENT, 'UPDATE', workloadObject('ledger', { ...critical, image: 'registry.example/ledger:2.0' }), before))), 1);
      const labelled = workloadObject('ledger', critical);
      assert.deepEqual(mutated(request(DEPLOYMENT, 'UPDATE', labelled, before)), labelled);
    });

    it('a restart (kubectl rollout restart stamps an annotation on the pod template) starts a rollout anyway: spread', () => {
      const before = workloadObject('ledger', critical);
      const restarted = structuredClone(before);
      (restarted.spec as { template: { metadata: Record<string, unknown> } }).template.metadata.annotations = { 'kubectl.kubernetes.io/restartedAt': '2026-11-30T17:00:00Z' };
      assert.equal(spreadCount(mutated(request(DEPLOYMENT, 'UPDATE', restarted, before))), 1);
    });

    it('configured spellings: quotes, backslashes, unicode, dots and slashes, an empty value, empty and repeated names', () => {
      const odd = { 'a"b\\c': 'ü😀', 'tier.example.com/x_y-z.1': '', 'svc.example.com/\u2028': '\\"' };
      // Past the configuration's own check (which refuses the keys no cluster can hold): the match is exact whatever it is given.
      const defaults = buildConfig();
      const spotCapacity = defaults.policies['spot-capacity'];
      const critical = { labels: odd, namespaces: ['', 'ledger-prod', 'ledger-prod'], priorityClassNames: ['', 'gold', 'gold'] };
      const config = { ...defaults, policies: { ...defaults.policies, 'spot-capacity': { ...spotCapacity, critical } } };
      const ways: Array<[string, WorkloadOptions]> = [
        ...Object.entries(odd).flatMap(([key, value]): Array<[string, WorkloadOptions]> => [
          [`label ${JSON.stringify(key)}=${JSON.stringify(value)}`, { labels: { [key]: value } }],
          [`pod label ${JSON.stringify(key)}=${JSON.stringify(value)}`, { podLabels: { app: 'ledger', [key]: value } }],
        ]),
        ['a repeated namespace', { namespace: 'ledger-prod' }],
        ['a repeated priority class', { priorityClassName: 'gold' }],
      ];
      for (const [what, options] of ways) {
        assert.equal(spreadCount(mutated(request(DEPLOYMENT, 'CREATE', workloadObject('ledger', options), null), config)), 1, what);
      }
      // Near misses are not critical: the value compared exactly, an empty value only where the label is there.
      for (const options of <WorkloadOptions[]>[{ labels: { 'a"b\\c': 'ü' } }, { labels: { 'tier.example.com/x_y-z.1': 'x' } }, { labels: { 'a"b\\': 'ü😀' } }]) {
        const admission = request(DEPLOYMENT, 'CREATE', workloadObject('ledger', options), null);
        assert.deepEqual(mutated(admission, config), admission.object, JSON.stringify(options));
      }
    });

    it('a configuration that names 500 critical labels, the last one on the workload', () => {
      const labels = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`example.com/l${String(i).padStart(5, '0')}`, 'true']));
      const config = buildConfig({ policies: { 'spot-capacity': { critical: { labels } } } });
      const object = workloadObject('ledger', { podLabels: { app: 'ledger', 'example.com/l00499': 'true' } });
      assert.equal(spreadCount(mutated(request(DEPLOYMENT, 'CREATE', object, null), config)), 1);
    });

    it('a configuration that names 3,000 critical namespaces, the workload in the last', () => {
      const namespaces = Array.from({ length: 3000 }, (_, i) => `team-${String(i).padStart(5, '0')}`);
      const config = buildConfig({ policies: { 'spot-capacity': { critical: { namespaces } } } });
      const object = workloadObject('ledger', { namespace: 'team-02999' });
      assert.equal(spreadCount(mutated(request(DEPLOYMENT, 'CREATE', object, null), config)), 1);
    });
  });

  it('asks what probe-gate asks of a rollout: a template differing only in what the cluster adds (pod-template-hash, a null creationTimestamp) is not new', () => {
    const replicaSet = { ...DEPLOYMENT, kind: 'ReplicaSet', resource: 'replicasets' };
    const before = workloadObject('ledger', { ...critical, kind: 'ReplicaSet' });
    const after = structuredClone(before);
    const metadata = (after.spec as { template: { metadata: Record<string, unknown> & { labels: Record<string, string> } } }).template.metadata;
    metadata.labels['pod-template-hash'] = '5d8f7c';
    metadata.creationTimestamp = null;
    assert.deepEqual(mutated(request(replicaSet, 'UPDATE', after, before)), after);
  });

  it('leaves subresource writes and deletes of a critical workload alone (/mutate never patches those)', () => {
    const object = workloadObject('ledger', critical);
    const older = workloadObject('ledger', { ...critical, image: 'registry.example/ledger:0.9' });
    for (const admission of [request(DEPLOYMENT, 'UPDATE', object, older, { subResource: 'status' }), request(DEPLOYMENT, 'UPDATE', object, older, { subResource: 'scale' })]) {
      assert.deepEqual(mutated(admission), admission.object, `UPDATE ${admission.subResource}`);
    }
    const copy = structuredClone(object);
    mutateWith(spotCapacitySpread, { request: request(DEPLOYMENT, 'DELETE', null, object), cluster: new ClusterState(), config: buildConfig(), now: new Date(0), copy });
    assert.deepEqual(copy, object, 'DELETE');
  });

  it('leaves a workload critical only by another configuration alone', () => {
    const admission = request(DEPLOYMENT, 'CREATE', workloadObject('ledger', { namespace: 'ledger-prod', priorityClassName: 'business-critical' }), null);
    assert.deepEqual(mutated(admission), admission.object);
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
