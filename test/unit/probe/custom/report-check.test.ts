import assert from 'node:assert/strict';
import type { KubeApi } from '../../../../src/probe/kube-api.js';
import { readReport } from '../../../../src/probe/custom/report-check.js';

const now = new Date('2026-06-01T12:00:00Z');
const never = new AbortController().signal;
const PATH = '/api/v1/namespaces/levee-system/configmaps/levee-report-egress';

function api(status: number, body: unknown): { api: KubeApi; paths: string[] } {
  const paths: string[] = [];
  const fake = { get: async (path: string) => (paths.push(path), { status, body, text: JSON.stringify(body) }) } as unknown as KubeApi;
  return { api: fake, paths };
}

function report(data: Record<string, string>, writtenAt: string, reporterClock = '2099-01-01T00:00:00Z') {
  return {
    metadata: { creationTimestamp: '2026-06-01T09:00:00Z', managedFields: [{ manager: 'kubectl-create', time: '2026-06-01T09:00:00Z' }, { manager: 'curl', time: writtenAt }] },
    data: { reportedAt: reporterClock, ...data },
  };
}

const check = { configMap: 'levee-report-egress', maxAgeSeconds: 120 };

describe('probe/custom/report-check', () => {
  it('passes on a fresh ok report, aged by the API server\'s clock, not the reporter\'s', async () => {
    const { api: fake, paths } = api(200, report({ ok: 'true', message: 'egress to 1.1.1.1:443 in 12 ms' }, '2026-06-01T11:59:30Z'));
    const outcome = await readReport(check, fake, 'levee-system', now, never);
    assert.deepEqual(paths, [PATH]);
    assert.equal(outcome.ok, true, outcome.message);
    assert.equal(outcome.message, 'reported passing 30 s ago: egress to 1.1.1.1:443 in 12 ms');
  });

  it('fails a report of failure, a stale report and a ConfigMap with no report', async () => {
    const failed = await readReport(check, api(200, report({ ok: 'false', message: 'no route to 1.1.1.1' }, '2026-06-01T11:59:50Z')).api, 'levee-system', now, never);
    assert.equal(failed.ok, false);
    assert.equal(failed.message, 'reported failing 10 s ago: no route to 1.1.1.1');
    const stale = await readReport(check, api(200, report({ ok: 'true' }, '2026-06-01T11:50:00Z')).api, 'levee-system', now, never);
    assert.equal(stale.ok, false);
    assert.equal(stale.stage, 'stale');
    assert.match(stale.message, /is 600 s old \(more than 120 s\): has the reporting pod stopped\?/);
    const empty = await readReport(check, api(200, { metadata: { creationTimestamp: '2026-06-01T11:59:00Z' } }).api, 'levee-system', now, never);
    assert.equal(empty.ok, false);
    assert.match(empty.message, /carries no report yet \(no data\.ok\)/);
  });

  it('fails when the ConfigMap is missing or cannot be read, saying which', async () => {
    const missing = await readReport(check, api(404, { message: 'not found' }).api, 'levee-system', now, never);
    assert.equal(missing.message, 'no report yet: ConfigMap levee-system/levee-report-egress does not exist');
    const forbidden = await readReport(check, api(403, { message: 'configmaps "levee-report-egress" is forbidden' }).api, 'levee-system', now, never);
    assert.equal(forbidden.ok, false);
    assert.match(forbidden.message, /HTTP 403: configmaps "levee-report-egress" is forbidden/);
  });
});
