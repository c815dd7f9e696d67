// levee's own pipeline (src/engine/pipeline.ts and src/admission/response.ts, /validate) with
// one change: the evaluator it is given asks `opa run --server` over loopback HTTP instead of
// the in-process wasm module. Same decode, same context from the same caches, same decide
// step, same response: the only difference the bench measures is where the policy is evaluated.
const dist = new URL('../dist/src/', import.meta.url);
const { decodeAdmissionReview } = await import(new URL('admission/decode.js', dist).href);
const { admissionResponse, refusal, reviewOf } = await import(new URL('admission/response.js', dist).href);
const { exemptPolicies } = await import(new URL('engine/decide.js', dist).href);
const { judge, policyInput: pipelineInput } = await import(new URL('engine/pipeline.js', dist).href);

export { decodeAdmissionReview, reviewOf };

/**
 * The probe verdict as `serve` has it (src/server/serve.ts): the file is followed, and the
 * pipeline's `verdict()` gives probe-gate the last document read from it. With `watch: false`
 * the file is read once.
 */
export async function followVerdicts(path, { watch = true } = {}) {
  const { followVerdictFile, readVerdictFile } = await import(new URL('probe/verdict-file.js', dist).href);
  if (!watch) {
    const document = readVerdictFile(path);
    return { verdict: () => ({ document, file: path }), stop: () => undefined };
  }
  const quiet = { warn: () => undefined, info: () => undefined, debug: () => undefined };
  const followed = followVerdictFile(path, quiet);
  return { verdict: followed.current, stop: followed.stop };
}

/** What levee hands the bundle for a request (src/engine/pipeline.ts): what opa alone is asked. */
export function policyInput(deps, request, now) {
  return pipelineInput(deps, request, exemptPolicies(deps.config, request), now);
}

/** One /validate answer from levee's pipeline, with `evaluate(input)` (a loopback HTTP call to opa) as its evaluator. */
export function sidecarValidate(deps, body, evaluate) {
  return sidecarAnswer(deps, body, evaluate, { route: 'validate' });
}

/** The same for any review route: `{route: 'validate' | 'mutate', warnOnly?}`. */
export async function sidecarAnswer(deps, body, evaluate, { route, warnOnly = false }) {
  const decoded = decodeAdmissionReview(body);
  if (!decoded.ok) return reviewOf(refusal(decoded.uid, decoded.message));
  const judgement = await judge({ ...deps, evaluator: { evaluate } }, decoded.request, route);
  const stale = () => deps.cluster.freshness.stale(deps.config.server.staleAfterSeconds);
  return reviewOf(admissionResponse(decoded.request.uid, judgement, { route, warnOnly, stale }));
}
