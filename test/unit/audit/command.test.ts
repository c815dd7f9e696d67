import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runAudit, type AuditOptions } from '../../../src/audit/command.js';
import { buildConfig } from '../../../src/config.js';
import { LeveeError } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import { BUNDLE_PATH } from '../../support/bundle.js';
import { sarifSchemaErrors } from '../../support/sarif-schema.js';

const config = buildConfig({ bundlePath: BUNDLE_PATH, logLevel: 'silent' });
const logger = createLogger('silent');
const options = (files: string[], output: AuditOptions['output'] = 'json', extra: Partial<AuditOptions> = {}): AuditOptions => ({ files, cluster: false, namespace: 'default', output, colour: false, ...extra });

function manifestDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'levee-audit-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

interface JsonReport {
  summary: { objects: number; judged: number; notKubernetes: number; templates: number; errors: number; deny: number };
  findings: Array<{ policy: string; source: string; object: { name: string; namespace?: string }; overrideIgnored?: string[] }>;
  errors: Array<{ source: string; message: string }>;
  notes: string[];
}

const deployment = (name: string, replicas: number) =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ${name}}\nspec:\n  replicas: ${replicas}\n  selector: {matchLabels: {app: ledger}}\n  template:\n    metadata: {labels: {app: ledger}}\n    spec: {containers: [{name: a, image: x}]}\n`;
const service = 'apiVersion: v1\nkind: Service\nmetadata: {name: ledger}\nspec: {selector: {app: ledger}}\n';

describe('audit/command (offline)', () => {
  it('exits 1 for a zero-replica Deployment behind its Service in the same directory', async () => {
    const result = await runAudit(options([manifestDir({ 'deploy.yaml': deployment('ledger', 0), 'svc.yaml': service })]), config, logger);
    assert.equal(result.exitCode, 1);
    const parsed = JSON.parse(result.text) as { findings: Array<{ policy: string; object: { namespace: string } }> };
    assert.deepEqual(parsed.findings.map((f) => f.policy), ['scale-to-zero']);
    assert.equal(parsed.findings[0]!.object.namespace, 'default');
  });

  it('reads a Pod whose controller reference the input cannot confirm as the bare Pod it will be', async () => {
    const pod = (owner: string) =>
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ledger-x\n  labels: {app: ledger}\n  ownerReferences: [${owner}]\nspec: {containers: [{name: a, image: x}]}\n`;
    const statefulSet = 'apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, uid: uid-db}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: db}}\n  template:\n    metadata: {labels: {app: db}}\n    spec: {containers: [{name: a, image: x}]}\n';
    const findings = async (files: Record<string, string>): Promise<string[]> =>
      (JSON.parse((await runAudit(options([manifestDir({ 'deploy.yaml': deployment('ledger', 0), 'svc.yaml': service, ...files })]), config, logger)).text) as JsonReport).findings.map((f) => f.policy);
    // A ConfigMap makes no pods: the Pod runs as itself and backs the Service.
    assert.deepEqual(await findings({ 'pod.yaml': pod('{apiVersion: v1, kind: ConfigMap, name: settings, uid: uid-settings, controller: true}') }), []);
    // A StatefulSet the input does not hold, or holds with another uid: the Pod is never counted as another backend.
    assert.deepEqual(await findings({ 'pod.yaml': pod('{apiVersion: apps/v1, kind: StatefulSet, name: ghost, uid: uid-ghost, controller: true}') }), ['scale-to-zero']);
    assert.deepEqual(await findings({ 'pod.yaml': pod('{apiVersion: apps/v1, kind: StatefulSet, name: db, uid: uid-forged, controller: true}'), 'sts.yaml': statefulSet }), ['scale-to-zero']);
  });

  it('exits 0 when another workload in the input backs the Service', async () => {
    const result = await runAudit(options([manifestDir({ 'a.yaml': deployment('ledger', 0), 'b.yaml': deployment('ledger-v2', 2), 'svc.yaml': service })]), config, logger);
    assert.equal(result.exitCode, 0, result.text);
  });

  it('counts kinds no policy judges as skipped, never as errors', async () => {
    const result = await runAudit(options([manifestDir({ 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n' })], 'table'), config, logger);
    assert.equal(result.exitCode, 0);
    assert.match(result.text, /1 objects, 0 judged, 1 skipped \(ConfigMap x1\)/);
  });

  it('a broken file is reported with its line, and everything else is still judged: exit 2, never 1', async () => {
    const dir = manifestDir({ 'deploy.yaml': deployment('ledger', 0), 'svc.yaml': service, 'bad.yaml': 'apiVersion: v1\nkind: [\n' });
    const result = await runAudit(options([dir]), config, logger);
    assert.equal(result.exitCode, 2);
    const report = JSON.parse(result.text) as JsonReport;
    assert.deepEqual(report.findings.map((f) => f.policy), ['scale-to-zero'], 'the findings of the readable files are still there');
    assert.equal(report.errors.length, 1);
    assert.match(report.errors[0]!.source, /bad\.yaml:\d+$/);
    assert.match(result.diagnostics.join('\n'), /bad\.yaml:\d+: not valid YAML/);
  });

  it('YAML and JSON files that are not Kubernetes objects are skipped and counted, never errors', async () => {
    const dir = manifestDir({
      'package.json': '{"name": "app", "version": "1.0.0"}',
      'openapi.yaml': 'openapi: 3.0.0\ninfo: {title: x}\n',
      'values.yaml': 'replicaCount: 0\nimage: {repository: x}\n',
      'kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [svc.yaml]\n',
      'svc.yaml': service,
    });
    const result = await runAudit(options([dir]), config, logger);
    assert.equal(result.exitCode, 0, result.diagnostics.join('\n'));
    const report = JSON.parse(result.text) as JsonReport;
    assert.equal(report.summary.notKubernetes, 4);
    assert.equal(report.summary.objects, 1);
    assert.ok(report.notes.some((note) => /kustomization\.yaml.*kubectl kustomize/.test(note)), report.notes.join('\n'));
  });

  it('Helm chart sources are skipped with a note to pipe helm template in, and so is a broken file full of template actions', async () => {
    const dir = manifestDir({
      'chart/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
      'chart/values.yaml': 'replicas: 0\n',
      'chart/templates/deployment.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicas }}\n',
      'chart/templates/service.yaml': 'apiVersion: v1\nkind: Service\nmetadata: {name: "{{ .Release.Name }}"}\n',
      'other/tpl.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .name }}\n  {{- if .x }}\n',
      'alerts.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: alerts}\ndata: {summary: "Instance {{ $labels.instance }} down"}\n',
    });
    const result = await runAudit(options([dir]), config, logger);
    assert.equal(result.exitCode, 0, result.diagnostics.join('\n'));
    const report = JSON.parse(result.text) as JsonReport;
    assert.equal(report.summary.templates, 3);
    assert.equal(report.summary.errors, 0);
    assert.equal(report.summary.objects, 1, 'a valid manifest that merely holds {{ }} in a string is judged');
    assert.ok(report.notes.some((note) => /2 Helm chart source file\(s\) in .*chart\/templates.*helm template .*chart \| levee audit -f -/.test(note)), report.notes.join('\n'));
    assert.ok(report.notes.some((note) => /tpl\.yaml holds template actions/.test(note)), report.notes.join('\n'));
  });

  it('an empty input says so', async () => {
    const result = await runAudit(options([manifestDir({ 'empty.yaml': '# nothing yet\n' })], 'table'), config, logger);
    assert.equal(result.exitCode, 0);
    assert.match(result.diagnostics.join('\n'), /no Kubernetes object found in/);
  });

  it('judges the object kubectl applies: a merge key after replicas sets them to 0', async () => {
    const merged = deployment('ledger', 3).replace('  replicas: 3\n', '  replicas: 3\n  <<: {replicas: 0}\n');
    const result = await runAudit(options([manifestDir({ 'deploy.yaml': merged, 'svc.yaml': service })]), config, logger);
    assert.equal(result.exitCode, 1, result.text);
  });

  it('prints why an override annotation in a manifest was ignored', async () => {
    const annotated = deployment('ledger', 0).replace(
      'metadata: {name: ledger}',
      'metadata:\n  name: ledger\n  annotations: {levee.dev/override: scale-to-zero, levee.dev/override-reason: "INC-1", levee.dev/override-expires: "2020-01-01T00:00:00Z"}',
    );
    const dir = manifestDir({ 'deploy.yaml': annotated, 'svc.yaml': service });
    const json = JSON.parse((await runAudit(options([dir]), config, logger)).text) as JsonReport;
    assert.deepEqual(json.findings[0]!.overrideIgnored, ['expired at 2020-01-01T00:00:00Z']);
    const table = await runAudit(options([dir], 'table'), config, logger);
    assert.equal(table.exitCode, 1);
    assert.match(table.text, /override ignored: expired at 2020-01-01T00:00:00Z/);
    const unauthorized = annotated.replace('2020-01-01T00:00:00Z', new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z'));
    const offline = await runAudit(options([manifestDir({ 'deploy.yaml': unauthorized, 'svc.yaml': service })], 'table'), config, logger);
    assert.match(offline.text, /override ignored: not authorized: levee-audit may not override scale-to-zero \(authorization cannot be checked without a cluster\)/);
  });

  it('refuses input past --max-bytes before judging anything', async () => {
    const dir = manifestDir({ 'deploy.yaml': deployment('ledger', 0), 'svc.yaml': service });
    await assert.rejects(
      runAudit(options([dir], 'json', { maxBytes: 200 }), config, logger),
      (err: unknown) => err instanceof LeveeError && err.code === 'AUDIT_INPUT_TOO_LARGE' && /larger than --max-bytes 200/.test(err.message),
    );
  });

  it('reads stdin for -, within the same byte limit', async () => {
    const readStdin = async (): Promise<Buffer> => Buffer.from(deployment('ledger', 0) + '---\n' + service);
    const result = await runAudit(options(['-'], 'json', { readStdin }), config, logger);
    assert.equal(result.exitCode, 1);
    assert.equal((JSON.parse(result.text) as JsonReport).findings[0]!.source, '<stdin>:1');
  });

  it('writes SARIF that validates against the published schema, a result per finding at its file and line', async function () {
    this.timeout(120_000);
    const result = await runAudit(options(['test/fixtures/incidents'], 'sarif'), config, logger);
    assert.equal(result.exitCode, 1);
    const log = JSON.parse(result.text) as { runs: Array<{ results: Array<{ ruleId: string; level: string; locations: Array<{ physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }> }> }> };
    assert.deepEqual(sarifSchemaErrors(log), []);
    const results = log.runs[0]!.results;
    assert.ok(results.some((r) => r.ruleId === 'scale-to-zero/scale-to-zero' && r.level === 'error' && r.locations[0]!.physicalLocation.artifactLocation.uri === 'test/fixtures/incidents/monzo.yaml' && r.locations[0]!.physicalLocation.region.startLine === 2));
  });

  it('names a path that does not exist', async () => {
    await assert.rejects(runAudit(options(['/nonexistent/levee/manifests']), config, logger), (err: unknown) => err instanceof LeveeError && err.code === 'AUDIT_USAGE' && /no such file/.test(err.message));
  });

  it('asks for -f or --cluster', async () => {
    await assert.rejects(runAudit(options([]), config, logger), (err: unknown) => err instanceof LeveeError && err.code === 'AUDIT_USAGE');
  });
});
