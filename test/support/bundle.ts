import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildConfig } from '../../src/config.js';
import { readBundle } from '../../src/engine/bundle.js';
import { PolicyEvaluator } from '../../src/engine/evaluator.js';

export const BUNDLE_PATH = 'dist/policies/bundle.tar.gz';

/** The bundle `npm run build` compiled: the one that ships is the one the tests load. */
export async function shippedEvaluator(policies: unknown = buildConfig().policies): Promise<PolicyEvaluator> {
  return PolicyEvaluator.load(readBundle(BUNDLE_PATH), { config: { policies } });
}

export interface PolicyCase {
  name: string;
  input: unknown;
  expect: string[];
  config?: { policies: unknown };
}

/** The cases in policies/cases/<file>.json, which `opa test` runs too. */
export function sharedCases(file: string, key: string): PolicyCase[] {
  const parsed = JSON.parse(readFileSync(`policies/cases/${file}`, 'utf8')) as Record<string, PolicyCase[]>;
  const cases = parsed[key];
  if (!cases || cases.length === 0) throw new Error(`no cases under ${key} in policies/cases/${file}`);
  return cases;
}

/**
 * One test per case in policies/cases/<file>.json, the cases `opa test` runs too: the compiled
 * bundle, under the case's configuration or the default one, finds exactly the rules it expects.
 */
export function itJudgesTheSharedCases(file: string, key: string): void {
  for (const policyCase of sharedCases(file, key)) {
    it(policyCase.name, async () => {
      const evaluator = await shippedEvaluator(policyCase.config?.policies);
      const rules = evaluator.evaluate(policyCase.input).violations.map((violation) => violation.rule).sort();
      assert.deepEqual(rules, [...policyCase.expect].sort());
    });
  }
}
