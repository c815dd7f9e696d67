import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VerdictDocument } from '../../src/probe-verdict.js';
import { componentPid, e2e, eventually, restartStoppedComponents, sleep } from '../support/e2e.js';
import { probePortOf, readVerdictFile } from '../support/levee-processes.js';

/**
 * How long a `levee probe` with the shipped settings (30 s interval, hysteresis 2 and 2,
 * recheck 2 s, failing probes every 5 s, 60 s lifecycle deadline) takes to call the cluster
 * Unhealthy when kube-scheduler or kube-controller-manager dies, and Healthy again once it
 * is back. The test checks that the verdict turns and returns, and names the failing probe;
 * the times it prints are measurements for the README, not assertions. It also prints the
 * API requests the probe sent over 30 s while Healthy and while Unhealthy, from its own
 * `levee_probe_api_requests_total`, and holds the probes' share to a bound (a count, not a time).
 */

const stamp = Date.now().toString(36);
const dir = join(process.cwd(), '.levee', 'e2e', `timing-${stamp}`);
const verdictFile = join(dir, 'verdict.json');

const current = (): VerdictDocument | undefined => readVerdictFile(verdictFile);

/** levee_probe_api_requests_total from the probe's /metrics, summed by probe. */
async function requestCounts(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const match of text.matchAll(/^levee_probe_api_requests_total\{([^}]*)\} (\d+)/gm)) {
    const probe = /probe="([^"]+)"/.exec(match[1]!)?.[1] ?? '?';
    counts.set(probe, (counts.get(probe) ?? 0) + Number(match[2]));
  }
  return counts;
}

/** Who sends requests in the probe process besides the probes themselves. */
const BACKGROUND = new Set(['cache', 'leader-election', 'publish', 'leader-verdict']);

interface RequestsOver {
  /** Requests by sender, those that sent any. */
  by: Map<string, number>;
  total: number;
  /** Sent by the probes themselves (not the watch cache, not leader election). */
  probes: number;
  text: string;
}

/** Requests sent during the next `seconds`, by probe, and in all. */
async function requestsOver(port: number, seconds: number): Promise<RequestsOver> {
  const before = await requestCounts(port);
  await sleep(seconds * 1000);
  const after = await requestCounts(port);
  const by = new Map([...after].map(([probe, count]) => [probe, count - (before.get(probe) ?? 0)] as const).filter(([, count]) => count > 0));
  const total = [...by.values()].reduce((sum, count) => sum + count, 0);
  const probes = [...by].filter(([probe]) => !BACKGROUND.has(probe)).reduce((sum, [, count]) => sum + count, 0);
  return { by, total, probes, text: `${total} requests in ${seconds} s, ${probes} of them by the probes (${[...by].map(([probe, count]) => `${probe} ${count}`).join(', ')})` };
}

async function waitFor(verdict: string, timeoutMs: number): Promise<VerdictDocument> {
  await eventually(`the verdict to read ${verdict}`, async () => {
    const now = current();
    return now?.verdict === verdict || `verdict ${now?.verdict ?? 'none'} (failing ${now?.failing.join(', ') || '-'})`;
  }, timeoutMs);
  return current()!;
}

describe('e2e: time to Unhealthy and back with the shipped probe settings', function () {
  this.timeout(600_000);
  let probe: ChildProcess;
  let port: number;

  before(async function () {
    this.timeout(1_800_000);
    const env = await e2e();
    mkdirSync(dir, { recursive: true });
    const config = join(dir, 'config.json');
    // Shipped defaults, except: its own Lease and verdict file, nothing published (the harness's probe publishes).
    writeFileSync(config, JSON.stringify({ probe: { httpPort: 0, publish: false, verdictFile, lease: { name: `levee-probe-timing-${stamp}` } } }));
    probe = spawn(process.execPath, ['bin/levee.js', 'probe', '--config', config, '--kubeconfig', env.cluster.kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(join(dir, 'probe.log'));
    probe.stdout!.pipe(log);
    probe.stderr!.pipe(log);
    await waitFor('Healthy', 180_000);
    port = probePortOf(join(dir, 'probe.log'));
    const healthy = await requestsOver(port, 30);
    console.log(`      (Healthy: ${healthy.text})`);
    // Each probe runs once in 30 s while it passes: ten requests a run, two more when the lifecycle sweeps leftovers (every 10 min).
    assert.ok(healthy.probes <= 12, `the probes sent ${healthy.probes} requests in 30 s while Healthy: ${healthy.text}`);
    assert.ok(!healthy.by.has('shared'), 'nothing lists the cluster each run any more');
  });

  after(async () => {
    probe?.kill('SIGTERM');
    await restartStoppedComponents();
  });

  for (const [component, probeId] of [['kube-scheduler', 'scheduler'], ['kube-controller-manager', 'controller-manager']] as const) {
    it(`turns Unhealthy when ${component} dies and Healthy again once it is back`, async () => {
      const killed = Date.now();
      process.kill(await componentPid(component), 'SIGKILL');
      const unhealthy = await waitFor('Unhealthy', 240_000);
      const toUnhealthy = (Date.now() - killed) / 1000;
      assert.ok(unhealthy.failing.includes(probeId), `failing: ${unhealthy.failing.join(', ')}`);
      if (probeId === 'scheduler') {
        const failing = await requestsOver(port, 30);
        console.log(`      (Unhealthy, ${component} dead: ${failing.text})`);
        // The lifecycle waits on the watch cache, not on lists every 0.5 s (75 requests in 30 s before):
        // at most the end of one run (final check, deletes) and the start of the next (creates, a sweep).
        assert.ok((failing.by.get('workload-lifecycle') ?? 0) <= 10, failing.text);
        assert.ok(failing.probes <= 30, `the probes sent ${failing.probes} requests in 30 s while Unhealthy: ${failing.text}`);
      }
      const restarted = Date.now();
      await restartStoppedComponents();
      await waitFor('Healthy', 240_000);
      const toHealthy = (Date.now() - restarted) / 1000;
      console.log(`      (${component}: Unhealthy ${toUnhealthy.toFixed(1)} s after it was killed; Healthy ${toHealthy.toFixed(1)} s after it was restarted)`);
    });
  }
});
