import assert from 'node:assert/strict';
import { buildConfig } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';
import { configuredSeverities, criticalProbes } from '../../../src/probe/settings.js';
import { configuredSeverity } from '../../../src/probe/verdict.js';

describe('probe/settings: severities', () => {
  const severityOf = (probe: Parameters<typeof configuredSeverity>[0], settings: Record<string, unknown> = {}) => {
    const { probe: config } = buildConfig({ probe: settings });
    return configuredSeverity(probe, { critical: criticalProbes(config), severities: configuredSeverities(config) });
  };

  it('ships the critical list as critical, on-demand-share as minor and every other probe as major', () => {
    assert.equal(severityOf('scheduler'), 'critical');
    assert.equal(severityOf('workload-lifecycle'), 'critical');
    assert.equal(severityOf('on-demand-share'), 'minor');
    assert.equal(severityOf('node-health'), 'major');
    assert.equal(severityOf('restart-burst'), 'major');
  });

  it('lets the critical list and probe.severity move any probe, probe.severity winning', () => {
    assert.equal(severityOf('on-demand-share', { critical: ['on-demand-share'] }), 'critical', 'listing a probe as critical beats its default');
    assert.equal(severityOf('dns', { critical: [] }), 'major');
    assert.equal(severityOf('scheduler', { severity: { scheduler: 'minor' } }), 'minor');
    assert.equal(severityOf('service-endpoints', { severity: { 'service-endpoints': 'critical' } }), 'critical');
  });

  it('gives a custom probe its own severity, which wins over its critical flag', () => {
    const custom = (extra: Record<string, unknown>) => ({ custom: [{ name: 'shop', http: { url: 'http://127.0.0.1:9/healthz' }, ...extra }] });
    assert.equal(severityOf('custom:shop', custom({ severity: 'minor', critical: true })), 'minor');
    assert.equal(severityOf('custom:shop', custom({ critical: true })), 'critical');
    assert.equal(severityOf('custom:shop', custom({})), 'major');
  });

  it('refuses an unknown severity or probe, naming the key', () => {
    const refused = (settings: Record<string, unknown>, key: RegExp) =>
      assert.throws(() => buildConfig({ probe: settings }), (err: unknown) => err instanceof ConfigError && key.test(err.message));
    refused({ severity: { scheduler: 'severe' } }, /probe\.severity\.scheduler/);
    refused({ severity: { 'no-such-probe': 'minor' } }, /probe\.severity/);
  });
});
