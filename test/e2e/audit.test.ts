import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { e2e, eventually, inFreshNamespace, kubectl } from '../support/e2e.js';

/** `levee audit` as CI and on-call people run it: the real binary, real files, a real cluster. */

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function levee(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/levee.js', ...args], { cwd: process.cwd(), env }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('e2e: levee audit', function () {
  this.timeout(120_000);

  it('exits 1 on manifests that recreate the three incidents, naming all three policies', async () => {
    const result = await levee(['audit', '-f', 'test/fixtures/incidents', '-o', 'json']);
    assert.equal(result.code, 1, result.stderr);
    const report = JSON.parse(result.stdout) as { summary: { byPolicy: Record<string, { deny: number }> } };
    for (const policy of ['version-skew', 'scale-to-zero', 'spot-capacity']) {
      assert.ok((report.summary.byPolicy[policy]?.deny ?? 0) > 0, `${policy} found nothing: ${result.stdout}`);
    }
  });

  it('exits 0 on clean manifests', async () => {
    const result = await levee(['audit', '-f', 'test/fixtures/clean']);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /0 deny/);
  });

  it('exits 2 on broken YAML, naming the file and line on stderr, and still prints what the rest holds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'levee-broken-'));
    writeFileSync(join(dir, 'monzo.yaml'), readFileSync('test/fixtures/incidents/monzo.yaml'));
    writeFileSync(join(dir, 'broken.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: [x\n');
    const result = await levee(['audit', '-f', dir]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /broken\.yaml:\d+: not valid YAML/);
    assert.match(result.stdout, /deny\s+scale-to-zero\s+Deployment default\/ledger/);
  });

  it('exits 2, never 1, when levee itself cannot run: a missing bundle, a bad flag', async () => {
    const missing = await levee(['audit', '-f', 'test/fixtures/incidents', '--bundle', '/nonexistent/bundle.tar.gz']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read policy bundle .*BUNDLE_UNREADABLE/);
    assert.equal((await levee(['audit', '-f', 'test/fixtures/incidents', '--output', 'yaml'])).code, 2);
    assert.equal((await levee(['audit', '--no-such-flag'])).code, 2);
    const tooLarge = await levee(['audit', '-f', 'test/fixtures/incidents', '--max-bytes', '100']);
    assert.equal(tooLarge.code, 2);
    assert.match(tooLarge.stderr, /larger than --max-bytes 100/);
  });

  it('reads stdin and writes JUnit for CI', async () => {
    const result = await new Promise<CliResult>((resolve) => {
      const child = execFile(process.execPath, ['bin/levee.js', 'audit', '-f', '-', '-o', 'junit'], (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin!.end(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [] }));
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /<testsuites name="levee audit" tests="0" failures="0" errors="0">/);
  });

  describe('--cluster', () => {
    const namespace = `audit-${Date.now().toString(36)}`;

    inFreshNamespace(namespace);

    it('judges the object kubectl applies: merge keys, YAML 1.1 scalars and duplicate keys read as kubectl reads them', async () => {
      // What the API server stores from each manifest (kubectl create --dry-run=server) is the
      // truth levee must judge: replicas written, then overridden by a merge key; paused as
      // `yes`; a repeated key (the last one wins) written in hex.
      const deployment = (name: string, spec: string[], podSpec: string[]): string =>
        [
          'apiVersion: apps/v1',
          'kind: Deployment',
          'metadata:',
          `  name: ${name}`,
          `  namespace: ${namespace}`,
          'spec:',
          ...spec.map((line) => `  ${line}`),
          `  selector: {matchLabels: {app: ${name}}}`,
          '  template:',
          `    metadata: {labels: {app: ${name}}}`,
          '    spec:',
          '      containers: [{name: a, image: x}]',
          ...podSpec.map((line) => `      ${line}`),
          '',
        ].join('\n');
      const manifests = [
        deployment('merged', ['replicas: 3', '<<: {replicas: 0}', 'paused: yes'], []),
        deployment('repeated', ['replicas: 2'], ['terminationGracePeriodSeconds: 30', 'terminationGracePeriodSeconds: 0x1F']),
      ];
      const { manifestObjects } = await import('../../src/manifests/read.js');
      type Stored = { spec: { replicas: number; paused?: boolean; template: { spec: { terminationGracePeriodSeconds: number } } } };
      for (const manifest of manifests) {
        const stored = await kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], { input: manifest });
        assert.equal(stored.code, 0, stored.stderr);
        const applied = JSON.parse(stored.stdout) as Stored;
        const [read] = manifestObjects(manifest) as unknown as Stored[];
        assert.equal(read!.spec.replicas, applied.spec.replicas);
        assert.equal(read!.spec.paused ?? false, applied.spec.paused ?? false);
        assert.equal(read!.spec.template.spec.terminationGracePeriodSeconds ?? 30, applied.spec.template.spec.terminationGracePeriodSeconds);
      }
      const [merged, repeated] = await Promise.all(manifests.map(async (manifest) => JSON.parse((await kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], { input: manifest })).stdout) as Stored));
      assert.deepEqual([merged!.spec.replicas, merged!.spec.paused, repeated!.spec.template.spec.terminationGracePeriodSeconds], [0, true, 31]);
      // Both in one document: kubectl applies it; levee refuses it rather than guess (README).
      assert.throws(() => manifestObjects(manifests[0]!.replace('  paused: yes\n', '  paused: yes\n  paused: no\n')), /a key is repeated in a document that also uses merge keys/);
    });

    it('finds a Service already left without endpoints by a workload at zero, and judges -f as updates of live objects', async () => {
      const { cluster } = await e2e();
      const env = { ...process.env, KUBECONFIG: cluster.kubeconfig };
      // Created at zero before its Service exists, which the webhook cannot refuse: the state
      // an audit of the live cluster is for.
      const labels = { app: 'orphan' };
      const deployment = {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'orphan', namespace, labels },
        spec: { replicas: 0, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'a', image: 'x' }] } } },
      };
      assert.equal((await kubectl(['apply', '-f', '-'], { input: JSON.stringify(deployment) })).code, 0);
      const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'orphan', namespace }, spec: { selector: labels, ports: [{ port: 80 }] } };
      assert.equal((await kubectl(['apply', '-f', '-'], { input: JSON.stringify(service) })).code, 0);

      let scan: CliResult = { code: -1, stdout: '', stderr: '' };
      await eventually('the live scan to report the orphaned Service', async () => {
        scan = await levee(['audit', '--cluster', '-o', 'json'], env);
        return (scan.code === 1 && scan.stdout.includes(`"namespace": "${namespace}"`)) || `${scan.code} ${scan.stderr}`;
      }, 60_000);
      const report = JSON.parse(scan.stdout) as { findings: Array<{ policy: string; object: { name: string; namespace?: string } }> };
      assert.ok(report.findings.some((f) => f.policy === 'scale-to-zero' && f.object.name === 'orphan' && f.object.namespace === namespace));

      // The same Deployment at 2 replicas, judged against the live one, is fine.
      const dir = mkdtempSync(join(tmpdir(), 'levee-live-'));
      writeFileSync(join(dir, 'orphan.json'), JSON.stringify({ ...deployment, spec: { ...deployment.spec, replicas: 2 } }));
      const update = await levee(['audit', '--cluster', '-f', dir], env);
      assert.equal(update.code, 0, update.stdout + update.stderr);
      assert.match(update.stdout, /1 objects, 1 judged/);
    });
  });
});
