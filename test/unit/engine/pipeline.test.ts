import assert from 'node:assert/strict';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import type { AdmissionRequest, KubeObject, UserInfo } from '../../../src/kube/types.js';
import { ClusterState } from '../../../src/cluster/state.js';
import { buildConfig, type LeveeConfig, type PolicyId } from '../../../src/config.js';
import { readBundle } from '../../../src/engine/bundle.js';
import { PolicyEvaluator } from '../../../src/engine/evaluator.js';
import {
  EXPIRES_ANNOTATION,
  OVERRIDDEN_AT,
  OVERRIDDEN_BY,
  OVERRIDE_ANNOTATION,
  REASON_ANNOTATION,
  type OverrideAuthorizer,
} from '../../../src/engine/overrides.js';
import { admissionResponse } from '../../../src/admission/response.js';
import type { AdmissionResponse } from '../../../src/admission/types.js';
import { judge, type Judgement, type PipelineDeps, type Route } from '../../../src/engine/pipeline.js';
import { BUNDLE_PATH } from '../../support/bundle.js';
import { addDeploymentWithPods, addService, podNames } from '../../support/cluster.js';
import { admissionRequest, GVK, GVR, hpaObject, requestOf } from '../../support/requests.js';
import { deploymentReview, scaleReview, type DeploymentReviewOptions } from '../../support/reviews.js';

const { applyPatch } = fastJsonPatch;
const STABLE = { app: 'ledger', track: 'stable' };
const NOW = new Date('2026-11-23T12:00:00Z');

/**
 * The Monzo shape: Deployment ledger (3 ready pods) is the only backend of Service ledger;
 * Service ledger-all also selects a canary Deployment, so it stays backed.
 */
function monzoCluster(): ClusterState {
  const cluster = new ClusterState();
  addDeploymentWithPods(cluster, 'ledger', 'payments', 3, STABLE);
  addDeploymentWithPods(cluster, 'ledger-canary', 'payments', 1, { app: 'ledger', track: 'canary' });
  addService(cluster, 'ledger', 'payments', STABLE, podNames('ledger', 3));
  addService(cluster, 'ledger-all', 'payments', { app: 'ledger' }, [...podNames('ledger', 3), ...podNames('ledger-canary', 1)]);
  for (const store of cluster.allStores()) store.markSynced();
  return cluster;
}

function ledgerRequest(options: Partial<DeploymentReviewOptions> & { replicas: number }): AdmissionRequest {
  return requestOf(deploymentReview({ name: 'ledger', namespace: 'payments', labels: STABLE, oldReplicas: 3, ...options }));
}

function loadEvaluator(): Promise<PolicyEvaluator> {
  return PolicyEvaluator.load(readBundle(BUNDLE_PATH), { config: { policies: buildConfig().policies } });
}

/** Grants `override` on the listed policies and records every question it is asked. */
function fakeAuthorizer(granted: readonly PolicyId[] = []): OverrideAuthorizer & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    mayOverride: async (user: UserInfo, policy: PolicyId) => {
      asked.push(`${user.username}:${policy}`);
      return granted.includes(policy) ? { allowed: true } : { allowed: false, reason: 'no RBAC rule' };
    },
  };
}

function patchedObject(request: AdmissionRequest, encoded: string | undefined): KubeObject {
  assert.ok(encoded, 'expected a patch');
  const operations = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as Operation[];
  return applyPatch(structuredClone(request.object), operations).newDocument as KubeObject;
}

/** The judgement and the AdmissionResponse levee builds from it, as the review routes do. */
async function answer(deps: PipelineDeps, request: AdmissionRequest, route: Route): Promise<Judgement & { response: AdmissionResponse }> {
  const judgement = await judge(deps, request, route);
  return { ...judgement, response: admissionResponse(request.uid, judgement, { route }) };
}

function scaleToZeroFindings(judgement: Judgement): string[] {
  return (judgement.decision?.findings ?? []).filter((finding) => finding.policy === 'scale-to-zero').map((finding) => finding.rule);
}

const overrideAnnotations = {
  [OVERRIDE_ANNOTATION]: 'scale-to-zero',
  [REASON_ANNOTATION]: 'INC-4521: draining ledger before the migration',
  [EXPIRES_ANNOTATION]: '2026-11-23T18:00:00Z',
};

describe('engine/pipeline', () => {
  let evaluator: PolicyEvaluator;
  before(async () => {
    evaluator = await loadEvaluator();
  });

  function deps(options: { config?: LeveeConfig; cluster?: ClusterState; authorizer?: OverrideAuthorizer; selfUsername?: string } = {}): PipelineDeps {
    return {
      evaluator,
      cluster: options.cluster ?? monzoCluster(),
      config: options.config ?? buildConfig(),
      authorizer: options.authorizer ?? fakeAuthorizer(),
      now: () => NOW,
      ...(options.selfUsername ? { selfUsername: options.selfUsername } : {}),
    };
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

    it('gives a dry run the identical response', async () => {
      for (const replicas of [0, 1]) {
        const real = await answer(deps(), ledgerRequest({ replicas }), 'validate');
        const dryRun = await answer(deps(), ledgerRequest({ replicas, dryRun: true }), 'validate');
        assert.deepEqual(dryRun.response, real.response);
        assert.equal(real.response.allowed, replicas === 1);
      }
    });
  });

  describe('overrides', () => {
    it('lifts the denial when the user may override scale-to-zero', async () => {
      const authorizer = fakeAuthorizer(['scale-to-zero']);
      const judgement = await answer(deps({ authorizer }), ledgerRequest({ replicas: 0, annotations: overrideAnnotations }), 'validate');
      assert.equal(judgement.response.allowed, true);
      assert.ok(judgement.response.warnings?.some((warning) => warning.includes('overridden until 2026-11-23T18:00:00Z')));
      assert.deepEqual(authorizer.asked, ['alice:scale-to-zero']);
    });

    it('keeps the denial, and says why, when the user may not override', async () => {
      const judgement = await answer(deps(), ledgerRequest({ replicas: 0, annotations: overrideAnnotations }), 'validate');
      assert.equal(judgement.response.allowed, false);
      assert.match(judgement.response.status?.message ?? '', /override ignored: not authorized: alice may not override scale-to-zero/);
    });

    it('does not ask the authorizer when nothing is denied', async () => {
      const authorizer = fakeAuthorizer(['scale-to-zero']);
      await answer(deps({ authorizer }), ledgerRequest({ replicas: 1, annotations: overrideAnnotations }), 'validate');
      assert.deepEqual(authorizer.asked, []);
    });

    it('stamps who overrode and when on /mutate', async () => {
      const authorizer = fakeAuthorizer(['scale-to-zero']);
      const request = ledgerRequest({ replicas: 0, annotations: overrideAnnotations, oldAnnotations: {} });
      const { response } = await answer(deps({ authorizer }), request, 'mutate');
      const annotations = patchedObject(request, response.patch).metadata?.annotations ?? {};
      assert.equal(annotations[OVERRIDDEN_BY], 'alice');
      assert.equal(annotations[OVERRIDDEN_AT], '2026-11-23T12:00:00Z');
      assert.equal(annotations[OVERRIDE_ANNOTATION], 'scale-to-zero');
    });
  });

  describe('/mutate', () => {
    it('strips a levee.dev/overridden-by annotation that the old object did not have', async () => {
      const request = ledgerRequest({ replicas: 3, annotations: { [OVERRIDDEN_BY]: 'mallory', team: 'ledger' }, oldAnnotations: { team: 'ledger' } });
      const { response } = await answer(deps(), request, 'mutate');
      assert.equal(response.allowed, true);
      assert.equal(response.patchType, 'JSONPatch');
      assert.deepEqual(patchedObject(request, response.patch).metadata?.annotations, { team: 'ledger' });
    });

    it('strips a stamp whose value the request changes', async () => {
      const request = ledgerRequest({ replicas: 3, annotations: { [OVERRIDDEN_BY]: 'mallory' }, oldAnnotations: { [OVERRIDDEN_BY]: 'bob' } });
      const { response } = await answer(deps(), request, 'mutate');
      assert.deepEqual(patchedObject(request, response.patch).metadata?.annotations, {});
    });

    it('keeps a stamp that is unchanged from oldObject', async () => {
      const request = ledgerRequest({ replicas: 3, annotations: { [OVERRIDDEN_BY]: 'bob', team: 'ledger' } });
      const { response } = await answer(deps(), request, 'mutate');
      assert.equal(response.allowed, true);
      assert.equal(response.patch, undefined);
    });

    it('strips a forged stamp on CREATE', async () => {
      const request = ledgerRequest({ replicas: 2, operation: 'CREATE', annotations: { [OVERRIDDEN_AT]: '2020-01-01T00:00:00Z' } });
      const { response } = await answer(deps(), request, 'mutate');
      assert.deepEqual(patchedObject(request, response.patch).metadata?.annotations, {});
    });

    it('lets levee itself write the stamps', async () => {
      const request = ledgerRequest({ replicas: 3, annotations: { [OVERRIDDEN_BY]: 'alice' }, oldAnnotations: {}, username: 'system:serviceaccount:levee-system:levee' });
      const { response } = await answer(deps({ selfUsername: 'system:serviceaccount:levee-system:levee' }), request, 'mutate');
      assert.equal(response.patch, undefined);
    });

    it('leaves other levee.dev annotations alone', async () => {
      const request = ledgerRequest({ replicas: 3, annotations: { [OVERRIDE_ANNOTATION]: 'scale-to-zero' }, oldAnnotations: {} });
      assert.equal((await answer(deps(), request, 'mutate')).response.patch, undefined);
    });

    it('does not patch on /validate', async () => {
      const request = ledgerRequest({ replicas: 3, annotations: { [OVERRIDDEN_BY]: 'mallory' }, oldAnnotations: {} });
      assert.equal((await answer(deps(), request, 'validate')).response.patch, undefined);
    });

    it('never refuses, leaving the refusal to /validate, and still strips forged stamps', async () => {
      const request = ledgerRequest({ replicas: 0, annotations: { [OVERRIDDEN_BY]: 'mallory' }, oldAnnotations: {} });
      const { response, decision } = await answer(deps(), request, 'mutate');
      assert.equal(decision?.allowed, false);
      assert.equal(response.allowed, true);
      assert.equal(response.status, undefined);
      assert.deepEqual(patchedObject(request, response.patch).metadata?.annotations, {});
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
      const judgement = await answer(deps({ authorizer }), ledgerRequest({ replicas: 0, annotations: overrideAnnotations }), 'validate');
      assert.equal(judgement.response.allowed, false);
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
