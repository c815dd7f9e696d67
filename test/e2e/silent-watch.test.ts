import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlackHoleProxy } from '../support/blackhole-proxy.js';
import { call, type HttpAnswer } from '../support/https.js';
import { e2e, e2ePort, eventually, kubectl, type E2eEnvironment } from '../support/e2e.js';
import { stopProcess, tail } from '../support/levee-processes.js';
import { scaleReview } from '../support/reviews.js';

/**
 * Watches that go silent: a TCP proxy of the test's own stands between a `levee serve` (and a
 * `levee probe`) and the real API server, and stops forwarding while keeping every socket
 * open. levee must notice within its silence bound (kubeClient.watchSilenceSeconds, 45 s by
 * default: the API server ends each watch after watchTimeoutSeconds, 30 s, so a healthy
 * watch is never quiet that long), report the caches stale as for a broken watch, relist
 * when the path heals, and be right about what changed meanwhile, without a restart.
 * Timings are printed, not asserted: the README quotes them.
 */

const namespace = `quiet-${Date.now().toString(36)}`;
const dir = join(process.cwd(), '.levee', 'e2e', namespace);

function deployment(name: string): string {
  const labels = { app: name };
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/ledger:1.0' }] } } },
  });
}

function service(name: string): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector: { app: name }, ports: [{ port: 80 }] } });
}

interface Review {
  allowed: boolean;
  message: string;
  warnings: string[];
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

describe('e2e: silent watches (a black-holed path between levee and the API server)', function () {
  this.timeout(300_000);
  let env: E2eEnvironment;
  let proxy: BlackHoleProxy;
  let serve: ChildProcess;
  let probe: ChildProcess;
  let servePort = 0;
  const serveLog = join(dir, 'serve.log');
  const probeLog = join(dir, 'probe.log');
  const verdictFile = join(dir, 'verdict.json');

  async function review(name: string): Promise<Review> {
    const answer = await call(servePort, env.ca, { path: '/validate', body: JSON.stringify(scaleReview({ name, namespace, replicas: 0, oldReplicas: 1 })) });
    assert.equal(answer.status, 200, answer.text);
    const response = (answer.json() as { response: { allowed: boolean; status?: { message?: string }; warnings?: string[] } }).response;
    return { allowed: response.allowed, message: response.status?.message ?? '', warnings: response.warnings ?? [] };
  }

  async function readyz(): Promise<HttpAnswer> {
    return call(servePort, env.ca, { method: 'GET', path: '/readyz' });
  }

  async function metric(name: string): Promise<string[]> {
    const answer = await call(servePort, env.ca, { method: 'GET', path: '/metrics' });
    return answer.text.split('\n').filter((line) => line.startsWith(name));
  }

  /** The probe's own API calls get answers: its write probe passes and nothing critical fails. */
  function probeGetsAnswers(): true | string {
    const current = verdict();
    const writePath = current?.probes.find((result) => result.probe === 'api-write-path');
    return (current !== undefined && current.verdict !== 'Unhealthy' && writePath?.status === 'Passing') || JSON.stringify({ verdict: current?.verdict, failing: current?.failing });
  }

  /** Resolves with when `check` first held, polling every 250 ms. */
  async function firstTime(what: string, check: () => Promise<true | string> | true | string, timeoutMs: number): Promise<number> {
    await eventually(what, async () => check(), timeoutMs);
    return Date.now();
  }

  function verdict(): { verdict: string; failing: string[]; probes: Array<{ probe: string; status: string; message: string }> } | undefined {
    try {
      return JSON.parse(readFileSync(verdictFile, 'utf8')) as { verdict: string; failing: string[]; probes: Array<{ probe: string; status: string; message: string }> };
    } catch {
      return undefined;
    }
  }

  before(async function () {
    this.timeout(900_000);
    env = await e2e();
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    assert.equal((await kubectl(['create', 'namespace', namespace])).code, 0);
    for (const input of [deployment('ledger'), service('ledger')]) assert.equal((await kubectl(['apply', '-f', '-'], { input })).code, 0);

    proxy = new BlackHoleProxy({ host: '127.0.0.1', port: env.cluster.ports.apiserver });
    const proxyPort = await proxy.start(e2ePort(50));
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, readFileSync(env.cluster.kubeconfig, 'utf8').replace(`https://127.0.0.1:${env.cluster.ports.apiserver}`, `https://127.0.0.1:${proxyPort}`));
    servePort = e2ePort(51);
    const certs = env.certs;
    const start = (args: string[], log: string): ChildProcess => {
      const child = spawn(process.execPath, ['bin/levee.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      const output = createWriteStream(log);
      child.stdout!.pipe(output);
      child.stderr!.pipe(output);
      return child;
    };
    const probeConfig = join(dir, 'probe.json');
    writeFileSync(probeConfig, JSON.stringify({
      logLevel: 'debug',
      probe: {
        intervalSeconds: 3, timeoutSeconds: 8, httpPort: e2ePort(52), verdictFile, publish: false,
        lease: { name: `levee-probe-${namespace}`, durationSeconds: 15 }, disabled: ['workload-lifecycle'],
      },
    }));
    probe = start(['probe', '--config', probeConfig, '--kubeconfig', kubeconfig, '--tls-cert', join(certs, 'tls.crt')], probeLog);
    serve = start(['serve', '--host', '127.0.0.1', '--port', String(servePort), '--kubeconfig', kubeconfig, '--tls-cert', join(certs, 'tls.crt'),
      '--tls-key', join(certs, 'tls.key'), '--verdict-file', verdictFile], serveLog);
    await eventually('levee serve (through the proxy) to be ready', async () => {
      if (serve.exitCode !== null) throw new Error(`levee serve exited:\n${tail(serveLog)}`);
      const ready = await readyz().catch((err: Error) => ({ status: 0, text: err.message }));
      return (ready.status === 200 && ready.text === 'ok') || `${ready.status} ${ready.text}`;
    }, 60_000);
    await eventually('levee to see Service ledger', async () => !(await review('ledger')).allowed || 'scale to 0 allowed');
    // Healthy, or Degraded by what other tests left in the cluster: its own calls get answers.
    await eventually('the probe (through the proxy) to get answers', async () => probeGetsAnswers(), 120_000);
  });

  after(async function () {
    this.timeout(60_000);
    if (serve) await stopProcess(serve);
    if (probe) await stopProcess(probe);
    await proxy?.close();
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  it('notices watches gone silent while new connections still pass (a NAT that dropped them), relists at once, and sees what changed', async () => {
    const silentBefore = (await metric('levee_watch_restarts_total')).filter((line) => line.includes('reason="silent"')).length;
    const began = Date.now();
    proxy.blackHole('existing');
    // A change levee's silenced watches cannot deliver: the Service goes.
    assert.equal((await kubectl(['delete', 'service', 'ledger', '-n', namespace])).code, 0);
    await eventually('levee to relist and see the Service gone', async () => (await review('ledger')).allowed || 'still refused: its cache still has the Service', 120_000);
    const recovered = Date.now() - began;
    // On a busy machine a watch may fail outright (a relist with no answer in time) before the
    // watchdog calls it silent, and the Service is seen gone through that relist first: the
    // watchdog must still call the silenced watches silent, within its bound.
    await eventually('levee serve to call its watches silent', async () => /watch fell silent \(no event, no bookmark, no end\); serving from cache and relisting/.test(readFileSync(serveLog, 'utf8')) || 'not yet', 90_000);
    await eventually('levee serve to relist', async () => /watch re-established; cache relisted and current/.test(readFileSync(serveLog, 'utf8')) || 'not yet', 90_000);
    const silentAfter = (await metric('levee_watch_restarts_total')).filter((line) => line.includes('reason="silent"'));
    assert.ok(silentAfter.length > silentBefore, `levee_watch_restarts_total{reason="silent"}: ${silentAfter.join('; ')}`);
    const ready = await readyz();
    assert.deepEqual([ready.status, ready.text], [200, 'ok']);
    assert.equal(probeGetsAnswers(), true, 'the probe\'s requests use new connections, which pass');
    // The probe's own watches (its watch cache, which its triggers read) go through the same loop and watchdog.
    await eventually('the probe\'s watches to notice too', async () => /"reason":"silent".*probe watch broken; relisting/.test(readFileSync(probeLog, 'utf8')) || 'not yet', 90_000);
    console.log(`      (noticed and relisted ${seconds(recovered)} after the path went silent; bound 45 s)`);
    proxy.heal();
  });

  it('on a path that carries nothing at all: stale as for a broken watch, then current again once it heals, without a restart', async () => {
    assert.equal((await kubectl(['apply', '-f', '-'], { input: service('ledger') })).code, 0);
    await eventually('levee to see Service ledger again', async () => !(await review('ledger')).allowed || 'scale to 0 allowed');
    const began = Date.now();
    proxy.blackHole('all');
    // Changes made while levee cannot hear: the Service goes again, a new Deployment comes.
    assert.equal((await kubectl(['delete', 'service', 'ledger', '-n', namespace])).code, 0);
    assert.equal((await kubectl(['apply', '-f', '-'], { input: deployment('audit') })).code, 0);
    assert.equal((await kubectl(['apply', '-f', '-'], { input: service('audit') })).code, 0);

    // Noticed by serve (/readyz) and by the probe (its verdict), each timed on its own.
    const [staleAt, unhealthyAt] = await Promise.all([
      firstTime('/readyz to report stale caches', async () => {
        const ready = await readyz();
        return (ready.status === 200 && /^ok; stale: .*services.*\(\d+ s\)$/.test(ready.text)) || `${ready.status} ${ready.text}`;
      }, 150_000),
      firstTime('the probe to read Unhealthy: its requests time out', () => {
        const current = verdict();
        const writePath = current?.probes.find((result) => result.probe === 'api-write-path');
        return (current?.verdict === 'Unhealthy' && /deadline exceeded|no answer within/.test(writePath?.message ?? '')) || JSON.stringify({ verdict: current?.verdict, message: writePath?.message });
      }, 150_000),
    ]);
    const ages = await metric('levee_cache_last_sync_age_seconds{cache="services"}');
    assert.ok(Number(ages[0]?.split(' ').at(-1)) >= 60, `the age gauge has passed staleAfterSeconds: ${ages.join('; ')}`);
    const during = await review('ledger');
    assert.ok(during.warnings.some((warning) => /^levee: cluster state may be out of date: caches .*services.* not synced with the API server$/.test(warning)), during.warnings.join(' | '));
    assert.equal(during.allowed, false, 'answers from the last known state (the Service it last saw)');
    await eventually('the log to say the caches are stale', async () => /cluster caches stale: .*services/.test(readFileSync(serveLog, 'utf8')) || 'not yet');

    const healed = Date.now();
    proxy.heal();
    const [currentAt, answersAt] = await Promise.all([
      firstTime('/readyz to be plain ok again', async () => {
        const ready = await readyz();
        return (ready.status === 200 && ready.text === 'ok') || `${ready.status} ${ready.text}`;
      }, 120_000),
      firstTime('the probe to get answers again', () => probeGetsAnswers(), 120_000),
    ]);
    const after = await review('ledger');
    assert.equal(after.allowed, true, `the Service deleted during the outage is gone from levee's view: ${after.message}`);
    assert.deepEqual(after.warnings.filter((warning) => warning.includes('out of date')), []);
    const audit = await review('audit');
    assert.equal(audit.allowed, false, 'the Deployment and Service created during the outage are seen');
    assert.match(audit.message, /Service audit/);
    assert.equal(serve.exitCode, null, 'levee serve ran throughout');
    assert.equal(probe.exitCode, null, 'levee probe ran throughout');
    // The staleness log is checked once a second, apart from /readyz: it may follow it by a tick.
    await eventually('the log to say the caches are current again', async () => /cluster caches current again/.test(readFileSync(serveLog, 'utf8')) || 'not yet');
    console.log(`      (stale on /readyz ${seconds(staleAt - began)} after the path went dead, probe Unhealthy after ${seconds(unhealthyAt - began)}; current ${seconds(currentAt - healed)} after it healed, probe passing again after ${seconds(answersAt - healed)})`);
  });
});
