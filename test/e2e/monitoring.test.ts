import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { parse as parseYaml, stringify } from 'yaml';
import { call } from '../support/https.js';
import { e2e } from '../support/e2e.js';

/**
 * manifests/monitoring against promtool built from the Prometheus module: the rules pass
 * `promtool check rules` and every alert's `promtool test rules` cases; every dashboard query
 * parses; and every metric the alerts and the dashboard read is one a running levee serve or
 * levee probe really exports.
 */

const MONITORING = join(process.cwd(), 'manifests', 'monitoring');
// Made by Prometheus for every target, not by levee.
const SCRAPE_METRICS = new Set(['up']);
// Grafana's variables, replaced by plain values so the queries are PromQL.
const GRAFANA_VARIABLES: Array<[RegExp, string]> = [[/\$__rate_interval/g, '5m'], [/\$__interval/g, '1m'], [/\$__range/g, '1h'], [/\$namespace/g, 'levee-system']];

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}

function promtool(args: string[], cwd: string): { code: number; output: string } {
  const built = spawnSync('bash', ['tools/build.sh', 'promtool'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  assert.equal(built.status, 0, 'tools/build.sh promtool');
  const result = spawnSync(built.stdout.trim(), args, { cwd, encoding: 'utf8' });
  return { code: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}

function rules(): Rule[] {
  const object = parseYaml(readFileSync(join(MONITORING, 'prometheusrule.yaml'), 'utf8')) as { spec: { groups: Array<{ rules: Rule[] }> } };
  return object.spec.groups.flatMap((group) => group.rules);
}

interface Dashboard {
  panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
  templating: { list: Array<{ name: string; type: string; definition?: string }> };
}

function dashboardQueries(): Array<{ where: string; expr: string }> {
  const dashboard = JSON.parse(readFileSync(join(MONITORING, 'dashboard.json'), 'utf8')) as Dashboard;
  const queries = dashboard.panels.flatMap((panel) => panel.targets.map((target) => ({ where: `panel "${panel.title}"`, expr: target.expr })));
  for (const variable of dashboard.templating.list.filter((v) => v.type === 'query')) {
    const inner = /^label_values\((.+),\s*[a-zA-Z_]+\)$/.exec(variable.definition ?? '');
    assert.ok(inner, `variable ${variable.name} is a label_values() query`);
    queries.push({ where: `variable ${variable.name}`, expr: inner[1]! });
  }
  return queries.map(({ where, expr }) => ({ where, expr: GRAFANA_VARIABLES.reduce((text, [pattern, value]) => text.replace(pattern, value), expr) }));
}

/** Metric names a PromQL expression selects: identifiers directly followed by a label matcher. */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((m) => m[1]!).filter((name) => !['by', 'without', 'on', 'ignoring'].includes(name));
}

/** Names a /metrics page exports, with the series names of histograms and summaries. */
function exported(page: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of page.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name!}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name!}${suffix}`);
  }
  return names;
}

function httpGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
    }).on('error', reject).end();
  });
}

describe('e2e: monitoring (manifests/monitoring) with promtool', function () {
  this.timeout(60_000);
  let work = '';

  before(function () {
    this.timeout(1_800_000);
    work = mkdtempSync(join(tmpdir(), 'levee-monitoring-'));
    // promtool reads plain rules files: the PrometheusRule's spec is one.
    const object = parseYaml(readFileSync(join(MONITORING, 'prometheusrule.yaml'), 'utf8')) as { spec: unknown };
    writeFileSync(join(work, 'rules.yaml'), stringify(object.spec));
    copyFileSync(join(MONITORING, 'alerts_test.yaml'), join(work, 'alerts_test.yaml'));
    promtool(['--version'], work);
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('passes `promtool check rules`', () => {
    const result = promtool(['check', 'rules', 'rules.yaml'], work);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /SUCCESS: 6 rules found/);
  });

  it('passes `promtool test rules` for every alert, each with a case where it fires', () => {
    const result = promtool(['test', 'rules', 'alerts_test.yaml'], work);
    assert.equal(result.code, 0, result.output);
    const tests = parseYaml(readFileSync(join(MONITORING, 'alerts_test.yaml'), 'utf8')) as { tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }> };
    const firing = new Set(tests.tests.flatMap((t) => t.alert_rule_test ?? []).filter((t) => t.exp_alerts.length > 0).map((t) => t.alertname));
    for (const rule of rules()) assert.ok(firing.has(rule.alert!), `alerts_test.yaml has a case where ${rule.alert!} fires`);
  });

  it('fails `promtool test rules` when an alert\'s threshold changes (the cases are not vacuous)', () => {
    const spec = parseYaml(readFileSync(join(work, 'rules.yaml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> };
    for (const rule of spec.groups[0]!.rules) rule.expr = rule.expr.replace(/> (0\.1|60|5)$/, '> 1e9').replace(/< 14 \* 86400$/, '< 1').replace(/== 0 or absent/, '== 99 or absent');
    writeFileSync(join(work, 'broken.yaml'), stringify(spec));
    writeFileSync(join(work, 'broken_test.yaml'), readFileSync(join(work, 'alerts_test.yaml'), 'utf8').replace('  - rules.yaml', '  - broken.yaml'));
    const result = promtool(['test', 'rules', 'broken_test.yaml'], work);
    assert.notEqual(result.code, 0);
    for (const alert of ['LeveeAdmissionLatencyHigh', 'LeveeCachesStale', 'LeveeServingCertificateExpiresSoon', 'LeveeOverrideRateHigh']) assert.match(result.output, new RegExp(alert));
  });

  it('has dashboard queries that all parse as PromQL', () => {
    const queries = dashboardQueries();
    assert.ok(queries.length >= 15, `${queries.length} queries`);
    const group = { groups: [{ name: 'dashboard', rules: queries.map((q, i) => ({ record: `levee_dashboard:query_${i}`, expr: q.expr })) }] };
    writeFileSync(join(work, 'dashboard-rules.yaml'), stringify(group));
    const result = promtool(['check', 'rules', 'dashboard-rules.yaml'], work);
    assert.equal(result.code, 0, `${result.output}\n${queries.map((q, i) => `query_${i}: ${q.where}`).join('\n')}`);
    // The same check refuses a query that does not parse.
    writeFileSync(join(work, 'bad-rules.yaml'), stringify({ groups: [{ name: 'bad', rules: [{ record: 'levee_dashboard:bad', expr: 'sum by (le (rate(levee_decisions_total[5m]))' }] }] }));
    assert.notEqual(promtool(['check', 'rules', 'bad-rules.yaml'], work).code, 0);
  });

  it('reads only metrics a running levee serve and levee probe export', async () => {
    const env = await e2e();
    const served = exported((await call(env.port, env.ca, { method: 'GET', path: '/metrics' })).text);
    const probed = exported(await httpGet(env.probePort, '/metrics'));
    assert.ok(served.has('levee_decisions_total') && probed.has('levee_probe_verdict'), 'both pages were scraped');
    const used = new Map<string, string>();
    for (const rule of rules()) for (const metric of metricsIn(rule.expr)) used.set(metric, `alert ${rule.alert!}`);
    for (const query of dashboardQueries()) for (const metric of metricsIn(query.expr)) used.set(metric, query.where);
    assert.ok(used.size >= 10, `${used.size} metrics`);
    for (const [metric, where] of used) {
      if (SCRAPE_METRICS.has(metric)) continue;
      assert.ok(served.has(metric) || probed.has(metric), `${where} reads ${metric}, which neither levee serve nor levee probe exports`);
    }
  });
});
