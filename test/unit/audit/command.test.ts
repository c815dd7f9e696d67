import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAudit, type AuditOptions } from '../../../src/audit/command.js';
import { buildConfig } from '../../../src/config.js';
import { LeveeError } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import { BUNDLE_PATH } from '../../support/bundle.js';

const config = buildConfig({ bundlePath: BUNDLE_PATH, logLevel: 'silent' });
const logger = createLogger('silent');
const options = (files: string[], output: AuditOptions['output'] = 'json'): AuditOptions => ({ files, cluster: false, namespace: 'default', output, colour: false });

function manifestDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'levee-audit-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
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

  it('exits 0 when another workload in the input backs the Service', async () => {
    const result = await runAudit(options([manifestDir({ 'a.yaml': deployment('ledger', 0), 'b.yaml': deployment('ledger-v2', 2), 'svc.yaml': service })]), config, logger);
    assert.equal(result.exitCode, 0, result.text);
  });

  it('counts kinds no policy judges as skipped, never as errors', async () => {
    const result = await runAudit(options([manifestDir({ 'cm.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n' })], 'table'), config, logger);
    assert.equal(result.exitCode, 0);
    assert.match(result.text, /1 objects, 0 judged, 1 skipped \(ConfigMap x1\)/);
  });

  it('a broken file is an input error naming the file, not an empty input', async () => {
    const dir = manifestDir({ 'good.yaml': service, 'bad.yaml': 'kind: [' });
    await assert.rejects(runAudit(options([dir]), config, logger), (err: unknown) => err instanceof LeveeError && err.code === 'MANIFEST_INVALID' && /bad\.yaml:1/.test(err.message));
  });

  it('asks for -f or --cluster', async () => {
    await assert.rejects(runAudit(options([]), config, logger), (err: unknown) => err instanceof LeveeError && err.code === 'AUDIT_USAGE');
  });
});
