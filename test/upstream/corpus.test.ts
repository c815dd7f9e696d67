import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  audit,
  ensureTrees,
  findingKey,
  globToRegExp,
  inParallel,
  loadIndex,
  materialize,
  readJson,
  removeScratchDirs,
  scratchDir,
  unitId,
  unitsOf,
  unitText,
  type AuditOutcome,
  type Unit,
} from '../support/upstream/corpus.js';
import { mergePatch, mutate, type Change } from '../support/upstream/mutate.js';
import { MissingVariablesError, substitute } from '../support/upstream/substitute.js';

/**
 * levee's real `levee audit` (the CLI with the compiled bundle, JSON report) on manifests that
 * nobody here wrote: pinned upstream modules (test/fixtures/upstream/index.json), fetched by
 * scripts/upstream.mjs into the cache. Clean units must give no finding but the true ones named
 * in clean.json; mutations derived from them must be judged as issue 12 says (mutations.json).
 * The cases today's levee still gets wrong are in pending.json, asserted to be still judged the
 * old way, so that fixing a rule fails this test until the case moves to mutations.json.
 */

interface Expectation {
  refused?: string[];
  allowed?: string[];
}

interface MutationCase {
  name: string;
  issue: string;
  unit: string;
  why: string;
  change: Change[];
  expect: Expectation;
  today?: string;
}

interface CleanExpectations {
  objects: Record<string, number>;
  findings: Record<string, Array<{ finding: string; why: string }>>;
}

interface Pending {
  unreadable: Array<{ unit: string; today: string; expect: string }>;
  mutations: MutationCase[];
}

const index = loadIndex();
const clean = readJson<CleanExpectations>('clean.json');
const mutations = readJson<{ mutations: MutationCase[] }>('mutations.json').mutations;
const pending = readJson<Pending>('pending.json');
const trees = await ensureTrees();
const unitsBySet = new Map(index.sets.map((set) => [set.name, unitsOf(set, trees[set.module]!)]));
const allUnits = new Map([...unitsBySet.values()].flat().map((unit) => [unitId(unit), unit]));
const unreadable = new Map(pending.unreadable.map((entry) => [entry.unit, entry]));
const scratch = scratchDir();

function variablesOf(unit: Unit): Readonly<Record<string, string>> | undefined {
  return unit.set.variables ? index.variables[unit.set.variables] : undefined;
}

function describeOutcome(outcome: AuditOutcome): string {
  return `exit ${outcome.code}; findings: ${outcome.findings.map(findingKey).join('; ') || 'none'}${outcome.stderr ? `; stderr: ${outcome.stderr.trim()}` : ''}`;
}

/** Whether the outcome is what issue 12 asks: each `refused` entry a deny on that object, no deny of an `allowed` policy. */
function unmet(outcome: AuditOutcome, expect: Expectation): string[] {
  const problems: string[] = [];
  if (outcome.code !== 0 && outcome.code !== 1) problems.push(`the audit failed (${describeOutcome(outcome)})`);
  const denies = outcome.findings.filter((finding) => finding.action === 'deny' && !finding.overridden);
  for (const refused of expect.refused ?? []) {
    const [policy, object] = refused.split(' ');
    if (!denies.some((finding) => finding.policy === policy && `${finding.object.kind}/${finding.object.name}` === object)) {
      problems.push(`not refused: ${refused}`);
    }
  }
  for (const policy of expect.allowed ?? []) {
    for (const finding of denies.filter((f) => f.policy === policy)) problems.push(`refused: ${findingKey(finding)}: ${finding.message}`);
  }
  return problems;
}

after(removeScratchDirs);

describe('upstream corpus: the index', () => {
  it('pins every module by version and go.sum hash, with its repository and a tag or the commit of its pseudo-version', () => {
    for (const [key, entry] of Object.entries(index.modules)) {
      assert.match(entry.sum, /^h1:[A-Za-z0-9+/]{43}=$/, `${key}: sum`);
      assert.match(entry.repository, /^github\.com\/[\w.-]+\/[\w.-]+$/, `${key}: repository`);
      assert.ok(entry.folders.length > 0, `${key}: folders`);
      const pseudo = /-(?:\d+\.)?\d{14}-([0-9a-f]{12})$/.exec(entry.version);
      if (pseudo) assert.equal(entry.commit, pseudo[1], `${key}: the commit of ${entry.version}`);
      else assert.ok(entry.tag?.endsWith(entry.version), `${key}: tag of ${entry.version}`);
    }
  });

  it('refuses a module whose hash differs from its pin, and leaves the cached tree alone', async () => {
    const script = (await import(pathToFileURL(join(process.cwd(), 'scripts', 'upstream.mjs')).href)) as {
      ensureUpstream(options: { index: { modules: Record<string, unknown> } }): Record<string, string>;
    };
    const podinfo = index.modules.podinfo!;
    const tampered = { modules: { podinfo: { ...podinfo, sum: 'h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' } } };
    assert.throws(() => script.ensureUpstream({ index: tampered }), /hash h1:\S+ differs from the pinned h1:AAAA/);
    assert.deepEqual(script.ensureUpstream({ index: { modules: { podinfo } } }), { podinfo: trees.podinfo });
  });

  it('names only sets, units and modules that exist', () => {
    for (const set of index.sets) {
      assert.ok(index.modules[set.module], `${set.name}: unknown module ${set.module}`);
      assert.ok((unitsBySet.get(set.name) ?? []).length > 0, `${set.name}: no unit`);
      assert.ok(set.variables === undefined || index.variables[set.variables], `${set.name}: unknown variables ${set.variables}`);
      assert.ok(set.name in clean.objects, `${set.name}: clean.json has no object count`);
    }
    const named = [...Object.keys(clean.findings), ...pending.unreadable.map((entry) => entry.unit), ...[...mutations, ...pending.mutations].map((c) => c.unit)];
    for (const unit of named) assert.ok(allUnits.has(unit), `no unit ${unit} in the corpus`);
    const names = [...mutations, ...pending.mutations].map((c) => c.name);
    assert.equal(new Set(names).size, names.length, 'mutation names are unique');
  });
});

describe('upstream corpus: clusterctl variable substitution', () => {
  it('substitutes plain, defaulted, nested and sliced variables, and $$ as a literal $', () => {
    const variables = { CLUSTER_NAME: 'prod', EMPTY: '' };
    assert.equal(substitute('name: "${CLUSTER_NAME}-md-0"', variables), 'name: "prod-md-0"');
    assert.equal(substitute('${SERVICE_DOMAIN:="cluster.local"} ${EMPTY:-x} ${EMPTY-y} ${EMPTY:=z}', variables), '"cluster.local" x  z');
    assert.equal(substitute('${CLASS_NS:-${CLUSTER_NAME}}', variables), 'prod');
    assert.equal(substitute('${CLUSTER_NAME:0:2}|${CLUSTER_NAME:1}', variables), 'pr|rod');
    assert.equal(substitute('echo $$(VAR) $HOME', variables), 'echo $(VAR) $HOME');
  });

  it('refuses a variable with no value and no default, naming every one, as clusterctl does', () => {
    assert.throws(() => substitute('${B} ${A} ${A} ${C:-ok}', {}), (err: unknown) => err instanceof MissingVariablesError && err.message === 'value for variables [A, B] is not set');
    assert.throws(() => substitute('${UNTERMINATED', {}), /unterminated/);
  });

  it('merges a mutation as kubectl patch --type=merge does', () => {
    assert.deepEqual(mergePatch({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, d: null, e: 'x' }), { a: { b: 1, c: [3] }, e: 'x' });
  });

  it('matches include patterns by path segment', () => {
    assert.ok(globToRegExp('samples/**/*.yaml').test('samples/a/b/c.yaml'));
    assert.ok(globToRegExp('samples/**/*.yaml').test('samples/c.yaml'));
    assert.ok(!globToRegExp('templates/*.yaml').test('templates/sub/c.yaml'));
  });
});

for (const set of index.sets) {
  describe(`upstream corpus: ${set.name} (${index.modules[set.module]!.module}@${index.modules[set.module]!.version})`, function () {
    this.timeout(1_800_000);
    const units = unitsBySet.get(set.name) ?? [];
    const outcomes = new Map<string, AuditOutcome>();

    before(async function () {
      this.timeout(1_800_000);
      const results = await inParallel(units, async (unit) => audit(materialize(unit, variablesOf(unit), scratch)));
      units.forEach((unit, i) => outcomes.set(unitId(unit), results[i]!));
    });

    it(`${set.about}: no finding but the true ones named in clean.json`, () => {
      const problems: string[] = [];
      for (const unit of units) {
        const id = unitId(unit);
        const outcome = outcomes.get(id)!;
        const known = unreadable.get(id);
        if (known) {
          if (outcome.code !== 2 || !outcome.stderr.includes(known.today)) {
            problems.push(`${id} was unreadable today ("${known.today}") and is now ${describeOutcome(outcome)}: remove it from pending.json`);
          }
          continue;
        }
        if (outcome.code !== 0 && outcome.code !== 1) {
          problems.push(`${id}: ${describeOutcome(outcome)}`);
          continue;
        }
        const expected = (clean.findings[id] ?? []).map((entry) => entry.finding).sort();
        const actual = outcome.findings.map(findingKey).sort();
        if (JSON.stringify(actual) !== JSON.stringify(expected)) {
          problems.push(`${id}: expected ${JSON.stringify(expected)}, found ${JSON.stringify(actual)} (${outcome.findings.map((f) => f.message).join(' | ')})`);
        }
        const denies = outcome.findings.some((finding) => finding.action === 'deny' && !finding.overridden);
        if (outcome.code !== (denies ? 1 : 0)) problems.push(`${id}: exit ${outcome.code} with ${denies ? 'a' : 'no'} deny-level finding`);
      }
      assert.deepEqual(problems, []);
    });

    it('reads every object of the readable units', () => {
      const objects = units.reduce((sum, unit) => sum + (outcomes.get(unitId(unit))?.objects ?? 0), 0);
      assert.equal(objects, clean.objects[set.name], `objects read from ${set.name}`);
    });
  });
}

describe('upstream corpus: mutations derived from upstream units', function () {
  this.timeout(1_800_000);
  const outcomes = new Map<string, AuditOutcome>();
  const cases = [...mutations, ...pending.mutations];

  before(async function () {
    this.timeout(1_800_000);
    const results = await inParallel(cases, async (mutation) => {
      const unit = allUnits.get(mutation.unit);
      if (!unit) throw new Error(`${mutation.name}: no unit ${mutation.unit}`);
      const dir = scratchDir();
      writeFileSync(join(dir, `${mutation.name}.yaml`), mutate(unitText(unit, variablesOf(unit)), mutation.change));
      return audit(dir);
    });
    cases.forEach((mutation, i) => outcomes.set(mutation.name, results[i]!));
  });

  for (const mutation of mutations) {
    const verdict = mutation.expect.refused ? `refused: ${mutation.expect.refused.join(', ')}` : `allowed by ${mutation.expect.allowed?.join(', ')}`;
    it(`${mutation.name} (${mutation.issue}): ${verdict}`, () => {
      const outcome = outcomes.get(mutation.name)!;
      assert.deepEqual(unmet(outcome, mutation.expect), [], `${mutation.why}; ${describeOutcome(outcome)}`);
    });
  }

  describe('pending: what issue 12 asks and today\'s levee does not do yet (pending.json)', () => {
    for (const mutation of pending.mutations) {
      it(`${mutation.name} (${mutation.issue}) is still judged the old way: ${mutation.today}`, () => {
        const outcome = outcomes.get(mutation.name)!;
        assert.notEqual(
          unmet(outcome, mutation.expect).length,
          0,
          `${mutation.name} is now judged as issue 12 asks (${describeOutcome(outcome)}): move it from pending.json to mutations.json`,
        );
        assert.ok(outcome.code === 0 || outcome.code === 1, describeOutcome(outcome));
      });
    }
  });
});
