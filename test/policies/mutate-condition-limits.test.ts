import assert from 'node:assert/strict';
import { buildConfig } from '../../src/config.js';
import { CEL_EXPRESSION_CODE_POINT_LIMIT, MUTATE_WEBHOOK, mutateConditionExpression, registeredMutateCondition } from '../../src/policies/mutate-condition.js';
import { matchWebhooks, shippedWebhookConfigurations } from '../support/webhook-match.js';

/**
 * The renderer's size limit is the API server's: k8s.io/apiserver's CEL compiler (tools/webhook-match,
 * at the local cluster's version) takes the largest condition levee renders, and refuses one code
 * point more with its parser's limit. test/e2e/mutate-condition.test.ts registers both on a real API server.
 */

interface Registration {
  kind?: string;
  metadata: { name: string };
  webhooks?: Array<{ name: string; matchConditions?: Array<{ name: string; expression: string }> }>;
}

/** The shipped mutating registration with /mutate's condition replaced by `expression`. */
function registrationWith(expression: string): Registration {
  const mutating = shippedWebhookConfigurations<Registration>().find((object) => object.kind === 'MutatingWebhookConfiguration');
  assert.ok(mutating);
  const condition = registeredMutateCondition(mutating.webhooks ?? []);
  assert.ok(condition);
  condition.expression = expression;
  return mutating;
}

const labelKey = (i: number): string => `example.com/l${String(i).padStart(5, '0')}`;
const defaults = buildConfig().policies['spot-capacity'];
const settings = (count: number) => ({ ...defaults, critical: { ...defaults.critical, labels: Object.fromEntries(Array.from({ length: count }, (_, i) => [labelKey(i), 'true'])) } });

/** The most labels the renderer takes, and the condition it renders from them. */
function largestRendered(): { count: number; expression: string } {
  let count = 500;
  let expression = mutateConditionExpression(settings(count));
  for (;;) {
    try {
      const next = mutateConditionExpression(settings(count + 1));
      count += 1;
      expression = next;
    } catch (error) {
      assert.match((error as Error).message, /over the 100000 the API server accepts/);
      return { count, expression };
    }
  }
}

function deploymentCreate(labels: Record<string, string>): unknown {
  return {
    uid: 'limits',
    kind: { group: 'apps', version: 'v1', kind: 'Deployment' },
    resource: { group: 'apps', version: 'v1', resource: 'deployments' },
    name: 'ledger',
    namespace: 'payments',
    operation: 'CREATE',
    userInfo: { username: 'alice', groups: ['system:authenticated'] },
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'ledger', namespace: 'payments', labels },
      spec: { selector: { matchLabels: { app: 'ledger' } }, template: { metadata: { labels: { app: 'ledger' } }, spec: { containers: [{ name: 'app', image: 'registry.example/ledger:1.0' }] } } },
    },
    oldObject: null,
    dryRun: false,
  };
}

describe('the /mutate condition\'s size, against the API server\'s CEL', function () {
  this.timeout(10 * 60_000);

  it('the largest condition levee renders compiles and lets its last label through; one code point past the limit is refused by the API server\'s parser', () => {
    const { count, expression } = largestRendered();
    assert.ok(count > 100, `only ${count} labels fit`);
    const length = [...expression].length;
    assert.ok(length <= CEL_EXPRESSION_CODE_POINT_LIMIT && length > CEL_EXPRESSION_CODE_POINT_LIMIT - 400, `${length} code points`);
    // Padded with a trailing CEL comment to exactly the limit, and to one more.
    const atLimit = `${expression}\n//${'x'.repeat(CEL_EXPRESSION_CODE_POINT_LIMIT - length - 3)}`;
    const over = `${atLimit}x`;
    const configurations = [atLimit, over].map((each, i) => ({ ...registrationWith(each), metadata: { name: `limit-${i}` } }));
    const requests = [deploymentCreate({ [labelKey(count - 1)]: 'true' }), deploymentCreate({ [labelKey(count)]: 'true' })];
    const results = matchWebhooks(configurations, requests);
    const mutateCall = (request: number, configuration: string) => results[request]!.find((each) => each.configuration === configuration && each.webhook === MUTATE_WEBHOOK)!;
    assert.equal(mutateCall(0, 'limit-0').conditions, 'match', JSON.stringify(mutateCall(0, 'limit-0')));
    assert.equal(mutateCall(1, 'limit-0').conditions, 'skip', 'a label the configuration does not name');
    const refused = mutateCall(0, 'limit-1');
    assert.equal(refused.conditions, 'error');
    assert.match(refused.error ?? '', /expression code point size exceeds limit: size: 100001, limit 100000/);
  });
});
