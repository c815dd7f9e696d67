import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadPolicy, type LoadedPolicy } from '@open-policy-agent/opa-wasm';
import { LeveeError, toError } from '../errors.js';
import type { PolicyBundle } from './bundle.js';

/** The single entrypoint every policy feeds: `data.levee.decision`. */
export const ENTRYPOINT = 'levee/decision';

export interface Violation {
  policy: string;
  rule: string;
  message: string;
  details?: Record<string, unknown>;
}

export interface BundleDecision {
  violations: Violation[];
}

interface WasmExports {
  builtins(): number;
  opa_json_dump(addr: number): number;
}

/**
 * Wraps opa-wasm: loaded once, `data` set once, evaluated synchronously per request.
 * opa-wasm throws strings and plain objects; everything leaving here is a LeveeError.
 */
export class PolicyEvaluator {
  readonly digest: string;
  readonly builtins: readonly string[];
  private readonly policy: LoadedPolicy;

  private constructor(policy: LoadedPolicy, digest: string, builtins: readonly string[]) {
    this.policy = policy;
    this.digest = digest;
    this.builtins = builtins;
  }

  static async load(bundle: PolicyBundle, data: unknown): Promise<PolicyEvaluator> {
    let policy: LoadedPolicy;
    try {
      policy = await loadPolicy(bundle.wasm);
    } catch (err) {
      throw new LeveeError('BUNDLE_INVALID', `policy bundle ${bundle.path} does not load: ${toError(err).message}`);
    }
    if (!(ENTRYPOINT in policy.entrypoints)) {
      throw new LeveeError('BUNDLE_INVALID', `policy bundle ${bundle.path} has no entrypoint ${ENTRYPOINT}`);
    }
    const builtins = requiredBuiltins(policy);
    const missing = builtins.filter((name) => !SDK_BUILTINS.has(name));
    if (missing.length > 0) {
      throw new LeveeError(
        'BUNDLE_INVALID',
        `policy bundle ${bundle.path} calls builtins the wasm host does not provide: ${missing.join(', ')}; compute them in the context step instead`,
      );
    }
    try {
      policy.setData(data as object);
    } catch (err) {
      throw new LeveeError('BUNDLE_INVALID', `cannot set policy data: ${toError(err).message}`);
    }
    return new PolicyEvaluator(policy, bundle.digest, builtins);
  }

  evaluate(input: unknown): BundleDecision {
    let results: unknown;
    try {
      results = this.policy.evaluate(input, ENTRYPOINT);
    } catch (err) {
      throw toError(err, 'POLICY_EVALUATION');
    }
    const first = Array.isArray(results) ? (results[0] as { result?: unknown } | undefined) : undefined;
    const decision = first?.result as BundleDecision | undefined;
    if (!decision || !Array.isArray(decision.violations)) {
      throw new LeveeError('POLICY_EVALUATION', `${ENTRYPOINT} returned no decision`);
    }
    return decision;
  }
}

/** The builtins the host must provide, read from the compiled module itself. */
function requiredBuiltins(policy: LoadedPolicy): string[] {
  const instance = policy.wasmInstance as WebAssembly.Instance;
  const exports = instance.exports as unknown as WasmExports;
  const address = exports.opa_json_dump(exports.builtins());
  const bytes = new Uint8Array(policy.mem.buffer);
  let end = address;
  while (bytes[end] !== 0) end++;
  const table = JSON.parse(new TextDecoder().decode(bytes.subarray(address, end))) as Record<string, number>;
  return Object.keys(table).sort();
}

/** The builtins that the JavaScript opa-wasm SDK implements for the wasm module. */
export const SDK_BUILTINS: ReadonlySet<string> = (() => {
  const require = createRequire(import.meta.url);
  const sdkEntry = require.resolve('@open-policy-agent/opa-wasm');
  const builtins = require(join(dirname(sdkEntry), 'builtins', 'index.js')) as Record<string, unknown>;
  return new Set(Object.keys(builtins));
})();
