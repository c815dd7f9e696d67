import { appendFileSync } from 'node:fs';
import type { AdmissionRequest, KubeObject } from '../../src/kube/types.js';
import { buildConfig, type LeveeConfig } from '../../src/config.js';
import type { PolicyEvaluator } from '../../src/engine/evaluator.js';
import { judge as judgeRequest, type Judgement, type PipelineDeps, type Route } from '../../src/engine/pipeline.js';
import { mutateConditionExpression } from '../../src/policies/mutate-condition.js';
import type { ContextInput, Mutator, PolicyDefinition } from '../../src/policies/types.js';
import type { CurrentVerdict } from '../../src/probe-verdict.js';
import { shippedEvaluator } from './bundle.js';

/**
 * The reviews the unit tests judge, collected so that the webhook registrations' matchConditions
 * can be checked against them (test/policies/webhook-match-conditions.test.ts): every request a
 * unit test hands a context builder, a mutator or the pipeline goes through here. Recording is
 * on only when LEVEE_REVIEW_CORPUS names a file: then each request is also judged, at once,
 * on /validate and /mutate with the shipped bundle (overrides authorized, so that every
 * override stamp shows as a patch), twice: against the test's own cluster, verdict, config and
 * clock, and against the same cluster with the probe verdict Unhealthy and a configuration as
 * eager as it can be (no on-demand node may be lost, the request's namespace is critical),
 * since a matchCondition must hold whatever the configuration and the cluster's health. One
 * JSON line per request is appended to that file when the run ends.
 */

export interface CorpusEntry {
  request: AdmissionRequest;
  /** Findings on /validate (any action: a warning or audit finding counts). */
  findings: string[];
  /** Whether /mutate answered with a patch. */
  patched: boolean;
  /** The /mutate condition (src/policies/mutate-condition.ts) rendered from each configuration under which /mutate patched it. */
  patchedUnder: string[];
  /** Whether /validate would remember what the request changes in a protected count (engine/remember.ts). */
  remembered: boolean;
  /** Whether /validate refused it with levee's own configuration (a policy's denial or a forged stamp). */
  refused: boolean;
  /** Set when levee could not judge the request (a fixture no API server would send). */
  error?: string;
}

export const CORPUS_ENV = 'LEVEE_REVIEW_CORPUS';
const corpusFile = process.env[CORPUS_ENV];
const pending: Array<Promise<CorpusEntry>> = [];

interface Evaluators {
  own: PolicyEvaluator;
  /** Loaded with the eager configuration: the bundle reads thresholds from its data, not from the request. */
  eager: PolicyEvaluator;
}
let evaluators: Evaluators | undefined;
const loading = corpusFile
  ? Promise.all([shippedEvaluator(), shippedEvaluator(eagerConfig('').policies)]).then(([own, eager]) => (evaluators = { own, eager }))
  : undefined;

if (corpusFile) {
  after(async () => {
    const entries = await Promise.all(pending);
    appendFileSync(corpusFile, entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
  });
}

/** The most a configuration can make levee judge a request in `namespace`: every on-demand loss below the floor, the namespace critical. */
function eagerConfig(namespace: string): LeveeConfig {
  const config = buildConfig({ policies: { 'spot-capacity': { minOnDemandNodes: 1_000_000, minOnDemandShare: 1 } } });
  const spotCapacity = config.policies['spot-capacity'];
  // The request's namespace as the tests spell it ('' for a cluster-scoped one), past the configuration's own name check.
  return { ...config, policies: { ...config.policies, 'spot-capacity': { ...spotCapacity, critical: { ...spotCapacity.critical, namespaces: [namespace] } } } };
}

function unhealthy(now: Date): CurrentVerdict {
  const at = now.toISOString();
  return { file: '(review corpus)', document: { verdict: 'Unhealthy', since: at, generatedAt: at, reporter: 'review-corpus', leader: true, run: 1, failing: ['etcd'], probes: [] } };
}

type Observed = Pick<ContextInput, 'request' | 'cluster' | 'config' | 'now' | 'verdict'>;

function observe(input: Observed): void {
  if (!loading) return;
  pending.push(evaluators ? record(evaluators, input) : loading.then((loaded) => record(loaded, input)));
}

function judgeBoth(deps: PipelineDeps, request: AdmissionRequest): Promise<[Judgement, Judgement]> {
  return Promise.all([judgeRequest(deps, request, 'validate'), judgeRequest(deps, request, 'mutate')]);
}

function record(loaded: Evaluators, { request, cluster, config, now, verdict }: Observed): Promise<CorpusEntry> {
  const authorizer = { mayOverride: async () => ({ allowed: true }) };
  const eagerVerdict = unhealthy(now);
  // judge() reads the cluster before its first await: both judgements see the state the test built.
  const own = judgeBoth({ evaluator: loaded.own, cluster, config, now: () => now, authorizer, ...(verdict ? { verdict: () => verdict } : {}) }, request);
  const eagerSettings = eagerConfig(request.namespace ?? '');
  const eager = judgeBoth({ evaluator: loaded.eager, cluster, config: eagerSettings, now: () => now, authorizer, verdict: () => eagerVerdict }, request);
  // In the order of the judgements: the /mutate condition each configuration renders.
  const conditions = [config, eagerSettings].map((settings) => mutateConditionExpression(settings.policies['spot-capacity']));
  return Promise.all([own, eager]).then((judgements) => {
    const validated = judgements.map(([validate]) => validate);
    const mutated = judgements.map(([, mutate]) => mutate);
    const error = [...validated, ...mutated].find((judgement) => judgement.error)?.error;
    return {
      request: structuredClone(request),
      findings: [...new Set(validated.flatMap((judgement) => (judgement.decision?.findings ?? []).map((finding) => `${finding.policy}/${finding.rule}:${finding.action}`)))],
      patched: mutated.some((judgement) => (judgement.patch?.length ?? 0) > 0),
      patchedUnder: [...new Set(mutated.flatMap((judgement, i) => ((judgement.patch?.length ?? 0) > 0 ? [conditions[i]!] : [])))],
      remembered: validated.some((judgement) => (judgement.changes?.length ?? 0) > 0),
      refused: validated[0]?.decision?.allowed === false,
      ...(error ? { error: error.message } : {}),
    };
  });
}

/** A policy's context for a request, as the pipeline builds it; the request joins the corpus. */
export function contextOf(policy: PolicyDefinition, input: ContextInput): unknown {
  observe(input);
  return policy.buildContext(input);
}

/** A mutator's edit of `input.copy`; the request joins the corpus. */
export function mutateWith(mutator: Mutator, input: ContextInput & { copy: KubeObject }): void {
  observe(input);
  mutator.mutate(input);
}

/** The pipeline's judge(); the request joins the corpus. */
export function judge(deps: PipelineDeps, request: AdmissionRequest, route: Route): Promise<Judgement> {
  const verdict = deps.verdict?.();
  observe({ request, cluster: deps.cluster, config: deps.config, now: deps.now(), ...(verdict ? { verdict } : {}) });
  return judgeRequest(deps, request, route);
}
