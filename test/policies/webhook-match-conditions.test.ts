import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { buildConfig } from '../../src/config.js';
import { MUTATE_CONDITION_NAME, MUTATE_WEBHOOK, mutateConditionExpression, registeredMutateCondition } from '../../src/policies/mutate-condition.js';
import { CORPUS_ENV, type CorpusEntry } from '../support/review-corpus.js';
import type { WebhookMatchCall as Call } from '../support/webhook-match.js';

/**
 * The webhook registrations' matchConditions (manifests/components/webhooks/webhooks.yaml)
 * never keep from levee a request that a policy finds something in, or that /mutate patches.
 * The conditions are evaluated by kube-apiserver's own code (tools/webhook-match: k8s.io/apiserver's
 * rules matcher and CEL matchConditions matcher, at the local cluster's version) on every
 * request the unit tests judge (test/support/review-corpus.ts), each judged with the shipped
 * bundle against the cluster state the test built.
 */

const WEBHOOKS = 'manifests/components/webhooks/webhooks.yaml';

function files(dir: string, suffix: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? files(path, suffix) : entry.endsWith(suffix) ? [path] : [];
  });
}

function run(command: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status}:\n${result.stderr.slice(-4000)}${result.stdout.slice(-4000)}`);
  return result.stdout;
}

/** Runs the unit tests that judge reviews in a child mocha with recording on, and reads what they judged. */
function recordCorpus(): CorpusEntry[] {
  const recording = files('dist/test/unit', '.test.js').filter((file) => /review-corpus\.js|support\/pipeline\.js/.test(readFileSync(file, 'utf8')));
  assert.ok(recording.length >= 5, `expected the policy and pipeline unit tests to record reviews, found ${recording.join(', ')}`);
  const dir = mkdtempSync(join(tmpdir(), 'levee-corpus-'));
  try {
    const corpus = join(dir, 'corpus.jsonl');
    run(process.execPath, ['node_modules/mocha/bin/mocha.js', '--reporter', 'dot', '--timeout', '20000', ...recording], { env: { ...process.env, [CORPUS_ENV]: corpus } });
    return readFileSync(corpus, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as CorpusEntry);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Registration {
  kind?: string;
  metadata: { name: string };
  webhooks?: Array<{ name: string; matchConditions?: Array<{ name: string; expression: string }> }>;
}

function webhookConfigurations(): Registration[] {
  return parseAllDocuments(readFileSync(WEBHOOKS, 'utf8')).map((doc) => doc.toJSON() as Registration);
}

/** The configuration name under which the shipped mutating registration carries the /mutate condition rendered as `expression`. */
const renderedName = (index: number): string => `levee-rendered-${index}`;

/** The shipped mutating registration, once per expression, with its /mutate condition replaced by that expression. */
function withRenderedConditions(expressions: string[]): Registration[] {
  const mutating = webhookConfigurations().find((object) => object.kind === 'MutatingWebhookConfiguration');
  assert.ok(mutating, `${WEBHOOKS} registers no MutatingWebhookConfiguration`);
  return expressions.map((expression, index) => {
    const copy = structuredClone(mutating);
    copy.metadata.name = renderedName(index);
    const condition = registeredMutateCondition(copy.webhooks ?? []);
    assert.ok(condition, `${MUTATE_WEBHOOK} has no condition ${MUTATE_CONDITION_NAME}`);
    condition.expression = expression;
    return copy;
  });
}

function describeRequest(entry: CorpusEntry): string {
  const { request } = entry;
  const resource = request.subResource ? `${request.resource.resource}/${request.subResource}` : request.resource.resource;
  return `${request.operation} ${resource}.${request.resource.group || 'core'} ${request.namespace ?? ''}/${request.name ?? request.object?.metadata?.name ?? request.oldObject?.metadata?.name ?? ''} by ${request.userInfo.username}`;
}

describe('webhook matchConditions (what the API server sends levee)', function () {
  this.timeout(15 * 60_000);
  let corpus: CorpusEntry[] = [];
  let calls: Call[][] = [];
  /** The /mutate conditions rendered from the configurations the corpus was judged with. */
  let rendered: string[] = [];
  /** Per request, the calls of the mutating registrations carrying `rendered` (named by renderedName). */
  let renderedCalls: Call[][] = [];

  before(() => {
    const tool = run('tools/build.sh', ['webhook-match']).trim();
    corpus = recordCorpus();
    rendered = [...new Set(corpus.flatMap((entry) => entry.patchedUnder))];
    const configurations = [...webhookConfigurations(), ...withRenderedConditions(rendered)];
    const answer = JSON.parse(run(tool, [], { input: JSON.stringify({ configurations, requests: corpus.map((entry) => entry.request) }) })) as { results: Array<{ calls: Call[] }> };
    const shipped = new Set(webhookConfigurations().map((object) => object.metadata.name));
    calls = answer.results.map((result) => result.calls.filter((call) => shipped.has(call.configuration)));
    renderedCalls = answer.results.map((result) => result.calls.filter((call) => !shipped.has(call.configuration)));
    assert.equal(calls.length, corpus.length);
  });

  it('judged a corpus with findings and patches from every policy', () => {
    const policies = new Set(corpus.flatMap((entry) => entry.findings.map((finding) => finding.split('/')[0])));
    assert.deepEqual([...policies].sort(), ['probe-gate', 'scale-to-zero', 'spot-capacity', 'version-skew']);
    assert.ok(corpus.filter((entry) => entry.findings.length > 0).length >= 30, 'at least 30 requests with findings');
    assert.ok(corpus.some((entry) => entry.patched), 'at least one request /mutate patches');
  });

  it('no condition fails to evaluate on any request (a failure refuses it on a Fail entry, skips levee on an Ignore one)', () => {
    const failures = corpus.flatMap((entry, i) =>
      calls[i]!.filter((call) => call.conditions === 'error').map((call) => `${describeRequest(entry)} on ${call.webhook}: ${call.error}`),
    );
    assert.deepEqual(failures, []);
  });

  /**
   * Requests that must reach a webhook of `type` and do not: no rule matches them, or every
   * webhook that would take them has a condition that keeps them away. A namespace a
   * registration leaves out on purpose (levee's own, kube-system for the failing-closed
   * entries) is the namespaceSelector's business, not the conditions'.
   */
  function keptAway(type: Call['type'], needs: (entry: CorpusEntry) => boolean, what: (entry: CorpusEntry) => string, callsOf = (i: number): Call[] => calls[i]!): string[] {
    return corpus.flatMap((entry, i) => {
      if (!needs(entry)) return [];
      const ofType = callsOf(i).filter((call) => call.type === type && call.rules);
      const sent = ofType.filter((call) => call.selected);
      if (sent.some((call) => call.conditions === 'match')) return [];
      if (sent.length === 0 && ofType.length > 0) return [];
      const why = ofType.length === 0 ? `no ${type} webhook's rules match it` : `kept away by ${sent.map((call) => `${call.webhook}: ${call.failedCondition}`).join('; ')}`;
      return [`${describeRequest(entry)} (${what(entry)}): ${why}`];
    });
  }

  it('every request a policy finds something in reaches /validate', () => {
    assert.ok(corpus.some((entry) => entry.findings.length > 0));
    assert.deepEqual(keptAway('validating', (entry) => entry.findings.length > 0, (entry) => entry.findings.join(', ')), []);
  });

  it('every request whose change levee remembers for the next decisions reaches /validate', () => {
    assert.ok(corpus.some((entry) => entry.remembered));
    assert.deepEqual(keptAway('validating', (entry) => entry.remembered, () => 'remembered'), []);
  });

  it('every subresource write /validate refuses reaches /validate (/mutate never runs for one, so nothing puts its stamps back)', () => {
    // A Binding (pods/binding, or the bindings resource) is a create whose annotations the API server copies onto the Pod.
    const refusedSubresourceWrite = (entry: CorpusEntry) =>
      entry.refused && (entry.request.operation === 'UPDATE' ? entry.request.subResource !== undefined : entry.request.operation === 'CREATE' && entry.request.kind.kind === 'Binding');
    assert.ok(corpus.some((entry) => refusedSubresourceWrite(entry) && entry.request.subResource === 'status' && entry.findings.length === 0), 'the corpus holds a status write refused for its stamps');
    assert.ok(corpus.some((entry) => refusedSubresourceWrite(entry) && entry.request.resource.resource === 'bindings'), 'the corpus holds a Binding refused for its stamps');
    assert.deepEqual(keptAway('validating', refusedSubresourceWrite, () => 'refused'), []);
  });

  it('every request /mutate patches reaches /mutate, under the condition rendered from the configuration that patched it', () => {
    assert.ok(corpus.some((entry) => entry.patched));
    assert.ok(corpus.every((entry) => entry.patched === entry.patchedUnder.length > 0));
    // The corpus's configurations differ in what is critical: more than one condition is rendered and checked.
    assert.ok(rendered.length >= 2, `only ${rendered.length} rendered /mutate condition(s)`);
    const missed = rendered.flatMap((expression, index) =>
      keptAway('mutating', (entry) => entry.patchedUnder.includes(expression), () => `patched under ${renderedName(index)}`, (i) => renderedCalls[i]!.filter((call) => call.configuration === renderedName(index))),
    );
    assert.deepEqual(missed, []);
  });

  it('the shipped /mutate condition is the one rendered from the default configuration', () => {
    const shipped = registeredMutateCondition(webhookConfigurations().flatMap((object) => object.webhooks ?? []));
    assert.equal(shipped?.expression, mutateConditionExpression(buildConfig().policies['spot-capacity']));
  });

  it('no rendered /mutate condition fails to evaluate on any request', () => {
    const failures = corpus.flatMap((entry, i) => renderedCalls[i]!.filter((call) => call.conditions === 'error').map((call) => `${describeRequest(entry)} on ${call.configuration}: ${call.error}`));
    assert.deepEqual(failures, []);
  });

  it('every condition leaves out some request the unit tests judge (one that leaves out nothing is a typo or dead weight)', () => {
    const registered = webhookConfigurations()
      .flatMap((object) => (object.webhooks ?? []).flatMap((webhook) => (webhook.matchConditions ?? []).map((condition) => condition.name)));
    const skippedBy = new Set(calls.flat().filter((call) => call.rules && call.selected && call.conditions === 'skip').map((call) => call.failedCondition));
    assert.ok(registered.length >= 5, `only ${registered.length} conditions registered`);
    assert.deepEqual([...new Set(registered)].filter((name) => !skippedBy.has(name)), []);
  });

  it('no /validate condition reads ownerReferences: the sender writes them, only levee can tell whether to believe one', () => {
    const readers = webhookConfigurations()
      .filter((object) => object.kind === 'ValidatingWebhookConfiguration')
      .flatMap((object) => (object.webhooks ?? []).flatMap((webhook) => (webhook.matchConditions ?? []).filter((condition) => /ownerReferences/.test(condition.expression)).map((condition) => `${webhook.name}: ${condition.name}`)));
    assert.deepEqual(readers, []);
  });

  it('base and dev overlay register the same matchConditions as the component', () => {
    const conditionsOf = (objects: unknown[]) =>
      (objects as Array<{ kind?: string; webhooks?: Array<{ name: string; matchConditions?: unknown }> }>)
        .filter((object) => object.kind?.endsWith('WebhookConfiguration'))
        .flatMap((object) => (object.webhooks ?? []).map((webhook) => [webhook.name, webhook.matchConditions]));
    const expected = conditionsOf(webhookConfigurations()).sort();
    for (const dir of ['manifests/base', 'manifests/overlays/dev']) {
      const rendered = parseAllDocuments(run('kubectl', ['kustomize', dir])).map((doc) => doc.toJSON());
      assert.deepEqual(conditionsOf(rendered).sort(), expected, dir);
    }
  });

  it('unit tests hand their reviews to the pipeline through test/support/review-corpus.ts, so every one is checked here', () => {
    const direct = [...files('test/unit', '.ts'), ...files('test/support', '.ts').filter((file) => !file.endsWith('review-corpus.ts'))].flatMap((file) => {
      const text = readFileSync(file, 'utf8');
      const found = [
        ...(/\.buildContext\(/.test(text) ? ['calls buildContext'] : []),
        ...(/\.mutate\(\{/.test(text) ? ['calls a mutator'] : []),
        ...(/import\s*\{[^}]*\bjudge\b[^}]*\}\s*from\s*'[^']*src\/engine\/pipeline\.js'/.test(text) ? ['imports judge from src'] : []),
      ];
      return found.map((what) => `${file} ${what} directly; use contextOf, mutateWith or judge from test/support/review-corpus.ts`);
    });
    assert.deepEqual(direct, []);
  });
});
