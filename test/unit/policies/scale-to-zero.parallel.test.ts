import assert from 'node:assert/strict';
import { admissionResponse, conflictRefusal } from '../../../src/admission/response.js';
import { offlineAuthorizer } from '../../../src/cluster/authorizer.js';
import { DEFAULT_CLUSTER_OPTIONS, type ClusterOptions } from '../../../src/cluster/options.js';
import { ClusterState } from '../../../src/cluster/state.js';
import { toPodView, toWorkloadView } from '../../../src/cluster/views.js';
import { buildConfig } from '../../../src/config.js';
import { readBundle } from '../../../src/engine/bundle.js';
import { PolicyEvaluator } from '../../../src/engine/evaluator.js';
import type { Evaluator, PipelineDeps } from '../../../src/engine/pipeline.js';
import { judgeAndRemember } from '../../../src/engine/remember.js';
import type { AdmissionRequest } from '../../../src/kube/types.js';
import { workloadKey } from '../../../src/kube/workload.js';
import { BUNDLE_PATH } from '../../support/bundle.js';
import { addDeploymentWithPods, addService, podNames } from '../../support/cluster.js';
import { admissionRequest, GVK, GVR, scaleRequest } from '../../support/requests.js';
import { deploymentObject } from '../../support/reviews.js';

/**
 * Issue 12 item 4 (scale-to-zero's half): two backends of one Service scaled to zero in
 * parallel. Each decision reads the same cached endpoints; the ledger of recent decisions
 * makes the second see the first before the watch does.
 */

const labels = { app: 'web' };

/** Service `web` backed by Deployments `web-a` and `web-b`, two ready pods each. */
function twoBackends(options: ClusterOptions = DEFAULT_CLUSTER_OPTIONS): ClusterState {
  const cluster = new ClusterState(options);
  addDeploymentWithPods(cluster, 'web-a', 'default', 2, labels);
  addDeploymentWithPods(cluster, 'web-b', 'default', 2, labels);
  addService(cluster, 'web', 'default', labels, [...podNames('web-a', 2), ...podNames('web-b', 2)]);
  for (const store of cluster.allStores()) store.markSynced();
  return cluster;
}

function toZero(name: string, extra: { dryRun?: boolean; subResource?: 'scale'; operation?: 'DELETE' } = {}): AdmissionRequest {
  const before = deploymentObject(name, 'default', 2, labels);
  if (extra.operation === 'DELETE') {
    return admissionRequest({ kind: GVK.deployment, resource: GVR.deployments, operation: 'DELETE', name, oldObject: before, ...(extra.dryRun ? { dryRun: true } : {}) });
  }
  if (extra.subResource === 'scale') {
    return scaleRequest(GVR.deployments, name, 2, 0, { ...(extra.dryRun ? { dryRun: true } : {}) });
  }
  return admissionRequest({
    kind: GVK.deployment,
    resource: GVR.deployments,
    operation: 'UPDATE',
    name,
    object: deploymentObject(name, 'default', 0, labels),
    oldObject: before,
    ...(extra.dryRun ? { dryRun: true } : {}),
  });
}

/** The shipped bundle, answering after a pause: the moment where other requests are judged. */
function slow(evaluator: PolicyEvaluator): Evaluator {
  return {
    evaluate: async (input) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return evaluator.evaluate(input);
    },
  };
}

describe('policies/scale-to-zero: decisions taken at the same moment', () => {
  let evaluator: PolicyEvaluator;
  before(async () => {
    evaluator = await PolicyEvaluator.load(readBundle(BUNDLE_PATH), { config: { policies: buildConfig().policies } });
  });

  function deps(cluster: ClusterState, evaluate: Evaluator = evaluator): PipelineDeps {
    return { evaluator: evaluate, cluster, config: buildConfig(), authorizer: offlineAuthorizer, now: () => new Date('2026-11-30T00:00:00Z') };
  }

  const answer = (d: PipelineDeps, request: AdmissionRequest) =>
    judgeAndRemember(d, request, 'validate', {
      answer: (judgement) => admissionResponse(request.uid, judgement, { route: 'validate' }),
      conflict: (message) => conflictRefusal(request.uid, message),
    });

  it('two backends scaled to zero at once: one goes, the other is refused', async () => {
    for (const subResource of [undefined, 'scale'] as const) {
      const cluster = twoBackends();
      const d = deps(cluster, slow(evaluator));
      const answers = await Promise.all(['web-a', 'web-b'].map((name) => answer(d, toZero(name, subResource ? { subResource } : {}))));
      assert.equal(answers.filter((answered) => answered.response.allowed).length, 1, `through ${subResource ?? 'the Deployment'}`);
      const refused = answers.find((answered) => !answered.response.allowed)!;
      assert.match(refused.response.status?.message ?? '', /would leave Service web in namespace default with no endpoints/);
    }
  });

  it('one after the other, the second is refused before the watch shows the first, and after', async () => {
    const cluster = twoBackends();
    const d = deps(cluster);
    assert.equal((await answer(d, toZero('web-a'))).response.allowed, true);
    assert.deepEqual([...cluster.recentDecisions.pending('workloads').entries()], [[workloadKey({ kind: 'Deployment', namespace: 'default', name: 'web-a' }), { replicas: 0 }]]);
    assert.equal((await answer(d, toZero('web-b'))).response.allowed, false, 'the ledger counts web-a at zero');
    // The watch shows web-a at zero (its endpoints still read ready while its pods terminate).
    const atZero = toWorkloadView(deploymentObject('web-a', 'default', 0, labels))!;
    cluster.workloads.upsert(workloadKey(atZero.ref), atZero);
    assert.equal(cluster.recentDecisions.size, 0, 'confirmed by the watch');
    assert.equal((await answer(d, toZero('web-b'))).response.allowed, false, 'the cache counts web-a at zero');
  });

  it('a deletion and a scale to zero count each other too', async () => {
    const cluster = twoBackends();
    const d = deps(cluster);
    const deletion = await answer(d, toZero('web-a', { operation: 'DELETE' }));
    assert.equal(deletion.response.allowed, true);
    assert.equal(deletion.response.warnings, undefined, 'web-b still backs the Service');
    assert.equal((await answer(d, toZero('web-b'))).response.allowed, false, 'web-a is counted gone before the watch shows it');

    const parallel = twoBackends();
    const [deleted, scaled] = await Promise.all([answer(deps(parallel, slow(evaluator)), toZero('web-a', { operation: 'DELETE' })), answer(deps(parallel, slow(evaluator)), toZero('web-b'))]);
    // Whichever is decided second sees the first: the scale is refused, or the deletion warns
    // that it deletes the last backend (last-backend-deleted warns by default).
    assert.ok(!scaled!.response.allowed || (deleted!.response.warnings ?? []).some((warning) => /leaves Service web/.test(warning)), JSON.stringify([deleted, scaled].map((a) => a!.response)));
  });

  it('a node drained at once: of two bare pods behind one Service, evicted or deleted in parallel, whichever is judged second warns', async () => {
    const barePods = () => {
      const cluster = new ClusterState();
      for (const name of ['solo-a', 'solo-b']) cluster.pods.upsert(`default/${name}`, toPodView({ kind: 'Pod', metadata: { name, namespace: 'default', labels } }));
      addService(cluster, 'web', 'default', labels, ['solo-a', 'solo-b']);
      for (const store of cluster.allStores()) store.markSynced();
      return cluster;
    };
    const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels } });
    const removal = {
      evict: (name: string) =>
        admissionRequest({ kind: { group: 'policy', version: 'v1', kind: 'Eviction' }, resource: GVR.pods, subResource: 'eviction', operation: 'CREATE', name, object: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: 'default' } } }),
      delete: (name: string) => admissionRequest({ kind: GVK.pod, resource: GVR.pods, operation: 'DELETE', name, oldObject: pod(name) }),
    };
    const warned = (answered: Awaited<ReturnType<typeof answer>>) => (answered.response.warnings ?? []).some((warning) => /leaves Service web in namespace default with no endpoints/.test(warning));
    for (const [how, request] of Object.entries(removal)) {
      const cluster = barePods();
      const answers = await Promise.all(['solo-a', 'solo-b'].map((name) => answer(deps(cluster, slow(evaluator)), request(name))));
      assert.ok(answers.every((answered) => answered.response.allowed), how);
      assert.equal(answers.filter(warned).length, 1, `${how}: ${JSON.stringify(answers.map((answered) => answered.response))}`);
      // One after the other, and the first's pod gone from the cache: the second still warns, the watch having confirmed it.
      const sequential = barePods();
      assert.equal(warned(await answer(deps(sequential), request('solo-a'))), false, how);
      assert.deepEqual([...sequential.recentDecisions.pending('pods').entries()], [['default/solo-a', null]], how);
      sequential.pods.remove('default/solo-a');
      assert.equal(sequential.recentDecisions.size, 0, `${how}: confirmed by the watch`);
    }
    // A delete and an eviction of the two at once count each other the same way.
    const mixed = barePods();
    const both = await Promise.all([answer(deps(mixed, slow(evaluator)), removal.delete('solo-a')), answer(deps(mixed, slow(evaluator)), removal.evict('solo-b'))]);
    assert.equal(both.filter(warned).length, 1, JSON.stringify(both.map((answered) => answered.response)));
    // A dry-run eviction is remembered by nobody.
    const dry = barePods();
    assert.equal(warned(await answer(deps(dry), { ...removal.evict('solo-a'), dryRun: true })), false);
    assert.equal(warned(await answer(deps(dry), removal.evict('solo-b'))), false, 'the dry-run of solo-a counts for nothing');
  });

  it('a dry-run and a refusal leave nothing behind', async () => {
    const cluster = twoBackends();
    const d = deps(cluster);
    assert.equal((await answer(d, toZero('web-a', { dryRun: true }))).response.allowed, true);
    assert.equal(cluster.recentDecisions.size, 0);
    assert.equal((await answer(d, toZero('web-b', { dryRun: true }))).response.allowed, true, 'the dry-run of web-a counts for nothing');
    assert.equal((await answer(d, toZero('web-a'))).response.allowed, true);
    assert.equal((await answer(d, toZero('web-b'))).response.allowed, false);
    assert.equal(cluster.recentDecisions.size, 1, 'the refused scale of web-b is not remembered');
  });

  it('a change that expired without the watch showing it (the API server did not make it) counts no more', async () => {
    let clock = 0;
    const cluster = twoBackends({ ...DEFAULT_CLUSTER_OPTIONS, recentDecisions: { expiryMs: 30_000, maxEntries: 100, clock: () => clock } });
    const d = deps(cluster);
    assert.equal((await answer(d, toZero('web-a'))).response.allowed, true);
    assert.equal((await answer(d, toZero('web-b'))).response.allowed, false);
    clock += 30_001;
    assert.equal((await answer(d, toZero('web-b'))).response.allowed, true);
  });
});
