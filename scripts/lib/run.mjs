// Small process helpers shared by levee's scripts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
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

/** Installs the npm dependencies when node_modules is missing or older than the lockfile. */
export function ensureNodeModules() {
  if (existsSync(join(repoRoot, 'node_modules', '.package-lock.json'))) return;
  say('installing npm dependencies (npm ci)...');
  run('npm', ['ci', '--no-audit', '--no-fund']);
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
