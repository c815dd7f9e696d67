import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { call } from '../support/https.js';
import { eventually } from '../support/e2e.js';

/**
 * The image's runtime stage, assembled on the host from the Dockerfile's own COPY lines
 * (there is no container engine here): the build stage's output with dev dependencies
 * pruned, run as the image's non-root user. It proves the final stage carries everything
 * `levee audit`, `levee certs` and `levee serve` need, and nothing from the dev tree.
 */

const repo = process.cwd();
const IMAGE_USER = 10001;
const PORT = 18643;

interface Copy {
  fromBuild: boolean;
  source: string;
  destination: string;
}

/** The COPY lines of the Dockerfile's last stage, and its user. */
function runtimeStage(dockerfile: string): { copies: Copy[]; user: string } {
  const lines = dockerfile.split('\n');
  const lastFrom = lines.map((line) => /^FROM\s/.test(line)).lastIndexOf(true);
  const stage = lines.slice(lastFrom);
  const copies = stage.flatMap((line): Copy[] => {
    const match = /^COPY\s+(--from=(\S+)\s+)?(\S+)\s+(\S+)\s*$/.exec(line);
    return match ? [{ fromBuild: match[2] === 'build', source: match[3]!, destination: match[4]! }] : [];
  });
  const user = stage.find((line) => line.startsWith('USER '))?.slice(5).trim() ?? '';
  return { copies, user };
}

function run(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  assert.equal(result.status, 0, `${command} ${args.join(' ')}: ${result.stderr}`);
}

function levee(app: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(app, 'bin/levee.js'), ...args], { cwd: app, uid: IMAGE_USER, gid: IMAGE_USER, env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production' } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('e2e: the image runtime stage, assembled from the Dockerfile', function () {
  this.timeout(180_000);
  let work = '';
  let app = '';
  let server: ChildProcess | undefined;

  before(function () {
    assert.ok(existsSync(join(repo, 'dist/policies/bundle.tar.gz')), 'npm run build first');
    assert.equal(process.getuid?.(), 0, 'running commands as the image user (10001) needs root');
    const stage = runtimeStage(readFileSync(join(repo, 'Dockerfile'), 'utf8'));
    assert.equal(stage.user, `${IMAGE_USER}:${IMAGE_USER}`);
    assert.ok(stage.copies.length >= 4, JSON.stringify(stage.copies));

    work = mkdtempSync(join(tmpdir(), 'levee-image-'));
    chmodSync(work, 0o755);
    // The build stage's /src after `npm prune --omit=dev`.
    const build = join(work, 'build');
    mkdirSync(build);
    for (const file of ['package.json', 'package-lock.json']) cpSync(join(repo, file), join(build, file));
    cpSync(join(repo, 'node_modules'), join(build, 'node_modules'), { recursive: true, verbatimSymlinks: true });
    cpSync(join(repo, 'dist'), join(build, 'dist'), { recursive: true });
    run('npm', ['prune', '--omit=dev', '--offline', '--no-audit', '--no-fund'], build);

    app = join(work, 'app');
    mkdirSync(app);
    for (const copy of stage.copies) {
      const source = copy.fromBuild ? join(build, copy.source.replace(/^\/src\//, '')) : join(repo, copy.source);
      // COPY puts a file into a destination ending in '/', and a directory's content into its destination.
      const into = !statSync(source).isDirectory() && copy.destination.endsWith('/');
      const target = into ? join(app, copy.destination, basename(source)) : join(app, copy.destination);
      mkdirSync(dirname(target), { recursive: true });
      cpSync(source, target, { recursive: true, verbatimSymlinks: true });
    }
  });

  after(() => {
    server?.kill('SIGKILL');
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('carries no dev dependencies and no sources', () => {
    assert.equal(existsSync(join(app, 'node_modules/mocha')), false, 'mocha was pruned');
    assert.equal(existsSync(join(app, 'node_modules/typescript')), false, 'typescript was pruned');
    assert.equal(existsSync(join(app, 'src')), false);
    assert.equal(existsSync(join(app, 'test')), false);
    assert.ok(existsSync(join(app, 'dist/policies/bundle.tar.gz')));
  });

  it('runs `levee audit` as the image user and finds the three incidents', async () => {
    const result = await levee(app, ['audit', '-f', join(repo, 'test/fixtures/incidents'), '-o', 'json']);
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout) as { summary: { byPolicy: Record<string, { deny: number }> } };
    for (const policy of ['version-skew', 'scale-to-zero', 'spot-capacity']) assert.ok((report.summary.byPolicy[policy]?.deny ?? 0) > 0, policy);
  });

  it('makes certificates with `levee certs`, then `levee serve` answers /healthz over TLS with the API server unreachable', async () => {
    const certs = join(work, 'certs');
    mkdirSync(certs);
    chownSync(certs, IMAGE_USER, IMAGE_USER);
    const made = await levee(app, ['certs', '--out', certs, '--dns', 'localhost', '--ip', '127.0.0.1']);
    assert.equal(made.code, 0, made.stderr);
    const kubeconfig = join(work, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'gone', cluster: { server: 'https://127.0.0.1:1' } }],
        users: [{ name: 'gone', user: { token: 'unused' } }],
        contexts: [{ name: 'gone', context: { cluster: 'gone', user: 'gone' } }],
        'current-context': 'gone',
      }),
    );
    chmodSync(kubeconfig, 0o644);
    const args = ['serve', '--port', String(PORT), '--host', '127.0.0.1', '--kubeconfig', kubeconfig, '--tls-cert', join(certs, 'tls.crt'), '--tls-key', join(certs, 'tls.key'), '--verdict-file', join(work, 'verdict.json')];
    server = spawn(process.execPath, [join(app, 'bin/levee.js'), ...args], { cwd: app, uid: IMAGE_USER, gid: IMAGE_USER, env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production' }, stdio: 'ignore' });
    const ca = readFileSync(join(certs, 'ca.crt'), 'utf8');
    await eventually('levee serve to answer /healthz', async () => {
      const health = await call(PORT, ca, { method: 'GET', path: '/healthz' }).catch((err: Error) => ({ status: 0, text: err.message }));
      return health.status === 200 || `${health.status} ${health.text}`;
    });
    const ready = await call(PORT, ca, { method: 'GET', path: '/readyz' });
    assert.equal(ready.status, 503, 'not ready before its caches have synced');
  });
});
