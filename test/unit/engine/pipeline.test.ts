import assert from 'node:assert/strict';
import { buildConfig, type LeveeConfig } from '../../../src/config.js';
import type { PolicyEvaluator } from '../../../src/engine/evaluator.js';
import type { OverrideAuthorizer } from '../../../src/engine/overrides.js';
import type { Judgement, PipelineDeps } from '../../../src/engine/pipeline.js';
import type { ClusterState } from '../../../src/cluster/state.js';
import { answer, ledgerRequest, loadEvaluator, monzoCluster, overrideAnnotations, pipelineDeps } from '../../support/pipeline.js';
import { addService } from '../../support/cluster.js';
import { toPodView } from '../../../src/cluster/views.js';
import type { CurrentVerdict } from '../../../src/probe-verdict.js';
import { admissionRequest, GVK, GVR, hpaObject, requestOf } from '../../support/requests.js';
import { scaleReview } from '../../support/reviews.js';

function scaleToZeroFindings(judgement: Judgement): string[] {
  return (judgement.decision?.findings ?? []).filter((finding) => finding.policy === 'scale-to-zero').map((finding) => finding.rule);
}

describe('engine/pipeline', () => {
  let evaluator: PolicyEvaluator;
  before(async () => {
    evaluator = await loadEvaluator();
  });

  function deps(options: { config?: LeveeConfig; cluster?: ClusterState; authorizer?: OverrideAuthorizer } = {}): PipelineDeps {
    return pipelineDeps(evaluator, options);
  }

  describe('/validate', () => {
    it('denies a scale to zero that leaves a Service without endpoints, naming the Service', async () => {
      const judgement = await answer(deps(), ledgerRequest({ replicas: 0 }), 'validate');
      assert.equal(judgement.response.uid, 'uid-1');
      assert.equal(judgement.response.allowed, false);
      assert.equal(judgement.response.status?.code, 403);
      assert.match(judgement.response.status?.message ?? '', /\[scale-to-zero\] scaling Deployment\/ledger to 0 replicas would leave Service ledger in namespace payments/);
      assert.doesNotMatch(judgement.response.status?.message ?? '', /ledger-all/);
      assert.ok(judgement.judged.includes('scale-to-zero'));
      assert.deepEqual(scaleToZeroFindings(judgement), ['scale-to-zero']);
      assert.equal(judgement.error, undefined);
    });

    it('denies the same scale to zero through the scale subresource', async () => {
      const request = requestOf(scaleReview({ name: 'ledger', namespace: 'payments', replicas: 0, oldReplicas: 3 }));
      const judgement = await answer(deps(), request, 'validate');
      assert.equal(judgement.response.allowed, false);
      assert.match(judgement.response.status?.message ?? '', /Service ledger in namespace payments/);
    });

    it('allows a scale to 1', async () => {
      const judgement = await answer(deps(), ledgerRequest({ replicas: 1 }), 'validate');
      assert.equal(judgement.response.allowed, true);
      assert.equal(judgement.response.status, undefined);
      assert.ok(judgement.judged.includes('scale-to-zero'));
      assert.deepEqual(scaleToZeroFindings(judgement), []);
    });

    it('allows the scale to zero in an exempt namespace without judging it', async () => {
      const judgement = await answer(deps({ config: buildConfig({ exempt: { namespaces: ['payments'] } }) }), ledgerRequest({ replicas: 0 }), 'validate');
      assert.deepEqual(judgement.response, { uid: 'uid-1', allowed: true });
      assert.deepEqual(judgement.judged, []);
    });

    it('allows the scale to zero for a user exempt from scale-to-zero only', async () => {
      const config = buildConfig({ policies: { 'scale-to-zero': { exempt: { users: ['oncall'] } } } });
      const exempt = await answer(deps({ config }), ledgerRequest({ replicas: 0, username: 'oncall' }), 'validate');
      const judged = await answer(deps({ config }), ledgerRequest({ replicas: 0, username: 'alice' }), 'validate');
      assert.equal(exempt.response.allowed, true);
      assert.equal(exempt.judged.includes('scale-to-zero'), false);
      assert.equal(judged.response.allowed, false);
    });

    it('warns, and allows, when scale-to-zero is set to warn', async () => {
      const config = buildConfig({ policies: { 'scale-to-zero': { action: 'warn' } } });
      const judgement = await answer(deps({ config }), ledgerRequest({ replicas: 0 }), 'validate');
      assert.equal(judgement.response.allowed, true);
      assert.ok(judgement.response.warnings?.some((warning) => /^levee \[scale-to-zero\] scaling Deployment\/ledger/.test(warning)));
    });

    it('warns about an HPA that can scale the only backend to zero', async () => {
      const request = admissionRequest({
        kind: GVK.hpa,
        resource: GVR.hpas,
        operation: 'CREATE',
        namespace: 'payments',
        name: 'ledger',
        object: hpaObject('ledger', 'payments', 'ledger', 0),
      });
      const judgement = await answer(deps(), request, 'validate');
      assert.equal(judgement.response.allowed, true);
      assert.ok(judgement.response.warnings?.some((warning) => /HorizontalPodAutoscaler\/ledger can scale Deployment\/ledger to 0 replicas/.test(warning)));
    });

    it('never refuses an eviction: it warns when a bare pod takes its Service\'s last endpoint away, even while the cluster is Unhealthy', async () => {
      const cluster = monzoCluster();
      cluster.pods.upsert('payments/solo', toPodView({ kind: 'Pod', metadata: { name: 'solo', namespace: 'payments' } }));
      addService(cluster, 'solo', 'payments', { app: 'solo' }, ['solo']);
      const unhealthy = { document: { verdict: 'Unhealthy', since: '2026-11-23T11:50:00.000Z', generatedAt: '2026-11-23T11:59:58.000Z', reporter: 'probe-1', leader: true, run: 9, failing: ['etcd'], probes: [] }, file: 'verdict.json' } as unknown as CurrentVerdict;
      const evict = (pod: string) =>
        admissionRequest({ kind: { group: 'policy', version: 'v1', kind: 'Eviction' }, resource: GVR.pods, subResource: 'eviction', operation: 'CREATE', namespace: 'payments', name: pod, object: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: 'payments' } } });
      const lastBackend = await answer({ ...deps({ cluster }), verdict: () => unhealthy }, evict('solo'), 'validate');
      assert.equal(lastBackend.response.allowed, true);
      assert.deepEqual(lastBackend.judged, ['scale-to-zero']);
      assert.ok(lastBackend.response.warnings?.some((warning) => /^levee \[scale-to-zero\] evicting Pod\/solo leaves Service solo in namespace payments with no endpoints/.test(warning)), String(lastBackend.response.warnings));
      const controllers = await answer({ ...deps({ cluster }), verdict: () => unhealthy }, evict('ledger-rs-0'), 'validate');
      assert.deepEqual(controllers.response, { uid: 'uid-request', allowed: true });
      // The same verdict refuses a new bare pod: the gate is shut, and evictions still pass.
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'new', namespace: 'payments' }, spec: { containers: [{ name: 'app', image: 'app:1' }] } };
      const created = await answer({ ...deps({ cluster }), verdict: () => unhealthy }, admissionRequest({ kind: GVK.pod, resource: GVR.pods, operation: 'CREATE', namespace: 'payments', name: 'new', object: pod }), 'validate');
      assert.equal(created.response.allowed, false);
      assert.match(created.response.status?.message ?? '', /probe-gate/);
    });

    it('gives a dry run the identical response', async () => {
      for (const replicas of [0, 1]) {
        const real = await answer(deps(), ledgerRequest({ replicas }), 'validate');
        const dryRun = await answer(deps(), ledgerRequest({ replicas, dryRun: true }), 'validate');
        assert.deepEqual(dryRun.response, real.response);
        assert.equal(real.response.allowed, replicas === 1);
      }
    });
  });

  describe('failures', () => {
    for (const [what, thrown] of [
      ['an Error', new Error('wasm trap: out of bounds memory access')],
      ['a string, as opa-wasm does', 'opa: eval_conflict_error'],
    ] as const) {
      for (const route of ['validate', 'mutate'] as const) {
        it(`refuses on /${route}, never allows, when the evaluator throws ${what}`, async () => {
          const failing = await loadEvaluator();
          failing.evaluate = () => {
            throw thrown;
          };
          const judgement = await answer({ ...deps(), evaluator: failing }, ledgerRequest({ replicas: 1 }), route);
          assert.equal(judgement.response.allowed, false);
          assert.equal(judgement.response.status?.code, 500);
          assert.match(judgement.response.status?.message ?? '', /levee could not judge this request/);
          assert.match(judgement.response.status?.message ?? '', /out of bounds|eval_conflict_error/);
          assert.ok(judgement.error);
          assert.equal(judgement.decision, undefined);
        });
      }
    }

    it('refuses when the authorizer fails', async () => {
      const authorizer: OverrideAuthorizer = {
        mayOverride: () => Promise.reject(new Error('connection refused')),
      };
      const judgement = await answer(deps({ authorizer }), ledgerRequest({ replicas: 0, annotations: overrideAnnotations, oldAnnotations: {} }), 'validate');
      assert.equal(judgement.response.allowed, false);
      assert.match(judgement.response.status?.message ?? '', /override ignored: not authorized: alice may not override scale-to-zero \(authorization check failed|could not judge/);
    });

    it('does not call the evaluator when no policy has anything to judge', async () => {
      const failing = await loadEvaluator();
      let calls = 0;
      failing.evaluate = () => {
        calls++;
        throw new Error('must not be called');
      };
      const request = admissionRequest({ kind: GVK.configMap, resource: GVR.configMaps, operation: 'CREATE', name: 'cfg', object: { kind: 'ConfigMap' } });
      const judgement = await answer({ ...deps(), evaluator: failing }, request, 'validate');
      assert.equal(judgement.response.allowed, true);
      assert.deepEqual(judgement.judged, []);
      assert.equal(calls, 0);
    });
  });
});
