// `npm run fuzz`: hostile reviews against a running levee. levee runs as the bench and the soak
// run it (bench/targets/levee.mjs: serve() from the build, its caches filled as informers fill
// them), in its own process; the generator (bench/fuzz/generator.mjs) in another. The run
// passes with no crash, no 5xx, no answer missing, no malformed review allowed, /readyz 200 at
// the end, and memory after a full collection flat from the first tenth of the run to the end.
import { fork } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNodeTarget } from '../processes.mjs';
import { imageNodeFlags } from '../run.mjs';

const dist = new URL('../../dist/src/', import.meta.url);
// Memory may move this much between the first tenth and the end without being called growth.
const FLAT = 1.2;

function readyz(port, ca) {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz', ca, servername: 'localhost', agent: false }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', (err) => resolve({ status: 0, text: err.message }));
    req.end();
  });
}

/**
 * @param {{count: number, seed: number, connections?: number, services?: number, nodes?: number, say?: (line: string) => void}} options
 */
export async function runFuzz({ count, seed, connections = 8, services = 1000, nodes = 100, say = () => undefined }) {
  const { generateCerts, writeCerts } = await import(new URL('certs/generate.js', dist).href);
  const work = mkdtempSync(join(tmpdir(), 'levee-fuzz-'));
  const certs = await generateCerts({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validDays: 1 });
  writeCerts(join(work, 'certs'), certs);
  const levee = await startNodeTarget(new URL('../targets/levee.mjs', import.meta.url).pathname, ['--cert-dir', join(work, 'certs'), '--services', String(services), '--nodes', String(nodes)], {
    execArgv: [...imageNodeFlags(), '--expose-gc'],
  });
  let crashed;
  levee.child.once('exit', (code, signal) => (crashed = `levee exited (${code ?? signal}) during the run`));
  const memory = [];
  const sampleMemory = async (sent) => {
    if (crashed) return;
    const sample = await levee.memory().catch(() => undefined);
    if (sample) memory.push({ sent, rssMiB: sample.rssMiB, heapUsedMiB: sample.heapUsedMiB });
  };
  try {
    const before = await readyz(levee.port, certs.caCert);
    if (before.status !== 200) throw new Error(`levee was not ready before the run: ${before.status} ${before.text}`);
    await sampleMemory(0);
    say(`levee (pid ${levee.pid}, ${services} Services/Pods, ${nodes} Nodes cached) on port ${levee.port}; ${count} reviews, seed ${seed}, ${connections} connections`);
    const generator = fork(new URL('./generator.mjs', import.meta.url).pathname, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const tenth = Math.max(1, Math.floor(count / 10));
    let nextSample = tenth;
    const report = await new Promise((resolve, reject) => {
      generator.on('message', (message) => {
        if (message.type === 'progress') {
          say(`  ${message.sent} sent in ${message.seconds.toFixed(0)} s`);
          if (message.sent >= nextSample && message.sent < count) {
            nextSample += tenth;
            void sampleMemory(message.sent);
          }
        } else if (message.type === 'report') resolve(message.report);
        else if (message.type === 'error') reject(new Error(`the generator failed: ${message.message}`));
      });
      generator.once('exit', (code) => reject(new Error(`the generator exited (${code}) without a report`)));
      generator.send({ type: 'start', port: levee.port, ca: certs.caCert, count, seed, connections });
    });
    await sampleMemory(report.sent);
    const ready = crashed ? { status: 0, text: crashed } : await readyz(levee.port, certs.caCert);
    // Flat: the end against the first sample after a tenth of the run (the warm-up is behind it).
    const warm = memory.find((sample) => sample.sent > 0) ?? memory[0];
    const last = memory.at(-1);
    const growth = warm && last ? { rss: last.rssMiB / warm.rssMiB, heap: last.heapUsedMiB / warm.heapUsedMiB } : undefined;
    const failuresFile = join(work, 'failures.json');
    if (report.failures.length > 0) writeFileSync(failuresFile, `${JSON.stringify(report.failures, null, 2)}\n`);
    const checks = [
      { name: 'levee never crashed', ok: !crashed, detail: crashed ?? `pid ${levee.pid} ran throughout` },
      { name: 'every review answered', ok: report.unanswered === 0, detail: `${report.unanswered} without an answer` },
      { name: 'no 5xx', ok: report.fiveHundreds === 0, detail: `${report.fiveHundreds} answered 5xx` },
      { name: 'no malformed review allowed', ok: report.malformedAllowed === 0, detail: `${report.malformedAllowed} allowed without a judgeable request` },
      { name: 'every answer well formed', ok: report.wrongUid === 0 && report.other === 0, detail: `${report.wrongUid} with another uid, ${report.other} otherwise malformed` },
      { name: '/readyz 200 at the end', ok: ready.status === 200, detail: `${ready.status} ${ready.text}` },
      {
        name: 'memory flat',
        ok: Boolean(growth) && growth.rss <= FLAT && growth.heap <= FLAT,
        detail: growth ? `RSS ${warm.rssMiB.toFixed(1)} -> ${last.rssMiB.toFixed(1)} MiB (${growth.rss.toFixed(2)}x), heap ${warm.heapUsedMiB.toFixed(1)} -> ${last.heapUsedMiB.toFixed(1)} MiB (${growth.heap.toFixed(2)}x), after a full collection` : 'not measured',
      },
    ];
    return { ok: checks.every((check) => check.ok), checks, report, memory, seed, failuresFile: report.failures.length > 0 ? failuresFile : undefined };
  } finally {
    await levee.stop();
  }
}

export function formatFuzzReport(result) {
  const { report } = result;
  const lines = [
    `${report.sent} reviews in ${report.seconds.toFixed(0)} s (${Math.round(report.sent / report.seconds)}/s), seed ${result.seed}`,
    `  by kind of input: ${Object.entries(report.byStrategy).map(([name, n]) => `${name} ${n}`).join(', ')}`,
    `  answers: ${Object.entries(report.statuses).map(([status, n]) => `HTTP ${status} ${n}`).join(', ')}; allowed ${report.allowed}, refused ${report.refused}; ${report.judgeable} carried a judgeable request`,
    `  memory after a full collection: ${result.memory.map((sample) => `${sample.sent}: ${sample.rssMiB.toFixed(0)}/${sample.heapUsedMiB.toFixed(0)} MiB`).join(', ')} (RSS/heap)`,
    ...result.checks.map((check) => `  ${check.ok ? 'PASS' : 'FAIL'}  ${check.name}: ${check.detail}`),
  ];
  if (result.failuresFile) lines.push(`  the first failing bodies (base64) are in ${result.failuresFile}`);
  return lines.join('\n');
}
