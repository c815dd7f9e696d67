import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { substitute } from './substitute.js';

/**
 * The upstream corpus as test/fixtures/upstream/index.json describes it: pinned modules, the
 * sets of manifests taken from them, and how each set is cut into units (one `levee audit` run
 * each: a template file is one workload cluster, a sample folder is one application).
 */

const repoRoot = process.cwd();
export const fixturesDir = join(repoRoot, 'test', 'fixtures', 'upstream');

export interface ModuleEntry {
  module: string;
  version: string;
  sum: string;
  repository: string;
  tag?: string;
  commit?: string;
  folders: string[];
}

export interface Exclusion {
  pattern: string;
  why: string;
}

export interface CorpusSet {
  name: string;
  module: string;
  about: string;
  include: string[];
  exclude?: Exclusion[];
  unit: 'file' | 'dir';
  /** Name of a variables map in the index: the set's files are clusterctl templates. */
  variables?: string;
}

export interface UpstreamIndex {
  modules: Record<string, ModuleEntry>;
  variables: Record<string, Record<string, string>>;
  sets: CorpusSet[];
}

export interface Unit {
  set: CorpusSet;
  /** Module-relative path of the file or folder: the unit's name in expectations. */
  path: string;
  /** Module-relative paths of the unit's files. */
  files: string[];
  tree: string;
}

export function readJson<T>(name: string): T {
  return JSON.parse(readFileSync(join(fixturesDir, name), 'utf8')) as T;
}

export function loadIndex(): UpstreamIndex {
  return readJson<UpstreamIndex>('index.json');
}

/** Runs scripts/upstream.mjs (downloads what is missing); returns the extracted tree per module key. */
export async function ensureTrees(): Promise<Record<string, string>> {
  const { stdout } = await run(process.execPath, [join(repoRoot, 'scripts', 'upstream.mjs')], 1_800_000);
  return JSON.parse(stdout) as Record<string, string>;
}

export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

function listFiles(tree: string, dir = tree): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) return listFiles(tree, path);
      return entry.startsWith('.levee-') ? [] : [relative(tree, path)];
    });
}

/** The set's units, in a stable order; every include pattern must match something. */
export function unitsOf(set: CorpusSet, tree: string): Unit[] {
  const all = listFiles(tree);
  const excluded = (set.exclude ?? []).map((exclusion) => globToRegExp(exclusion.pattern));
  const chosen = new Set<string>();
  for (const pattern of set.include) {
    const regexp = globToRegExp(pattern);
    const matched = all.filter((file) => regexp.test(file));
    if (matched.length === 0) throw new Error(`${set.name}: include pattern ${pattern} matches no file in ${tree}`);
    for (const file of matched) if (!excluded.some((exclusion) => exclusion.test(file))) chosen.add(file);
  }
  const units = new Map<string, string[]>();
  for (const file of [...chosen].sort()) {
    const key = set.unit === 'file' ? file : dirname(file);
    units.set(key, [...(units.get(key) ?? []), file]);
  }
  return [...units].map(([path, files]) => ({ set, path, files, tree }));
}

/** The unit's files as clusterctl (or kubectl) would read them, written to a fresh folder. */
export function materialize(unit: Unit, variables: Readonly<Record<string, string>> | undefined, scratch: string): string {
  const dir = mkdtempSync(join(scratch, `${unit.set.name}-`));
  for (const file of unit.files) {
    const text = readFileSync(join(unit.tree, file), 'utf8');
    // Flattened: a unit is one folder as `kubectl apply -f` takes it.
    writeFileSync(join(dir, file.replaceAll('/', '__')), variables ? substitute(text, variables) : text);
  }
  return dir;
}

export function unitText(unit: Unit, variables: Readonly<Record<string, string>> | undefined): string {
  return unit.files
    .map((file) => {
      const text = readFileSync(join(unit.tree, file), 'utf8');
      return variables ? substitute(text, variables) : text;
    })
    .join('\n---\n');
}

const scratchDirs: string[] = [];

export function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'levee-upstream-'));
  scratchDirs.push(dir);
  return dir;
}

/** Removes every folder scratchDir() made in this process. */
export function removeScratchDirs(): void {
  for (const dir of scratchDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface FindingRef {
  policy: string;
  rule: string;
  action: string;
  overridden: boolean;
  object: { kind: string; name: string; namespace?: string };
  message: string;
  source: string;
}

export interface AuditOutcome {
  code: number;
  stderr: string;
  objects?: number;
  judged?: number;
  findings: FindingRef[];
}

/** `levee audit -f <dir> -o json` with the compiled bundle: the real CLI, as CI runs it. */
export async function audit(dir: string): Promise<AuditOutcome> {
  const { code, stdout, stderr } = await run(process.execPath, [join(repoRoot, 'bin', 'levee.js'), 'audit', '-f', dir, '-o', 'json'], 120_000);
  if (stdout.trim() === '') return { code, stderr, findings: [] };
  const report = JSON.parse(stdout) as { summary: { objects: number; judged: number }; findings: FindingRef[] };
  return { code, stderr, objects: report.summary.objects, judged: report.summary.judged, findings: report.findings };
}

/** One line per finding, as expectations name them: `policy/rule/action Kind/name`. */
export function findingKey(finding: Pick<FindingRef, 'policy' | 'rule' | 'action' | 'object'>): string {
  return `${finding.policy}/${finding.rule}/${finding.action} ${finding.object.kind}/${finding.object.name}`;
}

/** Runs jobs with as many in flight as the machine has cores. */
export async function inParallel<T, R>(items: readonly T[], job: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(availableParallelism(), items.length)) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await job(items[index]!);
    }
  });
  await Promise.all(workers);
  return results;
}

function run(command: string, args: string[], timeout: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: repoRoot, timeout, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export function unitId(unit: Pick<Unit, 'path'> & { set: Pick<CorpusSet, 'name'> }): string {
  return `${unit.set.name}:${unit.path}`;
}

