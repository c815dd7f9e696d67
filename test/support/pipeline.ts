import assert from 'node:assert/strict';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { admissionResponse } from '../../src/admission/response.js';
import type { AdmissionResponse } from '../../src/admission/types.js';
import { ClusterState } from '../../src/cluster/state.js';
import { buildConfig, type LeveeConfig, type PolicyId } from '../../src/config.js';
import { readBundle } from '../../src/engine/bundle.js';
import { PolicyEvaluator } from '../../src/engine/evaluator.js';
import { EXPIRES_ANNOTATION, OVERRIDE_ANNOTATION, REASON_ANNOTATION, type OverrideAuthorizer } from '../../src/engine/overrides.js';
import type { Judgement, PipelineDeps, Route } from '../../src/engine/pipeline.js';
import type { AdmissionRequest, KubeObject, UserInfo } from '../../src/kube/types.js';
import { BUNDLE_PATH } from './bundle.js';
import { addDeploymentWithPods, addService, podNames } from './cluster.js';
import { requestOf } from './requests.js';
import { deploymentReview, type DeploymentReviewOptions } from './reviews.js';
import { judge } from './review-corpus.js';

/** What the engine/pipeline tests share: the Monzo cluster, ledger requests, a fake authorizer, and answers as the routes build them. */

const { applyPatch } = fastJsonPatch;
export const STABLE = { app: 'ledger', track: 'stable' };
export const NOW = new Date('2026-11-23T12:00:00Z');

/**
 * The Monzo shape: Deployment ledger (3 ready pods) is the only backend of Service ledger;
 * Service ledger-all also selects a canary Deployment, so it stays backed.
 */
export function monzoCluster(): ClusterState {
  const cluster = new ClusterState();
  addDeploymentWithPods(cluster, 'ledger', 'payments', 3, STABLE);
  addDeploymentWithPods(cluster, 'ledger-canary', 'payments', 1, { app: 'ledger', track: 'canary' });
  addService(cluster, 'ledger', 'payments', STABLE, podNames('ledger', 3));
  addService(cluster, 'ledger-all', 'payments', { app: 'ledger' }, [...podNames('ledger', 3), ...podNames('ledger-canary', 1)]);
  for (const store of cluster.allStores()) store.markSynced();
  return cluster;
}

export function ledgerRequest(options: Partial<DeploymentReviewOptions> & { replicas: number }): AdmissionRequest {
  return requestOf(deploymentReview({ name: 'ledger', namespace: 'payments', labels: STABLE, oldReplicas: 3, ...options }));
}

export function loadEvaluator(): Promise<PolicyEvaluator> {
  return PolicyEvaluator.load(readBundle(BUNDLE_PATH), { config: { policies: buildConfig().policies } });
}

/** Grants `override` on the listed policies (to the listed users, or anyone) and records every question it is asked. */
export function fakeAuthorizer(granted: readonly PolicyId[] = [], users?: readonly string[]): OverrideAuthorizer & { asked: string[]; users: UserInfo[] } {
  const asked: string[] = [];
  const seen: UserInfo[] = [];
  return {
    asked,
    users: seen,
    mayOverride: async (user: UserInfo, policy: PolicyId) => {
      asked.push(`${user.username}:${policy}`);
      seen.push(user);
      const allowed = granted.includes(policy) && (users === undefined || users.includes(user.username));
      return allowed ? { allowed: true } : { allowed: false, reason: 'no RBAC rule' };
    },
  };
}

export function patchedObject(request: AdmissionRequest, encoded: string | undefined): KubeObject {
  assert.ok(encoded, 'expected a patch');
  const operations = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as Operation[];
  return applyPatch(structuredClone(request.object), operations).newDocument as KubeObject;
}

/** The judgement and the AdmissionResponse levee builds from it, as the review routes do. */
export async function answer(deps: PipelineDeps, request: AdmissionRequest, route: Route): Promise<Judgement & { response: AdmissionResponse }> {
  const judgement = await judge(deps, request, route);
  return { ...judgement, response: admissionResponse(request.uid, judgement, { route }) };
}

export const overrideAnnotations = {
  [OVERRIDE_ANNOTATION]: 'scale-to-zero',
  [REASON_ANNOTATION]: 'INC-4521: draining ledger before the migration',
  [EXPIRES_ANNOTATION]: '2026-11-23T18:00:00Z',
};

export function pipelineDeps(evaluator: PolicyEvaluator, options: { config?: LeveeConfig; cluster?: ClusterState; authorizer?: OverrideAuthorizer } = {}): PipelineDeps {
  return {
    evaluator,
    cluster: options.cluster ?? monzoCluster(),
    config: options.config ?? buildConfig(),
    authorizer: options.authorizer ?? fakeAuthorizer(),
    now: () => NOW,
  };
}
