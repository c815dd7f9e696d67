import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { manifestObjects } from '../../src/manifests/read.js';
import { e2e, e2ePort, eventually, killLevee, kubectl, restartLevee, type E2eEnvironment } from '../support/e2e.js';
import { verdictStatus } from '../support/gate.js';

/**
 * Probes of the user's own, declared in levee's configuration, on the real cluster: an HTTP
 * check against a loopback server the test starts and stops, a command that exits non-zero
 * when a file is missing, and a report written back by the example checker pod's own script
 * (manifests/examples/custom-probe-report.yaml), run here on the host with a real
 * ServiceAccount token because the local cluster's kwok nodes run no containers. Each one,
 * failing, turns the verdict Unhealthy and makes the gate refuse a new Deployment.
 */

const namespace = `custom-${Date.now().toString(36)}`;
const EXAMPLE = 'manifests/examples/custom-probe-report.yaml';
const CHECKER = 'system:serviceaccount:platform-checks:egress-check';
// Among the offsets of servers tests start themselves (see e2ePort).
const SERVER_OFFSET = 70;
const NOTHING_LISTENS_OFFSET = 71;

interface ExampleObject {
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: { jobTemplate?: { spec?: { template?: { spec?: { containers?: Array<{ command?: string[] }> } } } } };
}

function deployment(name: string): string {
  const labels = { app: name };
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] } } },
  });
}

function sh(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', script], { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
  });
}

async function probeLine(probe: string): Promise<{ status?: string; message?: string; hint?: string; critical?: boolean }> {
  const status = (await verdictStatus()) as { probes?: Array<{ name: string; status: string; message?: string; hint?: string; critical?: boolean }> };
  return status.probes?.find((line) => line.name === probe) ?? {};
}

describe('e2e: probes of the user\'s own (probe.custom)', function () {
  this.timeout(300_000);
  let env: E2eEnvironment;
  let dir: string;
  let server: Server | undefined;
  let port: number;
  let flag: string;
  let reportScript: string;
  let reportEnv: NodeJS.ProcessEnv;

  async function startServer(): Promise<void> {
    server = createServer((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 404).end('ok\n'));
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
  }

  async function stopServer(): Promise<void> {
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  }

  /** Runs the example checker pod's script: it checks `checkUrl` and patches the report ConfigMap as the pod's ServiceAccount. */
  function report(checkUrl: string, extra: NodeJS.ProcessEnv = {}): ReturnType<typeof sh> {
    return sh(reportScript, { ...reportEnv, CHECK_URL: checkUrl, ...extra });
  }

  /** Waits for the probe's status and the verdict; prints how long it took from `since` (a measurement for the README, not asserted). */
  async function verdictWith(probe: string, expected: 'Passing' | 'Failing', verdict: RegExp, since?: number): Promise<void> {
    await eventually(`${probe} to be ${expected} and the verdict to match ${verdict}`, async () => {
      const status = await verdictStatus();
      const line = await probeLine(probe);
      return (line.status === expected && verdict.test(status.verdict ?? '')) || `${probe} ${line.status ?? 'absent'} (${line.message ?? ''}); verdict ${status.verdict} (failing ${status.failing})`;
    }, 90_000);
    if (since !== undefined) console.log(`      (${probe} ${expected}, verdict ${(await verdictStatus()).verdict}, ${((Date.now() - since) / 1000).toFixed(1)} s after the change)`);
  }

  async function gateRefusesDeploymentFor(probe: string): Promise<string> {
    let refusal = '';
    await eventually('serve to refuse a new Deployment', async () => {
      const tried = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: deployment('web') });
      refusal = tried.stderr;
      return tried.code !== 0 || 'still allowed';
    }, 30_000);
    const result = await kubectl(['apply', '-f', '-'], { input: deployment('web') });
    assert.notEqual(result.code, 0, 'the Deployment was created');
    assert.match(result.stderr, /admission webhook "validate\.levee\.dev" denied the request/);
    assert.match(result.stderr, /\[probe-gate\] creating Deployment web is a rollout, and rollouts are paused while the cluster is Unhealthy/);
    assert.match(result.stderr, new RegExp(`failing probes: .*${probe}`));
    const stored = await kubectl(['get', 'deployment', 'web', '-n', namespace]);
    assert.notEqual(stored.code, 0, 'nothing was stored');
    return refusal;
  }

  async function gateOpens(): Promise<void> {
    await eventually('serve to let a new Deployment through', async () => {
      const tried = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: deployment('web') });
      return tried.code === 0 || tried.stderr;
    }, 90_000);
  }

  before(async function () {
    this.timeout(1_800_000);
    env = await e2e();
    port = e2ePort(SERVER_OFFSET);
    dir = mkdtempSync(join(tmpdir(), 'levee-custom-probes-'));
    flag = join(dir, 'quorum-ok');
    writeFileSync(flag, 'ok\n');
    assert.equal((await kubectl(['create', 'namespace', namespace])).code, 0);

    // The example's objects as documented, but the CronJob only checked by the API server: its
    // pods would never run here. Its script runs on the host instead, as the pod would.
    const objects = manifestObjects(readFileSync(EXAMPLE, 'utf8'), EXAMPLE) as unknown as ExampleObject[];
    const cronJob = objects.find((object) => object.kind === 'CronJob');
    assert.ok(cronJob, `${EXAMPLE} has a CronJob`);
    const command = cronJob.spec?.jobTemplate?.spec?.template?.spec?.containers?.[0]?.command ?? [];
    assert.deepEqual(command.slice(0, 2), ['/bin/sh', '-c']);
    reportScript = command[2]!;
    const rest = objects.filter((object) => object.kind !== 'CronJob');
    const applied = await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rest }) });
    assert.equal(applied.code, 0, applied.stderr);
    const checked = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(cronJob) });
    assert.equal(checked.code, 0, checked.stderr);

    const token = await kubectl(['create', 'token', 'egress-check', '-n', 'platform-checks', '--duration=30m']);
    assert.equal(token.code, 0, token.stderr);
    writeFileSync(join(dir, 'token'), token.stdout.trim());
    const kubeconfig = parseYaml(readFileSync(env.cluster.kubeconfig, 'utf8')) as { clusters: Array<{ cluster: { 'certificate-authority-data': string } }> };
    writeFileSync(join(dir, 'ca.crt'), Buffer.from(kubeconfig.clusters[0]!.cluster['certificate-authority-data'], 'base64'));
    reportEnv = { APISERVER: env.cluster.apiServerUrl, TOKEN_FILE: join(dir, 'token'), CA_FILE: join(dir, 'ca.crt'), LEVEE_NAMESPACE: 'levee-system', REPORT_CONFIGMAP: 'levee-report-egress' };

    await startServer();
    const first = await report(`http://127.0.0.1:${port}/healthz`);
    assert.equal(first.code, 0, first.stderr);

    await killLevee('SIGTERM');
    await restartLevee({
      custom: [
        { name: 'ingress', critical: true, timeoutSeconds: 3, hint: 'is the test\'s loopback server running?', http: { url: `http://127.0.0.1:${port}/healthz`, bodyContains: 'ok' } },
        { name: 'quorum-file', critical: true, command: { argv: ['sh', '-c', 'test -e "$FLAG" || { echo "$FLAG is missing"; exit 1; }'], env: { FLAG: flag } } },
        { name: 'egress', critical: true, report: { configMap: 'levee-report-egress', maxAgeSeconds: 600 } },
      ],
    });
  });

  after(async function () {
    this.timeout(120_000);
    await stopServer();
    // The harness's levee again, with its own configuration, for the test files after this one.
    await killLevee('SIGTERM');
    await restartLevee();
    for (const [kind, name] of [['configmap', 'levee-report-egress'], ['role', 'levee-report-egress'], ['rolebinding', 'levee-report-egress']]) {
      await kubectl(['delete', kind!, name!, '-n', 'levee-system', '--ignore-not-found']);
    }
    await kubectl(['delete', 'namespace', 'platform-checks', namespace, '--wait=false']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists every custom probe in the ProbeVerdict, passing, critical as declared', async () => {
    for (const probe of ['custom:ingress', 'custom:quorum-file', 'custom:egress']) await verdictWith(probe, 'Passing', /Healthy|Degraded/);
    const ingress = await probeLine('custom:ingress');
    assert.equal(ingress.critical, true);
    assert.match(ingress.message ?? '', new RegExp(`^GET http://127\\.0\\.0\\.1:${port}/healthz answered HTTP 200 in \\d+ ms$`));
    assert.match((await probeLine('custom:quorum-file')).message ?? '', /^sh exited 0 in \d+ ms$/);
    assert.match((await probeLine('custom:egress')).message ?? '', new RegExp(`^reported passing \\d+ s ago: http://127\\.0\\.0\\.1:${port}/healthz answered HTTP 200$`));
    await gateOpens();
  });

  it('an HTTP check whose server stops turns the verdict Unhealthy, and the gate refuses a Deployment because of it', async () => {
    await stopServer();
    await verdictWith('custom:ingress', 'Failing', /^Unhealthy$/, Date.now());
    const line = await probeLine('custom:ingress');
    assert.match(line.message ?? '', /connection refused/);
    assert.equal(line.hint, 'is the test\'s loopback server running?');
    const refusal = await gateRefusesDeploymentFor('custom:ingress');
    assert.match(refusal, /custom:ingress failing since .*\(hint: is the test's loopback server running\?\)/);
  });

  it('recovers when the server is back (after the hysteresis), and the gate lets the Deployment through again (server-side dry run)', async () => {
    await startServer();
    await verdictWith('custom:ingress', 'Passing', /Healthy|Degraded/, Date.now());
    await gateOpens();
  });

  it('a command that exits non-zero turns the verdict Unhealthy with what it printed, and the gate refuses', async () => {
    rmSync(flag);
    await verdictWith('custom:quorum-file', 'Failing', /^Unhealthy$/, Date.now());
    assert.match((await probeLine('custom:quorum-file')).message ?? '', /^sh exited 1 after \d+ ms: .*quorum-ok is missing$/);
    await gateRefusesDeploymentFor('custom:quorum-file');
    writeFileSync(flag, 'ok\n');
    await verdictWith('custom:quorum-file', 'Passing', /Healthy|Degraded/, Date.now());
  });

  it('a pod\'s report of failure (written with its ServiceAccount token) turns the verdict Unhealthy, and its next good report reopens the gate', async () => {
    const reported = Date.now();
    const failed = await report(`http://127.0.0.1:${e2ePort(NOTHING_LISTENS_OFFSET)}/healthz`);
    assert.equal(failed.code, 0, failed.stderr);
    await verdictWith('custom:egress', 'Failing', /^Unhealthy$/, reported);
    assert.match((await probeLine('custom:egress')).message ?? '', /^reported failing \d+ s ago: http:\/\/127\.0\.0\.1:\d+\/healthz: .*(Failed to connect|Couldn't connect)/);
    await gateRefusesDeploymentFor('custom:egress');
    const recovered = Date.now();
    const good = await report(`http://127.0.0.1:${port}/healthz`);
    assert.equal(good.code, 0, good.stderr);
    await verdictWith('custom:egress', 'Passing', /Healthy|Degraded/, recovered);
    await gateOpens();
  });

  it('the checker\'s ServiceAccount can patch its one ConfigMap and nothing else', async () => {
    const allowed = await kubectl(['auth', 'can-i', 'patch', 'configmaps/levee-report-egress', '-n', 'levee-system', '--as', CHECKER]);
    assert.equal(allowed.stdout.trim(), 'yes');
    for (const [verb, resource] of [['patch', 'configmaps/levee-config'], ['create', 'configmaps'], ['delete', 'configmaps/levee-report-egress'], ['get', 'probeverdicts.levee.dev/cluster'], ['list', 'configmaps']]) {
      const denied = await kubectl(['auth', 'can-i', verb!, resource!, '-n', 'levee-system', '--as', CHECKER]);
      assert.equal(denied.stdout.trim(), 'no', `${verb} ${resource}`);
    }
    // The script itself, aimed at another ConfigMap, is refused by the API server.
    const elsewhere = await report(`http://127.0.0.1:${port}/healthz`, { REPORT_CONFIGMAP: 'levee-report-other' });
    assert.notEqual(elsewhere.code, 0);
    assert.match(elsewhere.stderr, /403/);
  });
});
