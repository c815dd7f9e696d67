import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { buildConfig, type LeveeConfig } from '../../src/config.js';
import { MUTATE_CONDITION_NAME, MUTATE_WEBHOOK, mutateConditionExpression, registeredMutateCondition, type RegisteredWebhook } from '../../src/policies/mutate-condition.js';
import { helmPath, renderChart, type KubeObject } from '../support/helm.js';
import { GVK, GVR, admissionRequest } from '../support/requests.js';

/**
 * The chart registers /mutate's condition rendered from the configuration it renders (its
 * ConfigMap: manifests/base/config.yaml with values.config over it), in its own Go templates:
 * the same text levee renders from that ConfigMap (src/policies/mutate-condition.ts), whatever
 * the configuration calls critical and however its labels are spelled.
 */

const RELEASE = 'levee';
const NAMESPACE = 'levee-system';
const SHIPPED_WEBHOOKS = 'manifests/components/webhooks/webhooks.yaml';

function mutateConditionOf(objects: Array<Pick<KubeObject, 'kind'> & { webhooks?: RegisteredWebhook[] }>): string {
  const condition = registeredMutateCondition(objects.filter((object) => object.kind === 'MutatingWebhookConfiguration').flatMap((object) => object.webhooks ?? []));
  assert.ok(condition, `${MUTATE_WEBHOOK} has no condition ${MUTATE_CONDITION_NAME}`);
  return condition.expression;
}

/** What levee reads from the chart's ConfigMap, the way `levee serve --config` reads it. */
function configOf(objects: KubeObject[]): LeveeConfig {
  const configMap = objects.find((object) => object.kind === 'ConfigMap' && object.metadata.name === `${RELEASE}-config`);
  assert.ok(configMap, 'the ConfigMap levee-config is rendered');
  return buildConfig(parseYaml((configMap.data as Record<string, string>)['config.yaml']!) as Record<string, unknown>);
}

type SpotCapacity = Record<string, unknown>;

/**
 * Label keys and values Go and JavaScript order differently unless the two are made to agree
 * (label syntax leaves nothing in them to escape: the configuration refuses any other key or value).
 */
const ODD_LABELS: Record<string, string> = {
  'tier.example.com/class': 'gold',
  // Integer-like keys come first in JavaScript's own order of an object's keys.
  '10': 'ten',
  '9': 'nine',
  'Tier': 'Upper_case.1',
  'a-b_c.d': 'mixed-punctuation',
  'empty-value': '',
};

/** Priority class names are free text to levee: what Go and JavaScript write differently unless made to agree. */
const ODD_PRIORITY_CLASSES = [
  'quote"d back\\slash',
  'html<key> a&b',
  'ünïcødé/ключ 値',
  '\uff01 fullwidth',
  'emoji \u{1f600}',
  'tab\tnewline\nbell\u0007backspace\bformfeed\f',
  // Beside a tab, helm writes U+2028 and U+2029 escaped (alone, U+2028 breaks the YAML helm writes: refused, below).
  'tab\tline\u2028paragraph\u2029',
];

const CASES: Array<{ what: string; spotCapacity?: SpotCapacity; check?: (config: LeveeConfig, expression: string) => void }> = [
  {
    what: 'the default configuration (values.config left empty)',
    check: (config, expression) => {
      assert.deepEqual(config.policies['spot-capacity'].critical.labels, { 'levee.dev/critical': 'true' });
      // The chart installs what `kubectl apply -k manifests/base` does.
      assert.equal(expression, mutateConditionOf(parseAllDocuments(readFileSync(SHIPPED_WEBHOOKS, 'utf8')).map((doc) => doc.toJSON() as KubeObject & { webhooks?: RegisteredWebhook[] })));
    },
  },
  {
    what: 'labels with odd characters (replacing the default label, not added to it)',
    spotCapacity: { critical: { labels: ODD_LABELS } },
    check: (config, expression) => {
      assert.deepEqual(config.policies['spot-capacity'].critical.labels, ODD_LABELS);
      assert.doesNotMatch(expression, /levee\.dev\/critical/);
      assert.match(expression, /system-cluster-critical/);
    },
  },
  {
    what: 'priority classes with odd characters',
    spotCapacity: { critical: { labels: {}, priorityClassNames: ODD_PRIORITY_CLASSES } },
    check: (config, expression) => {
      assert.deepEqual(config.policies['spot-capacity'].critical.priorityClassNames, ODD_PRIORITY_CLASSES);
      assert.doesNotMatch(expression, /system-cluster-critical/);
    },
  },
  {
    what: 'namespaces (labels and priority classes left at their defaults)',
    spotCapacity: { critical: { namespaces: ['ledger-prod', 'payments'] } },
    check: (_config, expression) => {
      assert.match(expression, /request\.namespace in \["ledger-prod", "payments"\]/);
      assert.match(expression, /"levee\.dev\/critical"/);
    },
  },
  {
    what: 'priority classes, with an empty name among them',
    spotCapacity: { critical: { labels: {}, priorityClassNames: ['', 'business-critical', 'tier "1"'] } },
    check: (_config, expression) => assert.match(expression, /priorityClassName\.orValue\(""\) in \["business-critical", "tier \\"1\\""\]\)\)$/),
  },
  {
    what: 'only an empty priority class name (no criterion left)',
    spotCapacity: { critical: { labels: {}, namespaces: [], priorityClassNames: [''] } },
    check: (_config, expression) => assert.doesNotMatch(expression, /ownerReferences/),
  },
  {
    what: 'the spread disabled',
    spotCapacity: { critical: { namespaces: ['ledger-prod'] }, spread: { enabled: false } },
    check: (_config, expression) => assert.doesNotMatch(expression, /ownerReferences|ledger-prod/),
  },
  {
    what: 'the spread enabled explicitly, with another topology key',
    spotCapacity: { spread: { enabled: true, topologyKey: 'topology.example.com/capacity' } },
    check: (_config, expression) => assert.match(expression, /ownerReferences/),
  },
  {
    what: 'no criterion at all',
    spotCapacity: { critical: { labels: {}, namespaces: [], priorityClassNames: [] } },
    check: (_config, expression) => assert.doesNotMatch(expression, /ownerReferences/),
  },
  {
    what: 'every criterion at once',
    spotCapacity: { critical: { labels: { 'b.example.com/x': 'y', 'a.example.com/x': 'z' }, namespaces: ['ledger-prod'], priorityClassNames: ['business-critical'] } },
    check: (_config, expression) => assert.match(expression, /"a\.example\.com\/x"[^]*"b\.example\.com\/x"[^]*ledger-prod[^]*business-critical/),
  },
];

describe('charts/levee: /mutate\'s condition follows config (helm template)', function () {
  let scratch = '';
  before(function () {
    // The pinned helm, built from its Go module the first time (tools/build.sh helm).
    this.timeout(1_800_000);
    helmPath();
    scratch = mkdtempSync(join(tmpdir(), 'levee-chart-condition-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  const rendered = new Map<string, string>();
  CASES.forEach(({ what, spotCapacity, check }, index) => {
    it(`${what}: the chart's condition is levee's rendering of the chart's ConfigMap`, async () => {
      const values = join(scratch, `values-${index}.json`);
      // JSON is YAML: written as JSON, the odd characters reach helm exactly as the test spells them (the
      // ones YAML forbids raw, or reads as line breaks, as JSON escapes).
      const json = JSON.stringify({ config: spotCapacity ? { policies: { 'spot-capacity': spotCapacity } } : {} });
      writeFileSync(values, json.replace(/[\u007f-\u009f\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`));
      const objects = await renderChart(RELEASE, NAMESPACE, ['--values', values]);
      const config = configOf(objects);
      const expression = mutateConditionOf(objects as Array<KubeObject & { webhooks?: RegisteredWebhook[] }>);
      assert.equal(expression, mutateConditionExpression(config.policies['spot-capacity']));
      check?.(config, expression);
      rendered.set(what, expression);
    });
  });

  // Refused by the chart's own check (DEL: helm's toYaml writes nothing) or by helm parsing what the chart wrote (U+2028).
  const refusals: Array<[string, string, RegExp]> = [
    ['DEL', 'delete\u007f', /config: cannot be written as YAML/],
    ['a lone U+2028', 'line\u2028', /YAML parse error on levee\/templates\/config\.yaml/],
  ];
  for (const [what, value, refusal] of refusals) {
    it(`a configuration string with ${what}, which the chart cannot write as YAML, is refused (never installed as an empty configuration)`, async () => {
      const values = join(scratch, 'refused.json');
      writeFileSync(values, JSON.stringify({ config: { policies: { 'spot-capacity': { critical: { priorityClassNames: [value] } } } } }).replace(/[\u007f\u2028]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`));
      await assert.rejects(renderChart(RELEASE, NAMESPACE, ['--values', values]), refusal);
    });
  }

  it('under the API server\'s own CEL (tools/webhook-match), the chart\'s registration sends /mutate a Deployment critical by each odd label, namespace or class, and no other', async function () {
    this.timeout(1_800_000);
    const built = spawnSync('bash', ['tools/build.sh', 'webhook-match'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    assert.equal(built.status, 0, 'tools/build.sh webhook-match');
    const values = join(scratch, 'cel.json');
    const critical = { labels: ODD_LABELS, namespaces: ['ledger-prod'], priorityClassNames: ['business-critical', ...ODD_PRIORITY_CLASSES] };
    writeFileSync(values, JSON.stringify({ config: { policies: { 'spot-capacity': { critical } } } }).replace(/[\u007f-\u009f\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16)}`));
    const configurations = (await renderChart(RELEASE, NAMESPACE, ['--values', values])).filter((object) => object.kind === 'MutatingWebhookConfiguration');
    const deployment = (labels: Record<string, string>, { namespace = 'shop', podLabels = {}, priorityClassName }: { namespace?: string; podLabels?: Record<string, string>; priorityClassName?: string } = {}) =>
      admissionRequest({
        kind: GVK.deployment,
        resource: GVR.deployments,
        operation: 'CREATE',
        namespace,
        name: 'ledger',
        object: {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'ledger', namespace, labels },
          spec: { selector: { matchLabels: { app: 'ledger' } }, template: { metadata: { labels: { app: 'ledger', ...podLabels } }, spec: { ...(priorityClassName ? { priorityClassName } : {}), containers: [{ name: 'app', image: 'registry.example/ledger:1.0' }] } } },
        },
      });
    const sent = [
      ...Object.entries(ODD_LABELS).map(([key, value]) => ({ what: `labelled ${JSON.stringify(key)}=${JSON.stringify(value)}`, request: deployment({ [key]: value }) })),
      { what: 'its pods labelled with an odd label', request: deployment({}, { podLabels: { Tier: 'Upper_case.1' } }) },
      { what: 'in a configured namespace', request: deployment({}, { namespace: 'ledger-prod' }) },
      { what: 'of a configured priority class', request: deployment({}, { priorityClassName: 'business-critical' }) },
      ...ODD_PRIORITY_CLASSES.map((name) => ({ what: `of priority class ${JSON.stringify(name)}`, request: deployment({}, { priorityClassName: name }) })),
    ];
    const kept = [
      { what: 'critical by nothing', request: deployment({ app: 'ledger' }) },
      { what: 'labelled with the default label the configuration replaced', request: deployment({ 'levee.dev/critical': 'true' }) },
      ...Object.entries(ODD_LABELS).map(([key, value]) => ({ what: `labelled ${JSON.stringify(key)} with another value`, request: deployment({ [key]: `${value}x` }) })),
      { what: 'of a default priority class the configuration replaced', request: deployment({}, { priorityClassName: 'system-cluster-critical' }) },
      ...ODD_PRIORITY_CLASSES.map((name) => ({ what: `of priority class ${JSON.stringify(name)} and more`, request: deployment({}, { priorityClassName: `${name}x` }) })),
    ];
    const cases = [...sent, ...kept];
    const answer = spawnSync(built.stdout.trim(), [], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, input: JSON.stringify({ configurations, requests: cases.map((each) => each.request) }) });
    assert.equal(answer.status, 0, answer.stderr);
    const results = (JSON.parse(answer.stdout) as { results: Array<{ calls: Array<{ webhook: string; selected: boolean; rules: boolean; conditions: string; error?: string }> }> }).results;
    const outcome = results.map((result) => {
      const call = result.calls.find((each) => each.webhook === MUTATE_WEBHOOK);
      assert.ok(call && call.selected && call.rules, `${MUTATE_WEBHOOK} takes Deployments in shop and ledger-prod`);
      return call.conditions === 'error' ? `error: ${call.error}` : call.conditions;
    });
    assert.deepEqual(
      cases.map((each, i) => `${each.what}: ${outcome[i]}`),
      cases.map((each, i) => `${each.what}: ${i < sent.length ? 'match' : 'skip'}`),
    );
  });

  it('the configurations above render different conditions (each case tests something of its own)', () => {
    assert.equal(rendered.size, CASES.length, 'every case rendered');
    const distinct = new Set(rendered.values());
    // On purpose the same text: another topology key is the default condition; disabling the spread, no
    // criterion and only an empty class name all leave the annotation clauses alone.
    assert.equal(distinct.size, CASES.length - 3);
  });
});
