import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { call } from '../support/https.js';
import { e2e, e2ePort, eventually } from '../support/e2e.js';

/**
 * The image built without a container engine (there is none here): the Dockerfile's build
 * stage is replayed on the host, its COPY lines into a scratch /src and its RUN lines run
 * there (npm ci, the build with the pinned opa, npm prune), then the final stage is
 * assembled from its own COPY lines and run as the image's non-root user. What the base
 * images add (Node.js, Go) is the host's. It proves the stages carry everything
 * `levee audit`, `levee certs` and `levee serve` need, and nothing from the dev tree.
 */

const repo = process.cwd();
const IMAGE_USER = 10001;
// levee serve's port here, as an offset among the test servers' ports (see e2ePort).
const PORT_OFFSET = 44;
// What the opa stage leaves at this path is the pinned opa tools/build.sh builds.
const OPA_IN_IMAGE = '/usr/local/bin/opa';
// The build stage's node (its base image's) is the release package.json pins, whose official
// binary npm ci puts in node_modules: the test checks the tags agree and runs that binary.
const NODE_IN_IMAGE = '/usr/local/bin/node';
const pinnedNode = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies.node!;

interface Stage {
  name: string;
  /** The FROM image, e.g. node:24.21.0-bookworm-slim. */
  image: string;
  /** COPY and RUN instructions, in order; `from` is a COPY's --from stage. */
  steps: Array<{ op: 'COPY'; from?: string; sources: string[]; destination: string } | { op: 'RUN'; command: string }>;
  user: string;
}

function stagesOf(dockerfile: string): Stage[] {
  const stages: Stage[] = [];
  for (const line of dockerfile.split('\n')) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      stages.push({ name: from[2] ?? 'final', image: from[1]!, steps: [], user: '' });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) continue;
    const copy = /^COPY\s+(?:--from=(\S+)\s+)?(.+)$/.exec(line);
    if (copy) {
      const paths = copy[2]!.trim().split(/\s+/);
      stage.steps.push({ op: 'COPY', ...(copy[1] ? { from: copy[1] } : {}), sources: paths.slice(0, -1), destination: paths[paths.length - 1]! });
    }
    const run = /^RUN\s+(.+)$/.exec(line);
    if (run) stage.steps.push({ op: 'RUN', command: run[1]! });
    if (line.startsWith('USER ')) stage.user = line.slice(5).trim();
  }
  return stages;
}

/** COPY puts files into a destination ending in '/', and a directory's content into its destination. */
function copyInto(source: string, root: string, destination: string): void {
  const into = !statSync(source).isDirectory() && destination.endsWith('/');
  const target = into ? join(root, destination, basename(source)) : join(root, destination);
  mkdirSync(dirname(target), { recursive: true });
  cpSync(source, target, { recursive: true, verbatimSymlinks: true });
}

function run(command: string, cwd: string): void {
  const result = spawnSync('bash', ['-c', command], { cwd, encoding: 'utf8' });
  assert.equal(result.status, 0, `${command}: ${result.stderr}`);
}

/** The image's own node, as its ENTRYPOINT finds it on PATH. */
const nodeOf = (app: string): string => join(app, NODE_IN_IMAGE);

function levee(app: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(nodeOf(app), [join(app, 'bin/levee.js'), ...args], { cwd: app, uid: IMAGE_USER, gid: IMAGE_USER, env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production' } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('e2e: the image, built stage by stage from the Dockerfile without a container engine', function () {
  this.timeout(180_000);
  let work = '';
  let app = '';
  let server: ChildProcess | undefined;
  let stages: Stage[] = [];

  before(function () {
    this.timeout(600_000);
    assert.equal(process.getuid?.(), 0, 'running commands as the image user (10001) needs root');
    stages = stagesOf(readFileSync(join(repo, 'Dockerfile'), 'utf8'));
    const build = stages.find((stage) => stage.name === 'build');
    const final = stages[stages.length - 1];
    assert.ok(build && final && final !== build, 'a build stage and a final stage');
    assert.equal(final.user, `${IMAGE_USER}:${IMAGE_USER}`);

    work = mkdtempSync(join(tmpdir(), 'levee-image-'));
    chmodSync(work, 0o755);
    const opa = spawnSync('bash', ['tools/build.sh', 'opa'], { cwd: repo, encoding: 'utf8' }).stdout.trim();
    assert.ok(existsSync(opa), `the pinned opa: ${opa}`);
    const src = join(work, 'src');
    mkdirSync(src);
    for (const step of build.steps) {
      if (step.op === 'RUN') run(step.command.replaceAll(OPA_IN_IMAGE, opa), src);
      else if (step.from === 'opa') assert.deepEqual(step.sources, [OPA_IN_IMAGE]);
      else for (const source of step.sources) copyInto(join(repo, source), src, step.destination);
    }

    app = join(work, 'app');
    mkdirSync(app);
    for (const step of final.steps) {
      assert.equal(step.op, 'COPY', 'the final stage only copies');
      if (step.op !== 'COPY') continue;
      for (const source of step.sources) copyInto(stageFile(step.from, source, src), app, step.destination);
    }
  });

  /** Where a final-stage COPY source is in the replay: the build stage's /src, its base image's node, or the repository. */
  function stageFile(from: string | undefined, source: string, src: string): string {
    if (from !== 'build') return join(repo, source);
    if (source === NODE_IN_IMAGE) return join(repo, 'node_modules/node/bin/node');
    assert.match(source, /^\/src\//, `the final stage copies only /src and node from the build stage: ${source}`);
    return join(src, source.replace(/^\/src\//, ''));
  }

  after(() => {
    server?.kill('SIGKILL');
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('pins every base image to an exact release, Node.js to the LTS the tests run on', () => {
    for (const stage of stages) assert.match(stage.image, /^[a-z]+:(\d+\.\d+\.\d+|bookworm-\d{8})(-[a-z]+)*$/, `${stage.name}: ${stage.image} is not an exact release`);
    const build = stages.find((stage) => stage.name === 'build')!;
    assert.equal(/^node:([\d.]+)-/.exec(build.image)?.[1], pinnedNode, 'the build stage runs the Node.js package.json pins');
    assert.equal(process.versions.node, pinnedNode, 'the tests themselves run on it');
    assert.ok(Number(pinnedNode.split('.')[0]) >= 22 && Number(pinnedNode.split('.')[0]) % 2 === 0, `${pinnedNode} is an LTS line`);
  });

  it('runs the pinned Node.js without npm, npx, corepack or yarn in the final stage', async () => {
    const final = stages[stages.length - 1]!;
    assert.doesNotMatch(final.image, /^node:/, 'a node base image brings npm, npx, corepack and yarn');
    const version = await new Promise<string>((resolve, reject) =>
      execFile(nodeOf(app), ['--version'], (err, stdout) => (err ? reject(err) : resolve(stdout.trim()))),
    );
    assert.equal(version, `v${pinnedNode}`);
    for (const tool of ['npm', 'npx', 'corepack', 'yarn']) assert.equal(existsSync(join(app, 'usr/local/bin', tool)), false, tool);
    assert.equal(existsSync(join(app, 'node_modules/npm')), false);
  });

  it('the final stage carries no dev dependencies and no sources', () => {
    assert.equal(existsSync(join(app, 'node_modules/mocha')), false, 'mocha was pruned');
    assert.equal(existsSync(join(app, 'node_modules/typescript')), false, 'typescript was pruned');
    // `levee certs` writes certificates with node:crypto: no X.509 library and its decorators runtime.
    for (const unneeded of ['@peculiar/x509', 'tsyringe', 'reflect-metadata']) assert.equal(existsSync(join(app, 'node_modules', unneeded)), false, unneeded);
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
    await e2e();
    const port = e2ePort(PORT_OFFSET);
    const args = ['serve', '--port', String(port), '--host', '127.0.0.1', '--kubeconfig', kubeconfig, '--tls-cert', join(certs, 'tls.crt'), '--tls-key', join(certs, 'tls.key'), '--verdict-file', join(work, 'verdict.json')];
    server = spawn(nodeOf(app), [join(app, 'bin/levee.js'), ...args], { cwd: app, uid: IMAGE_USER, gid: IMAGE_USER, env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production' }, stdio: 'ignore' });
    const ca = readFileSync(join(certs, 'ca.crt'), 'utf8');
    await eventually('levee serve to answer /healthz', async () => {
      const health = await call(port, ca, { method: 'GET', path: '/healthz' }).catch((err: Error) => ({ status: 0, text: err.message }));
      return health.status === 200 || `${health.status} ${health.text}`;
    });
    const ready = await call(port, ca, { method: 'GET', path: '/readyz' });
    assert.equal(ready.status, 503, 'not ready before its caches have synced');
  });
});
