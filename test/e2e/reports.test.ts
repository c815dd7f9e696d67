import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { manifestObjects } from '../../src/manifests/read.js';
import { e2e, eventually, killLevee, kubectl, restartLevee, type E2eEnvironment } from '../support/e2e.js';
import { stopProcess, tail } from '../support/levee-processes.js';

/**
 * The probe leader's live audit as openreports.io Reports, on the test cluster with the
 * upstream CRDs (scripts/lib/openreports.mjs): the harness's probe is replaced by one that
 * runs with a token of levee's own ServiceAccount (manifests/base RBAC) as its only
 * credential, leads the `levee-probe` Lease, and writes Reports every 5 s. A violation that
 * predates levee's webhook shows up in `kubectl get reports -A`, its Report is replaced in
 * place as findings change, and disappears once it is fixed.
 */

const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

interface Report {
  metadata: { name: string; namespace?: string; uid: string; resourceVersion: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  summary: { fail: number; warn: number };
  results?: Array<{ policy: string; rule: string; result: string; resources: Array<{ kind: string; name: string; namespace?: string }> }>;
}

/** A kubeconfig for the test cluster whose only credential is `token`. */
function tokenKubeconfig(adminKubeconfig: string, token: string, file: string): string {
  const admin = parseYaml(readFileSync(adminKubeconfig, 'utf8')) as { clusters: Array<{ cluster: Record<string, unknown> }> };
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: admin.clusters[0]!.cluster }],
      users: [{ name: 'levee', user: { token } }],
      contexts: [{ name: 'levee', context: { cluster: 'test', user: 'levee' } }],
      'current-context': 'levee',
    }),
  );
  return file;
}

function deploymentAndService(namespace: string, name: string, replicas: number): object[] {
  const labels = { app: name };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, labels },
      spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] } } },
    },
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector: labels, ports: [{ port: 80 }] } },
  ];
}

async function apply(objects: object[]): Promise<void> {
  // Deployments first: created at zero before their Service exists, which no webhook can refuse.
  const input = objects.map((object) => JSON.stringify(object)).join('\n');
  const result = await kubectl(['apply', '-f', '-'], { input });
  assert.equal(result.code, 0, result.stderr.slice(0, 2000));
}

async function report(namespace: string): Promise<Report | undefined> {
  const result = await kubectl(['get', 'reports.openreports.io', 'levee', '-n', namespace, '-o', 'json']);
  if (result.code !== 0) {
    assert.match(result.stderr, /NotFound/, result.stderr);
    return undefined;
  }
  return JSON.parse(result.stdout) as Report;
}

/** Bytes etcd holds for every openreports.io object (values, as the API server stored them), read from etcd's own API. */
async function etcdBytes(env: E2eEnvironment): Promise<{ objects: number; bytes: number }> {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const response = await fetch(`http://127.0.0.1:${env.cluster.ports.etcdClient}/v3/kv/range`, {
    method: 'POST',
    body: JSON.stringify({ key: b64('/registry/openreports.io/'), range_end: b64('/registry/openreports.io0') }),
  });
  assert.equal(response.status, 200);
  const body = (await response.json()) as { kvs?: Array<{ key: string; value: string }> };
  const kvs = body.kvs ?? [];
  return { objects: kvs.length, bytes: kvs.reduce((sum, kv) => sum + Buffer.from(kv.key, 'base64').length + Buffer.from(kv.value, 'base64').length, 0) };
}

describe('e2e: Reports of the live audit (openreports.io), written by the probe leader with levee\'s own RBAC', function () {
  this.timeout(240_000);
  const stamp = Date.now().toString(36);
  const namespace = `reports-${stamp}`;
  let env: E2eEnvironment;
  let probe: ChildProcess | undefined;
  let probeLog = '';
  let rbac: object[] = [];

  before(async function () {
    this.timeout(1_800_000);
    env = await e2e();
    const rendered = await kubectl(['kustomize', 'manifests/base']);
    assert.equal(rendered.code, 0, rendered.stderr);
    rbac = (manifestObjects(rendered.stdout, 'kubectl kustomize manifests/base') as unknown as Array<{ kind: string }>).filter((object) => RBAC_KINDS.has(object.kind));
    await kubectl(['create', 'namespace', 'levee-system']);
    const applied = await kubectl(['apply', '-f', '-'], { input: rbac.map((object) => JSON.stringify(object)).join('\n') });
    assert.equal(applied.code, 0, applied.stderr);
    const token = await kubectl(['create', 'token', 'levee', '-n', 'levee-system', '--duration', '2h']);
    assert.equal(token.code, 0, token.stderr);

    const dir = join(env.cluster.dir, '..', 'e2e', `reports-${stamp}`);
    mkdirSync(dir, { recursive: true });
    const kubeconfig = tokenKubeconfig(env.cluster.kubeconfig, token.stdout.trim(), join(dir, 'levee-sa.kubeconfig'));
    const config = join(dir, 'probe-config.json');
    // The harness's probe settings and port (serve asks it for runs), Reports every 5 s. Its
    // verdict is neither serve's file nor published: this test's thousand Deployments keep
    // kube-controller-manager busy for a while, which the workload probe may call Unhealthy, and
    // that must not gate this test or outlive it. As in the harness, no DNS query leaves the host.
    writeFileSync(config, JSON.stringify({
      probe: { httpPort: env.probePort, verdictFile: join(dir, 'verdict.json'), publish: false, intervalSeconds: 3, failuresToUnhealthy: 2, successesToHealthy: 2, lifecycleTimeoutSeconds: 15, timeoutSeconds: 8, dns: { queryFromHost: false } },
      reports: { intervalSeconds: 5 },
    }));
    // The harness's probe hands back the Lease as it stops, so this one leads at once.
    await stopProcess(env.probe);
    probeLog = join(dir, 'probe.log');
    probe = spawn(process.execPath, ['bin/levee.js', 'probe', '--config', config, '--kubeconfig', kubeconfig, '--tls-cert', join(env.certs, 'tls.crt')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(probeLog);
    probe.stdout!.pipe(log);
    probe.stderr!.pipe(log);
    assert.equal((await kubectl(['create', 'namespace', namespace])).code, 0);
  });

  after(async function () {
    this.timeout(600_000);
    if (probe) await stopProcess(probe);
    // Gone before the next file starts: deleting a thousand Deployments keeps the controllers busy.
    const namespaces = [namespace, ...Array.from({ length: 5 }, (_, i) => `${namespace}-size-${i}`)];
    await kubectl(['delete', 'namespace', ...namespaces, '--ignore-not-found', '--wait=true', '--timeout=480s']);
    // The harness's serve and probe, as every other test expects them.
    await killLevee();
    await restartLevee();
  });

  it('shows a Service already left without endpoints in `kubectl get reports -A`, replaces the Report in place, and deletes it once fixed', async () => {
    await apply(deploymentAndService(namespace, 'ledger', 0));
    let first: Report | undefined;
    await eventually('the Report of the namespace to name the Deployment', async () => {
      first = await report(namespace);
      return first?.results?.some((result) => result.resources[0]?.name === 'ledger') || `no Report yet; probe log:\n${tail(probeLog, 5)}`;
    }, 90_000);
    assert.equal(first!.metadata.labels?.['app.kubernetes.io/managed-by'], 'levee');
    const ledger = first!.results!.find((result) => result.resources[0]?.name === 'ledger')!;
    assert.deepEqual([ledger.policy, ledger.result, ledger.resources[0]!.kind, ledger.resources[0]!.namespace], ['scale-to-zero', 'fail', 'Deployment', namespace]);
    assert.equal(first!.summary.fail, first!.results!.filter((result) => result.result === 'fail').length);

    const listed = await kubectl(['get', 'reports', '-A']);
    assert.equal(listed.code, 0, listed.stderr);
    const row = listed.stdout.split('\n').find((line) => line.startsWith(`${namespace} `));
    assert.ok(row, listed.stdout);
    assert.match(row!, new RegExp(`^${namespace}\\s+levee\\s+0\\s+${first!.summary.fail}\\s+`), row);
    const clusterReport = await kubectl(['get', 'clusterreports', 'levee', '-o', 'json']);
    assert.equal(clusterReport.code, 0, clusterReport.stderr);
    assert.equal((JSON.parse(clusterReport.stdout) as Report).metadata.labels?.['app.kubernetes.io/managed-by'], 'levee');

    // A second violation: the same Report, updated in place.
    await apply(deploymentAndService(namespace, 'cart', 0));
    let second: Report | undefined;
    await eventually('the Report to name both Deployments', async () => {
      second = await report(namespace);
      return (second?.results ?? []).filter((result) => ['ledger', 'cart'].includes(result.resources[0]?.name ?? '')).length === 2 || `${second?.results?.length} results`;
    }, 60_000);
    assert.equal(second!.metadata.uid, first!.metadata.uid, 'replaced in place, not deleted and created');
    assert.notEqual(second!.metadata.resourceVersion, first!.metadata.resourceVersion);

    // Fixed: both at two replicas. The namespace has no finding left, so its Report goes.
    for (const name of ['ledger', 'cart']) assert.equal((await kubectl(['scale', 'deployment', name, '-n', namespace, '--replicas=2'])).code, 0);
    await eventually('the Report to be deleted', async () => (await report(namespace)) === undefined || 'still there', 60_000);
    const after = await kubectl(['get', 'reports', '-A']);
    assert.ok(!after.stdout.split('\n').some((line) => line.startsWith(`${namespace} `)), after.stdout);

    const log = readFileSync(probeLog, 'utf8');
    assert.match(log, /"Reports written"/);
    // A run may fail for a passing reason (a fresh CRD's storage still initialising: 429) and is
    // retried; what must never appear is a refusal of levee's own credentials.
    assert.doesNotMatch(log, /forbidden/i, 'levee\'s ServiceAccount may do all it needs');
  });

  it('keeps each Report under its cap; prints the etcd bytes per 1,000 results (README)', async function () {
    this.timeout(900_000);
    // 100 Deployments at zero behind a Service per namespace: 200 results each (every Deployment
    // and the ReplicaSet its controller made at zero), the default cap of a Report.
    const cap = 200;
    const namespaces = Array.from({ length: 5 }, (_, i) => `${namespace}-size-${i}`);
    const before = await etcdBytes(env);
    for (const name of namespaces) {
      assert.equal((await kubectl(['create', 'namespace', name])).code, 0);
      await apply(Array.from({ length: cap / 2 }, (_, i) => deploymentAndService(name, `w${String(i).padStart(3, '0')}`, 0)).flat());
    }
    await eventually('a full Report in each namespace', async () => {
      const stored = await Promise.all(namespaces.map((name) => report(name)));
      return stored.every((one) => one?.summary.fail === cap && one.results?.length === cap) || stored.map((one) => one?.summary.fail ?? '-').join(',');
    }, 600_000);
    const measured = await etcdBytes(env);
    const results = namespaces.length * cap;
    const bytes = measured.bytes - before.bytes;
    assert.equal(measured.objects - before.objects, namespaces.length);
    for (const name of namespaces) assert.equal((await report(name))!.metadata.annotations?.['levee.dev/results-omitted'], undefined);
    console.log(`      etcd: ${bytes} bytes for ${namespaces.length} Reports of ${cap} results: ${Math.round((bytes * 1000) / results)} bytes per 1,000 results, ${Math.round(bytes / namespaces.length)} bytes per Report`);
    assert.ok(bytes / namespaces.length < 1.5 * 1024 * 1024, 'a full Report is far below etcd\'s 1.5 MiB object limit');

    // One more violation in a full namespace: the Report keeps its cap and says how many it left out.
    await apply(deploymentAndService(namespaces[0]!, 'w999', 0));
    await eventually('the capped Report to count the extra findings', async () => {
      const stored = await report(namespaces[0]!);
      const fail = stored?.summary.fail ?? 0;
      return (fail > cap && stored!.results!.length === cap && stored!.metadata.annotations?.['levee.dev/results-omitted'] === String(fail - cap)) || JSON.stringify(stored?.summary);
    }, 120_000);
  });
});
