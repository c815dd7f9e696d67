// `npm run soak`: minutes of mixed load against a levee process, with the serving certificate
// rotated on disk and the probe verdict flipped to Unhealthy part way through. Every answer
// is checked against what levee said for the same request at the start (or, after the flip,
// what the gate must say); any transport error, unexpected status or changed answer is an
// error. Memory is sampled throughout. Exit code 1 on any error, dropped request, a rotation
// or flip that did not take, or memory that keeps growing.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deploymentUpdate, nodeCordon, scaleToZero, verdictDocument } from './fixtures.mjs';
import { rssMiB, startNodeTarget } from './processes.mjs';
import { imageNodeFlags } from './run.mjs';

const dist = new URL('../dist/src/', import.meta.url);
const say = (message) => process.stderr.write(`soak: ${message}\n`);
const KEEP_ALIVE_CONNECTIONS = 4;
const NEW_CONNECTION_EVERY_MS = 50;

/** The requests of the mix: a body, the route, and whether probe-gate treats it as a rollout. */
function mix() {
  const scaleTo = (replicas) => {
    const review = scaleToZero();
    review.request.uid = `soak-scale-${replicas}`;
    review.request.object.spec = replicas === 0 ? {} : { replicas };
    return review;
  };
  const create = deploymentUpdate();
  create.request.uid = 'soak-create';
  create.request.operation = 'CREATE';
  create.request.name = 'soak-new';
  create.request.object.metadata.name = 'soak-new';
  create.request.oldObject = null;
  const incomplete = scaleToZero();
  incomplete.request.uid = 'soak-incomplete';
  delete incomplete.request.operation;
  const json = (value) => Buffer.from(JSON.stringify(value));
  return [
    { name: 'Deployment image update', path: '/validate', body: json(deploymentUpdate()), rollout: true },
    { name: 'Deployment image update (mutate)', path: '/mutate', body: json(deploymentUpdate()) },
    { name: 'Deployment create', path: '/validate', body: json(create), rollout: true },
    { name: 'scale to 0', path: '/validate', body: json(scaleTo(0)) },
    { name: 'scale to 2', path: '/validate', body: json(scaleTo(2)) },
    { name: 'Node cordon', path: '/validate', body: json(nodeCordon()) },
    { name: 'review without operation', path: '/validate', body: json(incomplete) },
    { name: 'body that is not JSON', path: '/validate', body: Buffer.from('{"apiVersion": "admission.k8s.io/v1", "kind": ') },
  ];
}

function send(port, cas, agent, { path, body }) {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path, agent, ca: cas, servername: 'localhost', headers: { 'content-type': 'application/json', 'content-length': body.length } },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          let allowed;
          try {
            allowed = JSON.parse(Buffer.concat(chunks).toString('utf8'))?.response?.allowed;
          } catch {
            allowed = undefined;
          }
          resolve({ status: res.statusCode, allowed, fingerprint: fingerprintOf(res.socket) });
        });
        res.on('error', (err) => resolve({ error: err.message }));
      },
    );
    req.on('error', (err) => resolve({ error: err.message }));
    req.end(body);
  });
}

function fingerprintOf(socket) {
  return socket?.getPeerCertificate?.()?.fingerprint256;
}

function pemFingerprint(pem) {
  const der = Buffer.from(pem.split('-----')[2].replace(/\s+/g, ''), 'base64');
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g).join(':');
}

function writeAtomically(path, content) {
  writeFileSync(`${path}.new`, content, { mode: 0o600 });
  renameSync(`${path}.new`, path);
}

/** Whether this build's `serve` follows the probe verdict file and has the gate that reads it. */
async function gateAvailable() {
  if (!existsSync(new URL('probe/verdict-file.js', dist)) || !existsSync(new URL('policies/probe-gate.js', dist))) return false;
  const { POLICIES } = await import(new URL('policies/registry.js', dist).href);
  const serveSource = readFileSync(new URL('server/serve.js', dist), 'utf8');
  return POLICIES.some((policy) => policy.id === 'probe-gate') && /verdictFile/.test(serveSource);
}

export async function runSoak({ seconds }) {
  const { generateCerts, writeCerts } = await import(new URL('certs/generate.js', dist).href);
  const work = mkdtempSync(join(tmpdir(), 'levee-soak-'));
  const certDir = join(work, 'certs');
  const first = await generateCerts({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validDays: 1 });
  writeCerts(certDir, first);
  const cas = [first.caCert];
  const verdictFile = join(work, 'verdict.json');
  const withGate = await gateAvailable();
  let verdict = 'Healthy';
  let verdictRun = 0;
  const writeVerdict = () => writeAtomically(verdictFile, `${JSON.stringify(verdictDocument(verdict, ++verdictRun), null, 2)}\n`);
  if (withGate) writeVerdict();
  else say('note: this build has no probe-gate that reads the verdict file; the verdict flip is skipped');
  const configFile = join(work, 'config.json');
  writeFileSync(configFile, JSON.stringify({ probe: { verdictFile } }));

  let levee;
  const timers = [];
  try {
    levee = await startNodeTarget(new URL('targets/levee.mjs', import.meta.url).pathname, ['--cert-dir', certDir, '--services', '10000', '--nodes', '5000', '--config', configFile], { execArgv: [...imageNodeFlags(), '--expose-gc'] });
    const requests = mix();
    const probeAgent = new Agent({ keepAlive: false });
    // What levee answers each request at the start: the answer every later one must repeat.
    const expected = [];
    for (const item of requests) {
      const answer = await send(levee.port, cas, probeAgent, item);
      if (answer.error || answer.status >= 500) throw new Error(`${item.name}: ${answer.error ?? `HTTP ${answer.status}`} before the soak began`);
      expected.push({ status: answer.status, allowed: answer.allowed });
    }
    say(`levee (pid ${levee.pid}) on port ${levee.port}; ${seconds} s of load: ${KEEP_ALIVE_CONNECTIONS} keep-alive connections back to back, and a new connection every ${NEW_CONNECTION_EVERY_MS} ms`);
    requests.forEach((item, i) => say(`  ${item.name}: HTTP ${expected[i].status}${expected[i].allowed === undefined ? '' : `, allowed: ${expected[i].allowed}`}`));
    if (withGate && !requests.some((item, i) => item.rollout && expected[i].allowed === true)) throw new Error('rollouts are not allowed while Healthy; the flip would prove nothing');

    const stats = { sent: 0, answered: 0, errors: 0, dropped: 0, byName: new Map(), firstErrors: [] };
    const events = { rotatedAt: undefined, newCertSeenAt: undefined, flippedAt: undefined, gateClosedAt: undefined };
    const started = Date.now();
    const deadline = started + seconds * 1000;
    const rotateAt = started + seconds * 400;
    const flipAt = started + seconds * 600;
    const SETTLE_MS = 5000;
    let secondFingerprint;

    const check = (index, answer) => {
      const item = requests[index];
      stats.answered += answer.error ? 0 : 1;
      stats.byName.set(item.name, (stats.byName.get(item.name) ?? 0) + 1);
      let problem;
      if (answer.error) {
        stats.dropped++;
        problem = answer.error;
      } else if (answer.status !== expected[index].status) {
        problem = `HTTP ${answer.status}, expected ${expected[index].status}`;
      } else if (answer.allowed !== expected[index].allowed) {
        const flipped = events.flippedAt !== undefined && item.rollout;
        const settling = flipped && Date.now() - events.flippedAt < SETTLE_MS;
        if (flipped && answer.allowed === false) events.gateClosedAt ??= Date.now();
        else if (!settling) problem = `allowed: ${answer.allowed}, expected ${expected[index].allowed}`;
      } else if (events.flippedAt !== undefined && item.rollout && Date.now() - events.flippedAt >= SETTLE_MS) {
        problem = 'a rollout was still allowed seconds after the verdict turned Unhealthy';
      }
      if (answer.fingerprint && answer.fingerprint === secondFingerprint) events.newCertSeenAt ??= Date.now();
      if (problem) {
        stats.errors++;
        if (stats.firstErrors.length < 10) stats.firstErrors.push(`${item.name}: ${problem}`);
      }
    };

    let cursor = 0;
    const keepAlive = new Agent({ keepAlive: true, maxSockets: KEEP_ALIVE_CONNECTIONS });
    const worker = async (agent, pauseMs) => {
      while (Date.now() < deadline) {
        const index = cursor++ % requests.length;
        stats.sent++;
        check(index, await send(levee.port, cas, agent, requests[index]));
        if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    };

    const rss = [];
    const sample = () => rss.push({ at: Math.round((Date.now() - started) / 1000), decisions: stats.answered, mib: rssMiB(levee.pid) });
    const every = (ms, run) => timers.push(setInterval(run, ms));
    every(Math.max(1000, (seconds * 1000) / 20), sample);
    // The leak check: memory after a full collection, from a quarter in (warmed up) every tenth
    // of the run. Single samples move with what the allocator keeps; halves are compared by median.
    const collected = [];
    const collect = async () => collected.push({ at: Math.round((Date.now() - started) / 1000), decisions: stats.answered, ...(await levee.memory()) });
    timers.push(setTimeout(() => {
      void collect();
      timers.push(setInterval(() => void collect(), seconds * 100));
    }, seconds * 250));
    // levee probe rewrites the verdict every interval; a verdict left alone goes stale (Unknown).
    if (withGate) every(10_000, writeVerdict);
    timers.push(setTimeout(async () => {
      const second = await generateCerts({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validDays: 1 });
      cas.push(second.caCert);
      secondFingerprint = pemFingerprint(second.serverCert);
      writeAtomically(join(certDir, 'tls.key'), second.serverKey);
      writeAtomically(join(certDir, 'tls.crt'), second.serverCert);
      events.rotatedAt = Date.now();
      say(`${Math.round((events.rotatedAt - started) / 1000)} s: serving certificate rotated on disk (new key, new CA; clients trust both)`);
    }, rotateAt - started));
    if (withGate) {
      timers.push(setTimeout(() => {
        verdict = 'Unhealthy';
        writeVerdict();
        events.flippedAt = Date.now();
        say(`${Math.round((events.flippedAt - started) / 1000)} s: probe verdict flipped to Unhealthy`);
      }, flipAt - started));
    }
    const progress = setInterval(() => say(`${Math.round((Date.now() - started) / 1000)} s: ${stats.answered} answered, ${stats.errors} errors, RSS ${rssMiB(levee.pid).toFixed(0)} MiB`), 30_000);
    timers.push(progress);

    sample();
    await Promise.all([
      ...Array.from({ length: KEEP_ALIVE_CONNECTIONS }, () => worker(keepAlive, 0)),
      worker(probeAgent, NEW_CONNECTION_EVERY_MS),
    ]);
    sample();
    keepAlive.destroy();
    const elapsed = (Date.now() - started) / 1000;
    for (const timer of timers) clearTimeout(timer);
    await collect();
    const half = Math.ceil(collected.length / 2);
    const early = collected.slice(0, half);
    const late = collected.slice(collected.length > 1 ? half : 0);
    const rssGrowth = median(late.map((m) => m.rssMiB)) / median(early.map((m) => m.rssMiB));
    const heapGrowth = median(late.map((m) => m.heapUsedMiB)) / median(early.map((m) => m.heapUsedMiB));
    const memoryFlat = rssGrowth <= 1.1 && heapGrowth <= 1.1;
    const lines = [
      `soak: ${elapsed.toFixed(0)} s, ${stats.sent} requests sent, ${stats.answered} answered (${(stats.answered / elapsed).toFixed(0)}/s), ${stats.errors} errors, ${stats.dropped} dropped`,
      `  mix: ${[...stats.byName].map(([name, count]) => `${name} ${count}`).join(', ')}`,
      `  certificate: rotated at ${rel(events.rotatedAt, started)}, new certificate served to new connections from ${rel(events.newCertSeenAt, started)}`,
      withGate
        ? `  verdict: flipped to Unhealthy at ${rel(events.flippedAt, started)}, rollouts refused from ${rel(events.gateClosedAt, started)}`
        : '  verdict: flip skipped (no probe-gate reading the verdict file in this build)',
      `  RSS samples, MiB (time: RSS @ decisions answered): ${rss.map((s) => `${s.at}s: ${s.mib.toFixed(0)} @ ${s.decisions}`).join(', ')}`,
      `  after a full GC: ${collected.map(describeMemory).join('; ')}`,
      `  memory ${memoryFlat ? 'flat' : 'GROWING'}: median after GC, second half vs first half of those samples: RSS ${rssGrowth.toFixed(2)}x, heap ${heapGrowth.toFixed(2)}x (limit 1.10x)`,
      ...stats.firstErrors.map((error) => `  error: ${error}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    const failures = [];
    if (stats.errors > 0) failures.push(`${stats.errors} errors`);
    if (stats.dropped > 0) failures.push(`${stats.dropped} dropped requests`);
    if (stats.sent !== stats.answered + stats.dropped) failures.push(`${stats.sent - stats.answered - stats.dropped} requests unaccounted for`);
    if (!events.newCertSeenAt) failures.push('the rotated certificate was never served');
    if (withGate && !events.gateClosedAt) failures.push('rollouts were never refused after the flip');
    if (!memoryFlat) failures.push('memory kept growing');
    if (failures.length > 0) process.stdout.write(`soak FAILED: ${failures.join('; ')}\n`);
    else process.stdout.write('soak passed\n');
    return failures.length === 0;
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await levee?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

function describeMemory(memory) {
  return `${memory.at} s: RSS ${memory.rssMiB.toFixed(0)} MiB, heap ${memory.heapUsedMiB.toFixed(1)} MiB`;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function rel(at, started) {
  return at === undefined ? 'never' : `${((at - started) / 1000).toFixed(1)} s`;
}

