// Small process helpers shared by levee's scripts.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function say(message) {
  process.stderr.write(`levee: ${message}\n`);
}

/** Runs a command with inherited output; throws with the command line when it fails. */
export function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', cwd: repoRoot, ...options });
  if (result.error) throw new Error(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  return result;
}

/** Runs a command and returns its trimmed stdout (stderr passes through, so progress stays visible). */
export function capture(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: repoRoot, encoding: 'utf8', ...options });
  if (result.error) throw new Error(`${command} could not start: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}`);
  return result.stdout.trim();
}

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** The Node.js release package.json pins (devDependency `node`: official binaries from the npm registry). */
export function pinnedNode() {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
  const version = pkg.devDependencies?.node;
  return { version, path: join(repoRoot, 'node_modules', 'node', 'bin', 'node') };
}

function installedNodeVersion() {
  try {
    return JSON.parse(readFileSync(join(repoRoot, 'node_modules', 'node', 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

/** Installs the npm dependencies when node_modules is missing or lacks the pinned Node.js. */
export function ensureNodeModules() {
  const installed = existsSync(join(repoRoot, 'node_modules', '.package-lock.json'));
  if (installed && installedNodeVersion() === pinnedNode().version) return;
  say(installed ? `node_modules lacks the pinned Node.js ${pinnedNode().version}; reinstalling (npm ci)...` : 'installing npm dependencies (npm ci)...');
  npmCiBounded();
}

const NPM_CI_ATTEMPTS = 3;
const NPM_CI_DEADLINE_SECONDS = 900;

/**
 * npm's own retries cover refused connections but not a registry connection that goes silent:
 * the `node` package's preinstall runs a nested `npm install` that can then wait forever. Each
 * attempt gets per-request timeouts (inherited by the nested npm through the environment) and a
 * deadline enforced by coreutils `timeout`, which stops the whole process group.
 */
export function npmCiBounded(extraArgs = [], options = {}) {
  const env = {
    ...process.env,
    npm_config_fetch_timeout: process.env.npm_config_fetch_timeout ?? '60000',
    npm_config_fetch_retries: process.env.npm_config_fetch_retries ?? '4',
    npm_config_fetch_retry_maxtimeout: process.env.npm_config_fetch_retry_maxtimeout ?? '30000',
  };
  const args = ['--kill-after=30', String(NPM_CI_DEADLINE_SECONDS), 'npm', 'ci', '--no-audit', '--no-fund', ...extraArgs];
  for (let attempt = 1; ; attempt += 1) {
    const result = spawnSync('timeout', args, { stdio: 'inherit', cwd: repoRoot, env, ...options });
    if (result.error) throw new Error(`npm ci could not start: ${result.error.message}`);
    if (result.status === 0) return;
    const why = result.status === 124 || result.status === 137 ? `took longer than ${NPM_CI_DEADLINE_SECONDS} s` : `exited with ${result.status ?? result.signal}`;
    if (attempt === NPM_CI_ATTEMPTS) throw new Error(`npm ci ${why} on each of ${NPM_CI_ATTEMPTS} attempts; check access to the npm registry (${env.npm_config_registry ?? 'https://registry.npmjs.org'})`);
    say(`npm ci ${why}; trying again (${attempt + 1} of ${NPM_CI_ATTEMPTS})...`);
  }
}

/**
 * levee runs and is tested on the Node.js LTS that package.json pins. npm scripts find it
 * first on PATH (node_modules/.bin); a script started otherwise (the first `npm test` of a
 * fresh clone, before node_modules existed, or `node scripts/...` by hand on an older Node)
 * installs it and restarts itself on it, passing signals on. Resolves only on the pinned Node.
 */
export async function onPinnedNode() {
  ensureNodeModules();
  const { version, path } = pinnedNode();
  if (process.versions.node === version) return;
  if (!existsSync(path)) throw new Error(`the pinned Node.js ${version} is missing at ${path}; run npm ci`);
  say(`running on the pinned Node.js ${version} from node_modules (this shell's is ${process.version})`);
  // node_modules/.bin first on PATH, as npm scripts have it, so children that look up `node` get it too.
  const env = { ...process.env, PATH: [join(repoRoot, 'node_modules', '.bin'), process.env.PATH].filter(Boolean).join(delimiter) };
  const child = spawn(path, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  const code = await new Promise((resolve) => child.on('exit', (exitCode, signal) => resolve(exitCode ?? 128 + (constants.signals[signal] ?? 0))));
  process.exit(code);
}

/** Installs Debian packages for missing commands; levee's scripts need only a few. */
export function ensureCommands(packagesByCommand) {
  const missing = Object.entries(packagesByCommand).filter(([command]) => !onPath(command));
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map(([, pkg]) => pkg))];
  if (process.getuid?.() !== 0 || !onPath('apt-get')) {
    throw new Error(`missing ${missing.map(([c]) => c).join(', ')}; install the Debian packages ${packages.join(' ')}`);
  }
  say(`installing ${packages.join(' ')} (apt-get)...`);
  run('apt-get', ['update', '-qq']);
  run('apt-get', ['install', '-y', '-qq', ...packages], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

/**
 * Path of a pinned Go tool, built and cached on first use (tools/build.sh).
 * LEVEE_<TOOL> (e.g. LEVEE_OPA) points at a prebuilt one instead, as the image build does.
 */
export function toolPath(tool) {
  const prebuilt = process.env[`LEVEE_${tool.toUpperCase()}`];
  if (prebuilt) return prebuilt;
  return capture(join(repoRoot, 'tools', 'build.sh'), [tool]);
}
