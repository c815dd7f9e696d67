// The upstream corpus: pinned Go module zips of Cluster API, its providers, Karpenter and
// well-known applications (test/fixtures/upstream/index.json), downloaded with the go command
// (which checks each zip against the checksum database), checked against the h1: hash pinned in
// the index, and the folders the index names extracted into the cache outside the repository:
//
//   ~/.cache/levee/upstream/gomod/          the go command's module cache (the verified zips)
//   ~/.cache/levee/upstream/trees/<key>/    the index's folders of one module, extracted by tools/modzip
//
//   node scripts/upstream.mjs            fetch what is missing; print {"<key>": "<tree>"} as JSON
//   node scripts/upstream.mjs --stats    the same, then the cache's size on stderr
//
// A warm call reads one marker file per module. Nothing here is copied into the repository.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { capture, repoRoot, say } from './lib/run.mjs';

export const indexPath = join(repoRoot, 'test', 'fixtures', 'upstream', 'index.json');

export function cacheRoot() {
  const base = process.env.LEVEE_CACHE_DIR || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'levee');
  return join(base, 'upstream');
}

function goEnv(root) {
  const path = `/usr/local/go/bin:${process.env.PATH ?? ''}`;
  // Only the module proxy: never a direct clone of a repository.
  return { ...process.env, PATH: path, GOTOOLCHAIN: 'local', GOFLAGS: '', GOPROXY: 'https://proxy.golang.org', GOMODCACHE: join(root, 'gomod') };
}

/** `go mod download -json` of one pinned module; returns the path of its verified zip. */
function download(entry, root) {
  const spec = `${entry.module}@${entry.version}`;
  const result = spawnSync('go', ['mod', 'download', '-json', spec], { env: goEnv(root), encoding: 'utf8', cwd: root });
  if (result.error) throw new Error(`go could not start (Go 1.26+ is needed for the upstream corpus): ${result.error.message}`);
  let info;
  try {
    info = JSON.parse(result.stdout);
  } catch {
    throw new Error(`go mod download ${spec} failed: ${(result.stderr || result.stdout).trim()}`);
  }
  // The go command downloads and verifies the zip before it checks the module's go line; a
  // module that asks for a newer Go than this machine's is still a verified zip for our purpose.
  if (info.Error && !/requires go >= /.test(info.Error)) throw new Error(`go mod download ${spec}: ${info.Error}`);
  if (!info.Zip || !existsSync(info.Zip)) throw new Error(`go mod download ${spec}: no zip (${info.Error ?? 'no error given'})`);
  if (info.Sum !== entry.sum) throw new Error(`${spec}: hash ${info.Sum} differs from the pinned ${entry.sum} in ${indexPath}`);
  return info.Zip;
}

/**
 * The go command also extracts the whole module (five times the zip, 500 MiB for the corpus);
 * only the zip is read, so its read-only extraction is removed again.
 */
function dropExtraction(entry, root) {
  const escaped = entry.module.replace(/[A-Z]/g, (letter) => `!${letter.toLowerCase()}`);
  const dir = join(root, 'gomod', `${escaped}@${entry.version}`);
  if (!existsSync(dir)) return;
  spawnSync('chmod', ['-R', 'u+w', dir]);
  rmSync(dir, { recursive: true, force: true });
}

function markerOf(entry) {
  return JSON.stringify({ module: entry.module, version: entry.version, sum: entry.sum, folders: entry.folders });
}

/** Makes sure every module's folders are extracted; returns {key: tree directory}. */
export function ensureUpstream({ index = JSON.parse(readFileSync(indexPath, 'utf8')) } = {}) {
  const root = cacheRoot();
  mkdirSync(join(root, 'trees'), { recursive: true });
  const trees = {};
  let modzip;
  for (const [key, entry] of Object.entries(index.modules)) {
    const tree = join(root, 'trees', `${key}@${entry.version}`);
    const marker = join(tree, '.levee-upstream.json');
    trees[key] = tree;
    if (existsSync(marker) && readFileSync(marker, 'utf8') === markerOf(entry)) continue;
    const started = Date.now();
    const zip = download(entry, root);
    modzip ??= capture(join(repoRoot, 'tools', 'build.sh'), ['modzip']);
    const partial = `${tree}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    const files = capture(modzip, [zip, partial, ...entry.folders]);
    dropExtraction(entry, root);
    writeFileSync(join(partial, '.levee-upstream.json'), markerOf(entry));
    rmSync(tree, { recursive: true, force: true });
    renameSync(partial, tree);
    say(`upstream: ${entry.module}@${entry.version}: ${statSync(zip).size} bytes, ${files} files extracted in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  return trees;
}

function sizeOf(path) {
  let total = 0;
  let stats;
  try {
    stats = statSync(path);
  } catch {
    return 0;
  }
  if (!stats.isDirectory()) return stats.size;
  for (const entry of readdirSync(path)) total += sizeOf(join(path, entry));
  return total;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const trees = ensureUpstream();
    process.stdout.write(`${JSON.stringify(trees)}\n`);
    if (process.argv.includes('--stats')) {
      const root = cacheRoot();
      const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;
      say(`upstream cache ${root}: zips ${mib(sizeOf(join(root, 'gomod', 'cache', 'download')))}, ` +
        `go module cache ${mib(sizeOf(join(root, 'gomod')))}, extracted trees ${mib(sizeOf(join(root, 'trees')))}`);
    }
  } catch (err) {
    say(err.message);
    process.exitCode = 1;
  }
}
