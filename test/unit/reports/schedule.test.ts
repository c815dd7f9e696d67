import assert from 'node:assert/strict';
import { emptyReport, type AuditReport } from '../../../src/audit/audit.js';
import { buildConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { ReportSchedule } from '../../../src/reports/schedule.js';
import { FakeOpenReports } from '../../support/fake-openreports.js';

function auditWith(namespaces: string[]): AuditReport {
  const report = emptyReport();
  report.judged = namespaces.length;
  for (const namespace of namespaces) {
    report.findings.push({
      policy: 'scale-to-zero',
      rule: 'service-without-endpoints',
      action: 'deny',
      overridden: false,
      message: 'Service web would have no endpoints',
      object: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace },
      source: 'cluster:deployments',
    });
  }
  return report;
}

describe('reports/schedule', () => {
  const config = buildConfig({ reports: { intervalSeconds: 5, maxResultsPerReport: 3 } });
  const logger = createLogger('silent');

  it('audits and writes only while this replica leads', async () => {
    const fake = new FakeOpenReports();
    let leader = false;
    let audits = 0;
    const schedule = new ReportSchedule({ config, logger, api: fake.api, isLeader: () => leader, audit: async () => (audits++, auditWith(['payments'])) });
    assert.deepEqual(await schedule.runOnce(), { ran: false, why: 'not leader' });
    assert.equal(audits, 0);
    leader = true;
    const result = await schedule.runOnce();
    assert.equal(result.ran, true);
    assert.equal(audits, 1);
    assert.ok(fake.report('payments'));
  });

  it('runs on its schedule: the first run one interval after start, then each interval, only while leading', async () => {
    const fake = new FakeOpenReports();
    let clock = Date.parse('2026-11-30T07:00:00Z');
    let leader = true;
    let audits = 0;
    const schedule = new ReportSchedule({ config, logger, api: fake.api, isLeader: () => leader, now: () => new Date(clock), audit: async () => (audits++, auditWith(['payments'])) });
    const realSetTimeout = globalThis.setTimeout;
    const ticks: Array<() => void> = [];
    globalThis.setTimeout = ((callback: () => void) => (ticks.push(callback), { unref: () => undefined })) as unknown as typeof setTimeout;
    const tick = async () => {
      ticks.shift()!();
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    };
    try {
      schedule.start();
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(audits, 0, 'not at start');
      clock += 4_000;
      await tick();
      assert.equal(audits, 0, 'not before one interval');
      clock += 1_000;
      await tick();
      assert.equal(audits, 1, 'one interval after start');
      clock += 4_000;
      await tick();
      assert.equal(audits, 1);
      leader = false;
      clock += 10_000;
      await tick();
      assert.equal(audits, 1, 'a follower waits');
      leader = true;
      await tick();
      assert.equal(audits, 2, 'leading again, the run is due');
      schedule.stop();
      clock += 10_000;
      while (ticks.length > 0) await tick();
      assert.equal(audits, 2, 'stopped: no more runs');
    } finally {
      globalThis.setTimeout = realSetTimeout;
      schedule.stop();
    }
  });

  it('does not write when it lost the lead while auditing', async () => {
    const fake = new FakeOpenReports();
    let leader = true;
    const schedule = new ReportSchedule({ config, logger, api: fake.api, isLeader: () => leader, audit: async () => ((leader = false), auditWith(['payments'])) });
    assert.deepEqual(await schedule.runOnce(), { ran: false, why: 'not leader' });
    assert.equal(fake.objects.size, 0);
  });

  it('neither audits nor writes while the openreports.io CRDs are not installed', async () => {
    const fake = new FakeOpenReports();
    fake.installed = false;
    let audits = 0;
    const schedule = new ReportSchedule({ config, logger, api: fake.api, isLeader: () => true, audit: async () => (audits++, auditWith(['payments'])) });
    assert.deepEqual(await schedule.runOnce(), { ran: false, why: 'not installed' });
    assert.equal(audits, 0);
  });

  it('never runs two audits at once', async () => {
    const fake = new FakeOpenReports();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const schedule = new ReportSchedule({ config, logger, api: fake.api, isLeader: () => true, audit: async () => (await gate, auditWith([])) });
    const first = schedule.runOnce();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(await schedule.runOnce(), { ran: false, why: 'busy' });
    release();
    assert.equal((await first).ran, true);
  });

  it('applies the configured cap to each Report', async () => {
    const fake = new FakeOpenReports();
    const many = auditWith([]);
    for (let i = 0; i < 5; i++) many.findings.push({ ...auditWith(['big']).findings[0]!, object: { apiVersion: 'apps/v1', kind: 'Deployment', name: `w${i}`, namespace: 'big' } });
    const schedule = new ReportSchedule({ config, logger, api: fake.api, isLeader: () => true, audit: async () => many });
    await schedule.runOnce();
    const stored = fake.report('big') as unknown as { results: unknown[]; summary: { fail: number }; metadata: { annotations: Record<string, string> } };
    assert.equal(stored.results.length, 3);
    assert.equal(stored.summary.fail, 5);
    assert.equal(stored.metadata.annotations['levee.dev/results-omitted'], '2');
  });

  it('a failed audit is an error of that run only; the next run writes', async () => {
    const fake = new FakeOpenReports();
    let fail = true;
    const schedule = new ReportSchedule({ config, logger, api: fake.api, isLeader: () => true, audit: async () => {
      if (fail) throw new Error('cannot list services: connection refused');
      return auditWith(['payments']);
    } });
    await assert.rejects(schedule.runOnce(), /connection refused/);
    fail = false;
    assert.equal((await schedule.runOnce()).ran, true);
    assert.ok(fake.report('payments'));
  });
});
