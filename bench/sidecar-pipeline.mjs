// levee's own pipeline (src/engine/pipeline.ts and src/admission/response.ts, /validate) with
// one change: the evaluator it is given asks `opa run --server` over loopback HTTP instead of
// the in-process wasm module. Same decode, same context from the same caches, same decide
// step, same response: the only difference the bench measures is where the policy is evaluated.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:https';
import { join } from 'node:path';

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

/** The evaluator both sidecar targets hand the pipeline: POST the input to `opa run --server` on `port`. */
export function opaEvaluator(port, { maxSockets }) {
  const agent = new Agent({ keepAlive: true, maxSockets });
  return function evaluate(input) {
    const body = JSON.stringify({ input });
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, method: 'POST', path: '/v1/data/levee/decision', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          const chunks = [];
          res.on('data', (chunk) => chunks.push(chunk));
          res.on('end', () => {
            const answer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            if (res.statusCode !== 200 || !answer.result) reject(new Error(`opa answered ${res.statusCode}: ${JSON.stringify(answer).slice(0, 200)}`));
            else resolve(answer.result);
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
}

/** The sidecar's HTTPS front end for `app`, with the certificate in `certDir` (tls.crt, tls.key). */
export function sidecarServer(certDir, app) {
  const server = createServer({ cert: readFileSync(join(certDir, 'tls.crt')), key: readFileSync(join(certDir, 'tls.key')), minVersion: 'TLSv1.2' }, app);
  server.keepAliveTimeout = 95_000;
  return server;
}
