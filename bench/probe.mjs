// `npm run bench -- --probe`: what `levee probe` asks of the API server, counted by its own
// levee_probe_api_requests_total, as the cluster grows. A real `levee probe` process (shipped
// settings) runs against a fake API server on 127.0.0.1 that serves a synthetic cluster
// (bench/synthetic-cluster.mjs) and plays the control plane (bench/probe-apiserver.mjs); the
// fake counts what it receives, so the probe's count is checked against what was sent.
//
// For each size: (1) a probe whose schedule never fires by itself (intervals of an hour), so
// each POST /run is exactly one run of every probe: a steady healthy run, then, with
// kube-scheduler dead (its Lease no longer renewed, new pods never scheduled), a failing run;
// (2) a probe on the shipped schedule: requests in 30 s while Healthy and 30 s while Unhealthy
// (kube-scheduler dead), by who sent them.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProbeApiServer } from './probe-apiserver.mjs';
import { formatTable } from './report.mjs';
import { syntheticObjects } from './synthetic-cluster.mjs';

const LEVEE = new URL('../bin/levee.js', import.meta.url).pathname;
const say = (message) => process.stderr.write(`bench: ${message}\n`);
/** Who sends requests in the probe process besides the probes: not part of a probe run. */
const BACKGROUND = new Set(['cache', 'leader-election', 'publish', 'leader-verdict']);

/** Pods as the kubelet reports them: on a node, Running and Ready, with a container status. */
function dressed(objects) {
  const nodes = objects.nodes.map((node) => node.metadata.name);
  return objects.pods.map((pod, i) => ({
    ...pod,
    spec: { nodeName: nodes[i % nodes.length], containers: [{ name: 'app', image: 'registry.example/app:1.0', resources: { requests: { cpu: '100m', memory: '128Mi' } } }] },
    status: {
      phase: 'Running',
      podIP: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      startTime: '2026-11-01T06:00:00Z',
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True', lastTransitionTime: '2026-11-01T06:00:05Z' })),
      containerStatuses: [{ name: 'app', ready: true, restartCount: 0, image: 'registry.example/app:1.0', imageID: 'registry.example/app@sha256:0f3c', state: { running: { startedAt: '2026-11-01T06:00:04Z' } } }],
    },
  }));
}

/** levee_probe_api_requests_total and levee_probe_runs_total from /metrics, by probe label; and the RSS. */
async function scrape(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const requests = new Map();
  const runs = new Map();
  let cacheLists = 0;
  for (const match of text.matchAll(/^levee_probe_api_requests_total\{([^}]*)\} (\d+)/gm)) {
    const probe = /probe="([^"]*)"/.exec(match[1])[1];
    requests.set(probe, (requests.get(probe) ?? 0) + Number(match[2]));
    if (probe === 'cache' && /verb="list"/.test(match[1])) cacheLists += Number(match[2]);
  }
  for (const match of text.matchAll(/^levee_probe_runs_total\{([^}]*)\} (\d+)/gm)) {
    const probe = /probe="([^"]*)"/.exec(match[1])[1];
    runs.set(probe, (runs.get(probe) ?? 0) + Number(match[2]));
  }
  const rss = Number(/^levee_probe_process_process_resident_memory_bytes (\S+)/m.exec(text)?.[1] ?? NaN);
  return { requests, runs, rss, cacheLists };
}

function delta(before, after) {
  const out = new Map();
  for (const [key, value] of after) if (value - (before.get(key) ?? 0) > 0) out.set(key, value - (before.get(key) ?? 0));
  return out;
}

const sum = (map, keep = () => true) => [...map].filter(([key]) => keep(key)).reduce((total, [, count]) => total + count, 0);
const describe = (map) => [...map].sort((a, b) => b[1] - a[1]).map(([key, count]) => `${key} ${count}`).join(', ');

async function verdict(port) {
  const response = await fetch(`http://127.0.0.1:${port}/verdict`).catch(() => undefined);
  return response?.status === 200 ? response.json() : undefined;
}

async function waitFor(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(250);
  }
}

/** Starts `levee probe` against the fake; resolves with its port once its first verdict reads `expected`. */
async function startProbe(work, server, name, probeSettings) {
  const kubeconfig = join(work, 'kubeconfig.json');
  writeFileSync(kubeconfig, JSON.stringify(server.kubeconfig()));
  const config = join(work, `${name}.json`);
  // Reports off: the leader's live audit lists the whole cluster on its own schedule, which is not the probe loop measured here.
  writeFileSync(config, JSON.stringify({ logLevel: 'info', reports: { enabled: false }, probe: { httpPort: 0, publish: false, dns: { queryFromHost: false }, verdictFile: join(work, `${name}-verdict.json`), lease: { name: `levee-probe-${name}` }, ...probeSettings } }));
  const log = join(work, `${name}.log`);
  writeFileSync(log, '');
  const child = spawn(process.execPath, [LEVEE, 'probe', '--config', config, '--kubeconfig', kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = createWriteStream(log);
  child.stdout.pipe(out);
  child.stderr.pipe(out);
  const started = Date.now();
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await Promise.race([new Promise((resolve) => child.once('exit', resolve)), sleep(10_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  try {
    return await firstVerdict();
  } catch (err) {
    await stop();
    throw err;
  }

  async function firstVerdict() {
  const port = await waitFor(`levee probe ${name} to listen`, () => {
    if (child.exitCode !== null) throw new Error(`levee probe exited with ${child.exitCode}: ${readFileSync(log, 'utf8').slice(-2000)}`);
    const line = readFileSync(log, 'utf8').split('\n').find((entry) => entry.includes('levee probe running'));
    return line ? JSON.parse(line).port : undefined;
  }, 300_000);
  // Healthy with no probe failing even once (hysteresis keeps a first failure out of the verdict).
  const first = await waitFor(`${name}'s first clean verdict`, async () => {
    const document = await verdict(port);
    return document?.verdict === 'Healthy' && document.probes.every((entry) => entry.consecutiveFailures === 0) ? document : undefined;
  }, 600_000);
  return { port, firstVerdictSeconds: (Date.now() - started) / 1000, first, stop };
  }
}

/** Requests one POST /run causes: each probe once (the probe's schedule set to an hour, so nothing else runs). */
async function oneRun(probe, server) {
  const before = await scrape(probe.port);
  const sentBefore = server.total;
  const response = await fetch(`http://127.0.0.1:${probe.port}/run`, { method: 'POST' });
  const document = await response.json();
  const after = await scrape(probe.port);
  const requests = delta(before.requests, after.requests);
  return { document, requests, probes: sum(requests, (key) => !BACKGROUND.has(key)), all: sum(requests), sent: server.total - sentBefore };
}

async function window(probe, server, seconds) {
  const before = await scrape(probe.port);
  const sentBefore = server.total;
  await sleep(seconds * 1000);
  const after = await scrape(probe.port);
  const requests = delta(before.requests, after.requests);
  return { requests, all: sum(requests), probes: sum(requests, (key) => !BACKGROUND.has(key)), sent: server.total - sentBefore, rss: after.rss };
}

async function measureSize(pods, work) {
  const objects = syntheticObjects({ services: pods - 2, nodes: Math.max(3, Math.round(pods / 10)) });
  // The cluster DNS every cluster has (the dns probe reads it on a host); its address is not reachable from here.
  const dnsService = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'kube-dns', namespace: 'kube-system', creationTimestamp: '2026-11-01T06:00:00Z' }, spec: { selector: { 'k8s-app': 'kube-dns' }, clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] } };
  const dnsSlice = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'kube-dns-x9k2m', namespace: 'kube-system', labels: { 'kubernetes.io/service-name': 'kube-dns' } }, endpoints: [{ addresses: ['10.244.0.2'], conditions: { ready: true } }] };
  const collections = {
    '/api/v1/pods': dressed(objects),
    '/api/v1/services': [...objects.services, dnsService],
    '/apis/discovery.k8s.io/v1/endpointslices': [...objects.endpointSlices, dnsSlice],
    '/api/v1/nodes': objects.nodes,
    '/apis/apps/v1/deployments': objects.deployments,
    '/apis/apps/v1/replicasets': objects.replicaSets,
  };
  const sizes = { pods: collections['/api/v1/pods'].length, nodes: objects.nodes.length, services: objects.services.length };
  const result = { ...sizes };

  say(`${sizes.pods} pods, ${sizes.nodes} nodes, ${sizes.services} Services: one run at a time...`);
  let server = await new ProbeApiServer(collections).start();
  let probe;
  try {
    probe = await startProbe(work, server, `runs-${pods}`, { intervalSeconds: 3600, failingIntervalSeconds: 3600, recheckSeconds: 3600 });
    result.firstVerdictSeconds = probe.firstVerdictSeconds;
    await oneRun(probe, server); // the first run after start sweeps leftovers; the steady runs below do not
    result.healthyRun = await oneRun(probe, server);
    if (result.healthyRun.document.verdict !== 'Healthy') throw new Error(`healthy run read ${result.healthyRun.document.verdict}: ${result.healthyRun.document.failing}`);
    server.breakScheduler();
    // The scheduler's Lease runs out (15 s and leaseGraceSeconds 5) and its trigger runs every
    // probe; once that run's lifecycle has failed, POST /run is one more run and nothing else.
    await waitFor('the triggered run to fail the lifecycle', async () => {
      const document = await verdict(probe.port);
      const failures = (id) => document?.probes.find((entry) => entry.probe === id)?.consecutiveFailures ?? 0;
      return failures('workload-lifecycle') > 0 && failures('scheduler') > 0;
    }, 180_000);
    result.failingRun = await oneRun(probe, server);
    // Lists happen when a feed starts and when it relists after a broken watch (none here): the cache's first lists.
    result.cacheLists = (await scrape(probe.port)).cacheLists;
    // The measured run failed both again (a second failure in a row).
    const failed = result.failingRun.document.probes.filter((entry) => entry.consecutiveFailures > 1).map((entry) => entry.probe);
    if (!failed.includes('workload-lifecycle') || !failed.includes('scheduler')) throw new Error(`the failing run did not fail the lifecycle and scheduler probes: ${JSON.stringify(failed)}`);
  } finally {
    await probe?.stop();
    await server.stop();
  }

  say(`${sizes.pods} pods: 30 s while Healthy and 30 s while Unhealthy, on the shipped schedule...`);
  server = await new ProbeApiServer(collections).start();
  probe = undefined;
  try {
    probe = await startProbe(work, server, `schedule-${pods}`, {});
    await sleep(5000);
    result.healthyWindow = await window(probe, server, 30);
    server.breakScheduler();
    await waitFor('Unhealthy', async () => (await verdict(probe.port))?.verdict === 'Unhealthy', 120_000);
    result.failingWindow = await window(probe, server, 30);
  } finally {
    await probe?.stop();
    await server.stop();
  }
  return result;
}

export async function runProbeBench({ quick = false, sizes = quick ? [100, 5_000] : [100, 50_000] } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'levee-probe-bench-'));
  const results = [];
  try {
    for (const pods of sizes) results.push(await measureSize(pods, work));
  } catch (err) {
    say(`the probes' logs are kept in ${work}`);
    throw err;
  }
  rmSync(work, { recursive: true, force: true });
  const lines = [];
  lines.push('levee probe: API requests, from its levee_probe_api_requests_total. A run: each probe once, requests the probes sent.');
  lines.push('30 s: everything the process sent (the probes\' share in brackets). Cache lists: the watch cache\'s list pages (500 objects each), sent when a feed starts and when a broken watch relists.');
  lines.push(formatTable(
    ['pods / nodes', 'first verdict', 'cache lists', 'healthy run', 'failing run', 'Healthy 30 s', 'Unhealthy 30 s', 'RSS'],
    results.map((r) => [
      `${r.pods} / ${r.nodes}`,
      `${r.firstVerdictSeconds.toFixed(1)} s`,
      `${r.cacheLists}`,
      `${r.healthyRun.probes}`,
      `${r.failingRun.probes}`,
      `${r.healthyWindow.all} (${r.healthyWindow.probes})`,
      `${r.failingWindow.all} (${r.failingWindow.probes})`,
      `${Math.round(r.failingWindow.rss / 1048576)} MiB`,
    ]),
  ));
  for (const r of results) {
    lines.push(`${r.pods} pods: healthy run: ${describe(r.healthyRun.requests)}; failing run (kube-scheduler dead): ${describe(r.failingRun.requests)}`);
    lines.push(`${r.pods} pods: Healthy 30 s: ${describe(r.healthyWindow.requests)}; Unhealthy 30 s: ${describe(r.failingWindow.requests)}`);
    const checks = [['healthy run', r.healthyRun], ['failing run', r.failingRun], ['Healthy 30 s', r.healthyWindow], ['Unhealthy 30 s', r.failingWindow]];
    lines.push(`${r.pods} pods: counted / received by the fake API server: ${checks.map(([name, m]) => `${name} ${m.all}/${m.sent}`).join(', ')}`);
  }
  return lines.join('\n');
}
