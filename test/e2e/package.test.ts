import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { decodeYamlDocument } from '../../src/manifests/yaml.js';
import { e2e, eventually } from '../support/e2e.js';
import { sarifSchemaErrors } from '../support/sarif-schema.js';

/**
 * levee as a user gets it: `npm pack` (which builds the policy bundle into the package), then
 * `npm install <tarball>` into an unrelated project in a scratch directory, on a PATH with no
 * Go and no opa, and `npx levee ...` run from that project's own directory, as its CI would.
 * The README's CI recipes are taken from the README and run as written.
 */

const repoRoot = process.cwd();
const README = readFileSync(join(repoRoot, 'README.md'), 'utf8');
/** Node.js and the system's tools, nothing of Go's and nothing of levee's. */
const userPath = [dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':');
/** This machine's environment (registry and proxy settings included) without Go's, levee's or a cluster's. */
const userEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: userPath, NO_COLOR: '1' };
  for (const name of Object.keys(env)) if (/^(LEVEE_|GO|KUBECONFIG$|npm_package_|npm_lifecycle_)/.test(name)) delete env[name];
  return env;
};

function inApp(app: string, command: string, input?: string): SpawnSyncReturns<string> {
  return spawnSync('sh', ['-c', command], { cwd: app, env: userEnv(), encoding: 'utf8', input, timeout: 300_000 });
}

/** YAML code blocks of the README marked `# levee-ci: <name>`, parsed. */
function ciRecipe(name: string): unknown {
  for (const match of README.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    if (match[1]!.startsWith(`# levee-ci: ${name}\n`)) return decodeYamlDocument(match[1]!).value;
  }
  throw new Error(`README has no yaml block marked # levee-ci: ${name}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('e2e: levee installed as a package into an unrelated project', function () {
  this.timeout(900_000);
  let work: string;
  let app: string;
  let tarball: string;

  before(function () {
    this.timeout(1_200_000);
    work = mkdtempSync(join(tmpdir(), 'levee-package-'));
    // Packed from a copy of this checkout, so the build that packing runs never touches the
    // dist/ these tests run from.
    const source = join(work, 'levee');
    const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: repoRoot, encoding: 'utf8' }).split('\0').filter(Boolean);
    for (const file of files) {
      mkdirSync(dirname(join(source, file)), { recursive: true });
      try {
        copyFileSync(join(repoRoot, file), join(source, file));
      } catch {
        // a file deleted in the work tree but not yet in git
      }
    }
    symlinkSync(join(repoRoot, 'node_modules'), join(source, 'node_modules'));
    const packed = execFileSync('npm', ['pack', '--pack-destination', work], { cwd: source, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    tarball = join(work, packed.trim().split('\n').pop()!);

    app = join(work, 'my-app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-app', version: '1.0.0', private: true }));
    const install = inApp(app, `npm install --no-audit --no-fund --prefer-offline ${tarball}`);
    assert.equal(install.status, 0, install.stderr);
    cpSync(join(repoRoot, 'test/fixtures/incidents'), join(app, 'deploy/incidents'), { recursive: true });
    cpSync(join(repoRoot, 'test/fixtures/clean'), join(app, 'deploy/clean'), { recursive: true });
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('ships the CLI and the compiled bundle, and nothing that needs building', () => {
    const listed = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    for (const file of ['package/bin/levee.js', 'package/dist/src/cli.js', 'package/dist/policies/bundle.tar.gz', 'package/README.md']) assert.ok(listed.includes(file), `${file} missing`);
    assert.deepEqual(listed.filter((file) => /^package\/(tools|test|src|policies|scripts|dist\/test|certs)\//.test(file) || file.endsWith('.go')), []);
    assert.notEqual(inApp(app, 'command -v go || command -v opa').status, 0, 'the project must not see Go or opa');
  });

  it('audits the project from its own directory: exit 1 on the incidents, 0 on clean manifests', () => {
    const incidents = inApp(app, 'npx levee audit -f deploy/incidents -o json');
    assert.equal(incidents.status, 1, incidents.stderr);
    const report = JSON.parse(incidents.stdout) as { summary: { byPolicy: Record<string, { deny: number }> }; findings: Array<{ source: string }> };
    for (const policy of ['version-skew', 'scale-to-zero', 'spot-capacity']) assert.ok((report.summary.byPolicy[policy]?.deny ?? 0) > 0, policy);
    assert.ok(report.findings.every((finding) => finding.source.startsWith('deploy/incidents/')));
    const clean = inApp(app, 'npx levee audit -f deploy/clean');
    assert.equal(clean.status, 0, clean.stdout + clean.stderr);
  });

  it('exit 2 on a broken file, still printing the findings of the others', () => {
    writeFileSync(join(app, 'deploy/incidents/broken.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: [x\n');
    try {
      const result = inApp(app, 'npx levee audit -f deploy/incidents');
      assert.equal(result.status, 2);
      assert.match(result.stderr, /deploy\/incidents\/broken\.yaml:\d+: not valid YAML/);
      assert.match(result.stdout, /deny\s+scale-to-zero\s+Deployment default\/ledger/);
    } finally {
      rmSync(join(app, 'deploy/incidents/broken.yaml'));
    }
  });

  it("the README's GitHub Actions step writes SARIF that validates against the published schema", () => {
    const steps = ciRecipe('github-actions') as Array<{ run?: string; uses?: string; with?: { sarif_file?: string } }>;
    const run = steps.find((step) => step.run)!.run!;
    const upload = steps.find((step) => step.uses?.startsWith('github/codeql-action/upload-sarif'));
    assert.ok(upload, 'the recipe uploads SARIF');
    const result = inApp(app, run.replace(/deploy\//g, 'deploy/incidents/'));
    assert.equal(result.status, 1, result.stderr);
    const sarif = JSON.parse(readFileSync(join(app, upload.with!.sarif_file!), 'utf8')) as { runs: Array<{ results: unknown[] }> };
    assert.deepEqual(sarifSchemaErrors(sarif), []);
    assert.ok(sarif.runs[0]!.results.length >= 3);
  });

  it("the README's GitLab CI job writes a JUnit report", () => {
    const job = ciRecipe('gitlab') as Record<string, { script: string[]; artifacts: { reports: { junit: string } } }>;
    const [name, definition] = Object.entries(job)[0]!;
    assert.ok(name);
    // `npm ci` is the project's own install, done above.
    for (const line of definition.script.filter((command) => !/^npm ci\b/.test(command))) {
      const result = inApp(app, line.replace(/deploy\//g, 'deploy/incidents/'));
      assert.equal(result.status, 1, `${line}: ${result.stderr}`);
    }
    const junit = readFileSync(join(app, definition.artifacts.reports.junit), 'utf8');
    assert.match(junit, /<testsuites name="levee audit" tests="\d+" failures="[1-9]\d*" errors="0">/);
  });

  it("the README's helm template recipe, piping a rendered chart into levee audit -f -", () => {
    const recipe = /^helm template .*\| npx levee audit -f -$/m.exec(README)?.[0];
    assert.ok(recipe, 'README has the helm template | levee audit -f - recipe');
    // helm itself is not built here yet: a chart's rendered output, as `helm template` prints it, stands in.
    const rendered = join(repoRoot, 'test/fixtures/helm/web-rendered.yaml');
    const result = inApp(app, recipe.replace(/^helm template [^|]*\|/, `cat ${rendered} |`));
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stdout, /deny\s+scale-to-zero\s+Deployment shop\/web\s+<stdin>:\d+/);
  });

  it('levee serve and levee probe run from the project directory too', async () => {
    const { cluster } = await e2e();
    const certs = inApp(app, 'npx levee certs --ip 127.0.0.1 --out certs');
    assert.equal(certs.status, 0, certs.stderr);
    const port = await freePort();
    // Its own process group: npx starts levee as a child, and stopping npx alone would leave levee running.
    const serve = spawn('sh', ['-c', `exec npx levee serve --host 127.0.0.1 --port ${port} --kubeconfig ${cluster.kubeconfig} --verdict-file ${join(app, 'verdict.json')} --log-level warn`], { cwd: app, env: userEnv(), stdio: 'ignore', detached: true });
    try {
      const ca = readFileSync(join(app, 'certs/ca.crt'));
      await eventually('levee serve, started from the project, to answer /healthz', async () => {
        const status = await new Promise<number | string>((resolve) => {
          get({ host: '127.0.0.1', port, path: '/healthz', ca }, (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          }).on('error', (err) => resolve(err.message));
        });
        return status === 200 || `healthz: ${status}`;
      }, 60_000);
    } finally {
      process.kill(-serve.pid!, 'SIGTERM');
    }
    const probe = inApp(app, `npx levee probe --once --kubeconfig ${cluster.kubeconfig} --verdict-file ${join(app, 'verdict.json')} --http-port 0`);
    const verdict = JSON.parse(probe.stdout) as { verdict: string };
    assert.ok(['Healthy', 'Degraded', 'Unhealthy'].includes(verdict.verdict), probe.stdout + probe.stderr);
    assert.equal(probe.status, verdict.verdict === 'Unhealthy' ? 1 : 0);
  });
});
