import assert from 'node:assert/strict';
import { admissionResponse, conflictRefusal } from '../../../src/admission/response.js';
import { offlineAuthorizer } from '../../../src/cluster/authorizer.js';
import { ClusterState } from '../../../src/cluster/state.js';
import { buildConfig } from '../../../src/config.js';
import { readBundle } from '../../../src/engine/bundle.js';
import { PolicyEvaluator } from '../../../src/engine/evaluator.js';
import type { Evaluator, PipelineDeps, Route } from '../../../src/engine/pipeline.js';
import { judgeAndRemember, MAX_ATTEMPTS } from '../../../src/engine/remember.js';
import type { AdmissionRequest } from '../../../src/kube/types.js';
import { BUNDLE_PATH } from '../../support/bundle.js';
import { NODE, nodeObject, request } from '../../support/fleet.js';

/** The local cluster's shape: 5 on-demand nodes, 4 spot; the floor is 2. */
function nineNodes(): ClusterState {
  const cluster = new ClusterState();
  for (let i = 1; i <= 5; i++) cluster.nodes.upsert(...cluster.nodes.project(nodeObject(`ondemand-${i}`, { pool: 'on-demand-a' })));
  for (let i = 1; i <= 4; i++) cluster.nodes.upsert(...cluster.nodes.project(nodeObject(`spot-${i}`, { capacity: 'spot', pool: 'spot-a' })));
  return cluster;
}

function cordon(name: string, extra: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return request(NODE, 'UPDATE', nodeObject(name, { pool: 'on-demand-a', unschedulable: true }), nodeObject(name, { pool: 'on-demand-a' }), { uid: `uid-${name}`, ...extra });
}

/** The shipped bundle, answering only after a pause: the moment where, on a busy server, other requests are judged. */
function slow(evaluator: PolicyEvaluator, onEvaluate: () => void = () => undefined): Evaluator {
  return {
    evaluate: async (input) => {
      onEvaluate();
      await new Promise((resolve) => setTimeout(resolve, 5));
      return evaluator.evaluate(input);
    },
  };
}

describe('engine/remember', () => {
  let evaluator: PolicyEvaluator;
  before(async () => {
    evaluator = await PolicyEvaluator.load(readBundle(BUNDLE_PATH), { config: { policies: buildConfig().policies } });
  });

  function deps(cluster: ClusterState, evaluate: Evaluator = evaluator): PipelineDeps {
    return { evaluator: evaluate, cluster, config: buildConfig(), authorizer: offlineAuthorizer, now: () => new Date('2026-11-30T00:00:00Z') };
  }

  const answer = (d: PipelineDeps, admission: AdmissionRequest, route: Route = 'validate') =>
    judgeAndRemember(d, admission, route, {
      answer: (judgement) => admissionResponse(admission.uid, judgement, { route }),
      conflict: (message) => conflictRefusal(admission.uid, message),
    });

  it('remembers the change of an allowed cordon, and the next cordon counts it before the watch shows it', async () => {
    const cluster = nineNodes();
    const d = deps(cluster);
    for (const name of ['ondemand-1', 'ondemand-2', 'ondemand-3']) assert.equal((await answer(d, cordon(name))).response.allowed, true, name);
    assert.deepEqual([...cluster.recentDecisions.pending('nodes').keys()], ['ondemand-1', 'ondemand-2', 'ondemand-3']);
    const fourth = await answer(d, cordon('ondemand-4'));
    assert.equal(fourth.response.allowed, false);
    assert.match(fourth.response.status?.message ?? '', /cordoning on-demand node ondemand-4 would leave 1 schedulable on-demand node\(s\), below the minimum of 2/);
    assert.equal(cluster.recentDecisions.pending('nodes').has('ondemand-4'), false, 'a refusal is never remembered');
  });

  it('once the watch shows a cordon, it is counted once, from the cache', async () => {
    const cluster = nineNodes();
    const d = deps(cluster);
    assert.equal((await answer(d, cordon('ondemand-1'))).response.allowed, true);
    cluster.nodes.upsert(...cluster.nodes.project(nodeObject('ondemand-1', { pool: 'on-demand-a', unschedulable: true })));
    assert.equal(cluster.recentDecisions.size, 0);
    assert.equal((await answer(d, cordon('ondemand-2'))).response.allowed, true);
    assert.equal((await answer(d, cordon('ondemand-3'))).response.allowed, true);
    assert.equal((await answer(d, cordon('ondemand-4'))).response.allowed, false);
  });

  it('cordoning the same node twice counts it once', async () => {
    const cluster = nineNodes();
    const d = deps(cluster);
    for (let i = 0; i < 3; i++) assert.equal((await answer(d, cordon('ondemand-1'))).response.allowed, true);
    assert.equal((await answer(d, cordon('ondemand-2'))).response.allowed, true);
    assert.equal((await answer(d, cordon('ondemand-3'))).response.allowed, true);
  });

  it('a dry-run gets the same answer and leaves nothing behind', async () => {
    const cluster = nineNodes();
    const d = deps(cluster);
    for (let i = 0; i < 5; i++) assert.equal((await answer(d, cordon('ondemand-1', { dryRun: true }))).response.allowed, true);
    assert.equal(cluster.recentDecisions.size, 0);
    for (const name of ['ondemand-1', 'ondemand-2', 'ondemand-3']) await answer(d, cordon(name));
    const dryRun = await answer(d, cordon('ondemand-4', { dryRun: true }));
    assert.equal(dryRun.response.allowed, false);
  });

  it('/mutate never remembers (the same request reaches /validate)', async () => {
    const cluster = nineNodes();
    await answer(deps(cluster), cordon('ondemand-1'), 'mutate');
    assert.equal(cluster.recentDecisions.size, 0);
  });

  it('a cordon of a spot node, or one that changes nothing, is not a change to remember', async () => {
    const cluster = nineNodes();
    const d = deps(cluster);
    const spot = request(NODE, 'UPDATE', nodeObject('spot-1', { capacity: 'spot', unschedulable: true }), nodeObject('spot-1', { capacity: 'spot' }));
    const relabel = request(NODE, 'UPDATE', nodeObject('ondemand-1', { labels: { team: 'a' } }), nodeObject('ondemand-1'));
    for (const admission of [spot, relabel]) assert.equal((await answer(d, admission)).response.allowed, true);
    assert.equal(cluster.recentDecisions.size, 0);
  });

  it('five cordons sent at once: exactly the three the floor allows go through', async () => {
    const cluster = nineNodes();
    const d = deps(cluster, slow(evaluator));
    const answers = await Promise.all([1, 2, 3, 4, 5].map((i) => answer(d, cordon(`ondemand-${i}`))));
    assert.equal(answers.filter((answered) => answered.response.allowed).length, 3);
    assert.equal(cluster.recentDecisions.size, 3);
    for (const refused of answers.filter((answered) => !answered.response.allowed)) {
      assert.match(refused.response.status?.message ?? '', /would leave 1 schedulable on-demand node\(s\), below the minimum of 2/);
    }
  });

  it('gives up with a conflict, never an allow, when other changes keep landing while it judges', async () => {
    const cluster = nineNodes();
    let other = 0;
    const busy = slow(evaluator, () => cluster.recentDecisions.record([{ store: 'nodes', key: `elsewhere-${other++}`, after: null }]));
    const answered = await answer(deps(cluster, busy), cordon('ondemand-1'));
    assert.equal(answered.response.allowed, false);
    assert.equal(answered.response.status?.code, 409);
    assert.match(answered.response.status?.message ?? '', /other changes to the same counts were allowed while it was being judged; send it again/);
    assert.equal(other, MAX_ATTEMPTS);
    assert.equal(cluster.recentDecisions.pending('nodes').has('ondemand-1'), false);
  });
});
