// levee's own pipeline (src/engine/pipeline.ts, /validate) with one change: the Rego decision
// comes from `opa run --server` over loopback HTTP instead of the in-process wasm module.
// Same decode, same context from the same caches, same input, same decide step: the only
// difference the bench measures is where the policy is evaluated.
const dist = new URL('../dist/src/', import.meta.url);
const { decodeAdmissionReview } = await import(new URL('admission/decode.js', dist).href);
const { refusal, responseFor, reviewOf } = await import(new URL('admission/response.js', dist).href);
const { decide, deniedPolicies, exemptPolicies, findingsOf } = await import(new URL('engine/decide.js', dist).href);
const { resolveOverrides } = await import(new URL('engine/overrides.js', dist).href);
const { scaleTarget } = await import(new URL('admission/workload.js', dist).href);
const { POLICIES } = await import(new URL('policies/registry.js', dist).href);

export { decodeAdmissionReview, reviewOf };

/**
 * Gives the caches the probe verdict the way `serve` does (src/server/serve.ts): the file is
 * followed, and probe-gate reads the latest document from the cluster state.
 */
export async function followVerdicts(cluster, path, { watch = true } = {}) {
  const verdictFile = new URL('probe/verdict-file.js', dist);
  const { VerdictSource, watchVerdictFile, readVerdictFile } = await import(verdictFile.href).catch(() => ({}));
  if (!VerdictSource) return () => undefined;
  const verdicts = new VerdictSource(path);
  cluster.probeVerdicts = verdicts;
  if (!watch) {
    verdicts.latest = readVerdictFile(path);
    return () => undefined;
  }
  const quiet = { warn: () => undefined, info: () => undefined, debug: () => undefined };
  return watchVerdictFile(path, (verdict) => (verdicts.latest = verdict), quiet);
}

/** What levee hands the bundle: `{request, context, now}` (pipeline.ts policyView + buildContext). */
export function policyInput(deps, request, now) {
  const exempt = exemptPolicies(deps.config, request);
  const context = {};
  for (const policy of POLICIES) {
    if (exempt.has(policy.id)) continue;
    const policyContext = policy.buildContext({ request, cluster: deps.cluster, config: deps.config, now });
    if (policyContext === undefined) continue;
    context[policy.id] = policyContext;
  }
  const input = {
    request: {
      uid: request.uid,
      operation: request.operation,
      kind: request.kind,
      resource: request.resource,
      subResource: request.subResource ?? '',
      namespace: request.namespace ?? '',
      name: request.name ?? '',
      dryRun: request.dryRun,
      userInfo: { username: request.userInfo.username, groups: request.userInfo.groups },
    },
    context,
    now: now.getTime() / 1000,
  };
  return { input, exempt, judged: Object.keys(context) };
}

/** One /validate answer, asking `evaluate(input)` (a loopback HTTP call to opa) for the violations. */
export async function sidecarValidate(deps, body, evaluate) {
  const decoded = decodeAdmissionReview(body);
  if (!decoded.ok) return reviewOf(refusal(decoded.uid, decoded.message));
  const request = decoded.request;
  const now = deps.now();
  const { input, exempt, judged } = policyInput(deps, request, now);
  const violations = judged.length === 0 ? [] : (await evaluate(input)).violations;
  const findings = findingsOf(deps.config, violations.filter((violation) => !exempt.has(violation.policy)));
  const parent = scaleTarget(request);
  const object = request.operation === 'DELETE' ? request.oldObject : request.object;
  const overrides = await resolveOverrides({
    annotations: parent ? deps.cluster.workload(parent)?.annotations : object?.metadata?.annotations,
    deniedPolicies: deniedPolicies(findings),
    user: request.userInfo,
    now,
    maxHours: deps.config.overrides.maxHours,
    authorizer: deps.authorizer,
  });
  return reviewOf(responseFor(request.uid, decide(findings, overrides)));
}
