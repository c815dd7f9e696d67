// `npm run bench -- --audit`: `levee audit -f` on 5, 25 and 50 MB of manifests (bench/audit-input.mjs),
// each run in its own process: wall time, CPU time and peak memory (RSS) as the OS counts it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditInput } from './audit-input.mjs';
import { formatTable } from './report.mjs';

const SIZES_MB = [5, 25, 50];
const child = new URL('audit-child.mjs', import.meta.url).pathname;
/** The Node.js flag bin/levee.js starts `levee audit` with, so the bench measures what users run. */
const auditFlags = [/const AUDIT_FLAG = '([^']+)'/.exec(readFileSync(new URL('../bin/levee.js', import.meta.url), 'utf8'))?.[1]].filter(Boolean);
const say = (message) => process.stderr.write(`bench: ${message}\n`);

function runAudit(file) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const proc = spawn(process.execPath, [...auditFlags, child, 'audit', '-f', file, '-o', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (chunk) => (stderr += chunk));
    proc.on('error', reject);
    proc.on('exit', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      const usage = /levee-bench-usage (\{.*\})/.exec(stderr)?.[1];
      if (!usage) return reject(new Error(`audit exited ${code} without a usage line: ${stderr.slice(-500)}`));
      resolve({ code, wallMs, ...JSON.parse(usage) });
    });
  });
}

export async function runAuditBench() {
  const work = mkdtempSync(join(tmpdir(), 'levee-audit-bench-'));
  const rows = [];
  try {
    for (const megabytes of SIZES_MB) {
      const file = join(work, `manifests-${megabytes}mb.yaml`);
      writeFileSync(file, auditInput(megabytes * 1_000_000));
      const bytes = statSync(file).size;
      say(`levee audit -f ${megabytes} MB (${bytes} bytes)...`);
      const result = await runAudit(file);
      if (result.code !== 0) throw new Error(`levee audit exited ${result.code} on the synthetic input`);
      rows.push([
        `${megabytes} MB`,
        `${(result.wallMs / 1000).toFixed(1)} s`,
        `${((result.userMicros + result.systemMicros) / 1e6).toFixed(1)} s`,
        `${Math.round(result.maxRssKiB / 1024)} MiB`,
        `${((result.maxRssKiB * 1024) / bytes).toFixed(1)}x`,
      ]);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write(`\nlevee audit -f on synthetic manifests (Deployment + Service + ConfigMap per application), ${cpus().length} cores, load ${loadavg()[0].toFixed(1)}\n`);
  process.stdout.write(`${formatTable(['input', 'wall', 'CPU (user+sys)', 'peak RSS', 'RSS / input'], rows)}\n`);
}
