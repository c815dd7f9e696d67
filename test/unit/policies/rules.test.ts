import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { POLICY_RULES } from '../../../src/policies/rules.js';

/**
 * The rules each Rego policy can emit: `violation("rule", ...)` calls and literal `"rule": "..."`
 * fields; not `lib.violation("<policy>", rule, ...)`, whose first argument is the policy.
 */
function regoRules(): Set<string> {
  const rules = new Set<string>();
  for (const file of readdirSync('policies').filter((name) => name.endsWith('.rego') && !name.endsWith('_test.rego'))) {
    const text = readFileSync(join('policies', file), 'utf8');
    const policy = /^package\s+levee\.policies\.(\w+)/m.exec(text)?.[1]?.replace(/_/g, '-');
    if (!policy) continue;
    for (const match of text.matchAll(/(?<![\w.])violation\("([a-z-]+)"|"rule":\s*"([a-z-]+)"/g)) rules.add(`${policy}/${match[1] ?? match[2]}`);
  }
  return rules;
}

describe('policies/rules', () => {
  it('lists exactly the rules the policies emit', () => {
    const emitted = regoRules();
    assert.ok(emitted.size >= 10, `only ${emitted.size} rules found in policies/`);
    assert.deepEqual(new Set(POLICY_RULES.map((rule) => `${rule.policy}/${rule.rule}`)), emitted);
  });

  it('every rule has a summary, help and a README section that exists', () => {
    const readme = readFileSync('README.md', 'utf8');
    const anchors = new Set([...readme.matchAll(/^#{2,3} (.+)$/gm)].map((match) => match[1]!.toLowerCase().replace(/[`']/g, '').replace(/[^a-z0-9 -]/g, '').trim().replace(/ /g, '-')));
    for (const rule of POLICY_RULES) {
      assert.ok(rule.summary.length > 20 && rule.help.length > 10, rule.rule);
      assert.ok(anchors.has(rule.readmeSection), `README has no section #${rule.readmeSection}`);
    }
  });
});
