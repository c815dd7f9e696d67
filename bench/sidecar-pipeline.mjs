// levee's own pipeline (src/engine/pipeline.ts, /validate) with one change: the Rego decision
// comes from `opa run --server` over loopback HTTP instead of the in-process wasm module.
// Same decode, same context from the same caches, same input (levee's own functions), same
// decide step: the only difference the bench measures is where the policy is evaluated.
const dist = new URL('../dist/src/', import.meta.url);
const { decodeAdmissionReview } = await import(new URL('admission/decode.js', dist).href);
const { refusal, responseFor, reviewOf } = await import(new URL('admission/response.js', dist).href);
const { decide, deniedPolicies, exemptPolicies, findingsOf } = await import(new URL('engine/decide.js', dist).href);
const { resolveOverrides } = await import(new URL('engine/overrides.js', dist).href);
const { overrideAnnotations, policyInput: pipelineInput } = await import(new URL('engine/pipeline.js', dist).href);

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

/** What levee hands the bundle for a request (src/engine/pipeline.ts), with the exempt policies. */
export function policyInput(deps, request, now) {
  const exempt = exemptPolicies(deps.config, request);
  return { ...pipelineInput(deps, request, exempt, now), exempt };
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
  const overrides = await resolveOverrides({
    annotations: overrideAnnotations(request, deps.cluster),
    deniedPolicies: deniedPolicies(findings),
    user: request.userInfo,
    now,
    maxHours: deps.config.overrides.maxHours,
    authorizer: deps.authorizer,
  });
  return reviewOf(responseFor(request.uid, decide(findings, overrides)));
}
