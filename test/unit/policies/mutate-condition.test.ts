import assert from 'node:assert/strict';
import { buildConfig } from '../../../src/config.js';
import { LeveeError } from '../../../src/errors.js';
import { CEL_EXPRESSION_CODE_POINT_LIMIT, mutateConditionExpression } from '../../../src/policies/mutate-condition.js';

/**
 * The renderer of /mutate's condition. What the API server makes of what it renders (each
 * spelling evaluated by k8s.io/apiserver's CEL, the limit checked against its parser) is in
 * test/policies/mutate-condition-limits.test.ts and test/policies/webhook-match-conditions.test.ts.
 */

type Critical = { labels?: Record<string, string>; namespaces?: string[]; priorityClassNames?: string[] };

const DEFAULTS = buildConfig().policies['spot-capacity'];

/**
 * The renderer's input as given, not through buildConfig: the configuration refuses label keys,
 * values and namespaces no cluster can hold, but the renderer must write any string as a CEL
 * literal whatever reaches it (priority class names are free text, and so is a caller's input).
 */
const settings = (critical: Critical, spread = true) => ({ critical: { ...DEFAULTS.critical, ...critical }, spread: { ...DEFAULTS.spread, enabled: spread } });

const ANNOTATIONS_ONLY = mutateConditionExpression(settings({}, false));

/** `count` labels whose keys are `example.com/l<n>`. */
/** A configuration error (`levee webhook-condition` and serve print it as one line) whose message matches. */
const configInvalid = (message: RegExp) => (error: unknown) => error instanceof LeveeError && error.code === 'CONFIG_INVALID' && message.test(error.message);

function manyLabels(count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`example.com/l${String(i).padStart(5, '0')}`, 'true']));
}

describe('policies/mutate-condition (the rendered /mutate condition)', () => {
  it('lets only levee.dev/ annotations through when nothing can get a spread: spread off, or no way to be critical', () => {
    assert.match(ANNOTATIONS_ONLY, /^object\.\?metadata\.\?annotations.*levee\.dev\/.*\|\|\nrequest\.operation == "UPDATE" && oldObject.*levee\.dev\/.*$/);
    assert.equal(mutateConditionExpression(settings({ labels: {}, namespaces: [], priorityClassNames: [] })), ANNOTATIONS_ONLY);
    // An empty priority class name never makes a workload critical (criticalBecause): it alone renders nothing.
    assert.equal(mutateConditionExpression(settings({ labels: {}, namespaces: [], priorityClassNames: ['', ''] })), ANNOTATIONS_ONLY);
  });

  it('names every configured way to be critical, empty and repeated entries as they are (a repeat only costs a comparison)', () => {
    const expression = mutateConditionExpression(settings({ labels: { tier: '' }, namespaces: ['', 'ledger', 'ledger'], priorityClassNames: ['', 'gold', 'gold'] }));
    assert.ok(expression.includes('object.?metadata.?labels[?"tier"] == optional.of("")'), expression);
    assert.ok(expression.includes('object.?spec.?template.?metadata.?labels[?"tier"] == optional.of("")'), expression);
    assert.ok(expression.includes('request.namespace in ["", "ledger", "ledger"]'), expression);
    assert.ok(expression.includes('object.?spec.?template.?spec.?priorityClassName.orValue("") in ["gold", "gold"]'), expression);
  });

  it('writes quotes, backslashes, newlines and unicode in label keys and values as CEL string literals, never as expression text', () => {
    const key = 'a"b\\c\n) || true || ("';
    const expression = mutateConditionExpression(settings({ labels: { [key]: 'ü😀\u2028' }, namespaces: [], priorityClassNames: [] }));
    // U+2028 escaped as Go's encoding/json escapes it (the chart renders the same text).
    assert.ok(expression.includes(`labels[?${JSON.stringify(key)}] == optional.of("ü😀\\u2028")`), expression);
    // The spread clause is one parenthesised conjunction: nothing in a key ends it early.
    assert.equal(expression.split('\n').filter((line) => line.trim() === '|| true ||').length, 0);
  });

  it('renders labels sorted by key whatever the configuration\'s order', () => {
    const one = mutateConditionExpression(settings({ labels: { b: '1', a: '2', 'a.b/c': '3' } }));
    const other = mutateConditionExpression(settings({ labels: { 'a.b/c': '3', a: '2', b: '1' } }));
    assert.equal(one, other);
    assert.ok(one.indexOf('"a"') < one.indexOf('"a.b/c"') && one.indexOf('"a.b/c"') < one.indexOf('"b"'), one);
  });

  it('refuses a lone UTF-16 surrogate, which no CEL string literal can hold, with an error naming it', () => {
    for (const critical of <Critical[]>[{ labels: { 'a\ud800': 'true' } }, { labels: { tier: '\udc00' } }, { namespaces: ['ns\ud83d'] }, { priorityClassNames: ['\udfff'] }]) {
      assert.throws(() => mutateConditionExpression(settings(critical)), configInvalid(/lone UTF-16 surrogate/), JSON.stringify(critical));
    }
    // A whole surrogate pair is one code point: fine.
    assert.doesNotThrow(() => mutateConditionExpression(settings({ labels: { tier: '😀' } })));
  });

  it('refuses to render past the API server\'s limit of 100,000 code points per CEL expression, naming the limit', () => {
    assert.equal(CEL_EXPRESSION_CODE_POINT_LIMIT, 100_000);
    assert.throws(() => mutateConditionExpression(settings({ labels: manyLabels(1000) })), configInvalid(/is \d+ code points long, over the 100000 the API server accepts in one CEL expression/));
    assert.throws(() => mutateConditionExpression(settings({ namespaces: Array.from({ length: 10_000 }, (_, i) => `team-${i}`) })), configInvalid(/over the 100000/));
    assert.ok([...mutateConditionExpression(settings({ labels: manyLabels(500) }))].length <= CEL_EXPRESSION_CODE_POINT_LIMIT);
  });

  it('counts code points, not UTF-16 units: astral characters count once, as the API server counts them', () => {
    // 30,000 astral characters are 60,000 UTF-16 units, and four times that in the rendered labels (key and value, object and template).
    const wide = '😀'.repeat(15_000);
    const expression = mutateConditionExpression(settings({ labels: { [wide]: wide }, namespaces: [], priorityClassNames: [] }));
    assert.ok(expression.length > CEL_EXPRESSION_CODE_POINT_LIMIT, `${expression.length} UTF-16 units`);
    assert.ok([...expression].length <= CEL_EXPRESSION_CODE_POINT_LIMIT, `${[...expression].length} code points`);
  });
});
