// `npm run bench:e2e`: what every write pays through kube-apiserver with each target registered
// in turn: no webhook (the floor), levee, levee without its matchConditions, the express +
// `opa run --server` sidecar design, and OPA Gatekeeper enforcing the same scale-to-zero rule.
// Writers at 1, 16 and 64 connections send the mix (bench/e2e/mix.mjs) through the local
// cluster's API server, targets interleaved in rounds; then each webhook's memory with 1k and
// 50k Services and Pods in the cluster for it to cache. Everything runs on 127.0.0.1, on a
// cluster of the bench's own; the bench stops every process it started, and that cluster.
import { fork } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterDown, clusterUp } from '../../scripts/cluster.mjs';
import { clusterPathsIn } from '../../scripts/cluster/layout.mjs';
import { applyCrds } from '../../scripts/lib/crds.mjs';
import { verdictDocument } from '../fixtures.mjs';
import { preparePolicies, startOpa } from '../opa.mjs';
import { startNodeTarget } from '../processes.mjs';
import { imageNodeFlags } from '../run.mjs';
import { checkAnswers } from './check.mjs';
import { applyScaleToZeroConstraint, installGatekeeperResources, startGatekeeper } from './gatekeeper.mjs';
import { adminCredentials, apiClient, apiServerWebhookSeconds, cpuSeconds, entriesSince, kubectl } from './kube.mjs';
import { writerObjects } from './mix.mjs';
import { createBenchObjects, createFiller } from './objects.mjs';
import { captureProfile, PROFILING_ARGS } from './profiles.mjs';
import { benchService, gatekeeperWebhooks, leveeWebhooks, serviceDnsName, switchTo, unregisterAll } from './registrations.mjs';
import { report } from './report.mjs';
import { summarizeChunks } from './summary.mjs';
import { ask, cachedCounts, decisionsLoggedSince, gatekeeperCounters, leveeCounters, logOffset, memoryOf, sidecarStats, startLevee, stopFork, sumCpu, waitForCaches } from './targets.mjs';

const repo = new URL('../../', import.meta.url).pathname;
const BUNDLE = join(repo, 'dist', 'policies', 'bundle.tar.gz');
/** The bench's own cluster: its own state directory and a free block of ports. */
const CLUSTER_DIR = join(repo, '.levee', 'bench-cluster');
const LOG_DIR = join(repo, '.levee', 'bench-e2e');

/** The writer count of the warm-up before the large memory reading. */
const WARM_WRITERS = 16;
/** One kwok Node per writer, for its cordons. */
const NODES = 64;
/**
 * Each target is measured for a fixed time at each writer count, after a warm-up, rather than
 * for a fixed number of writes: on a shared machine a fixed count can take many times longer
 * for one target than another, and rounds that take as long as each other are what interleaving
 * needs. `large`: Services and Pods in the cluster for the second memory reading. The command
 * line may change rounds, seconds, writers and large (options.mjs).
 */
const FULL = { rounds: 3, warmSeconds: 3, seconds: 15, writers: [1, 16, 64], small: 1_000, large: 50_000 };
const QUICK = { rounds: 1, warmSeconds: 2, seconds: 6, writers: [1, 16, 64], small: 1_000, large: 5_000 };
/** Most writes one chunk may send, whatever its time. */
const MAX_WRITES = 1_000_000;

const say = (message) => process.stderr.write(`bench:e2e: ${message}\n`);

export async function runE2eBench({ opaPath, gatekeeperPath, quick = false, overrides = {}, breakdown = false, nodeFlags = imageNodeFlags() }) {
  const counts = { ...(quick ? QUICK : FULL), ...overrides };
  const { writers: writerCounts, apiServerProfiles } = counts;
  // Enough writers' objects for every writer count measured and for the warm-up before the memory readings.
  const writerObjectCount = Math.max(WARM_WRITERS, ...writerCounts);
  const started = Date.now();
  const loadAtStart = loadavg();
  const id = Date.now().toString(36);
  const namespace = `bench-e2e-${id}`;
  const fillPrefix = `bench-fill-${id}`;
  const work = mkdtempSync(join(tmpdir(), 'levee-bench-e2e-'));
  const processes = [];
  let verdictTimer;
  let api;
  let stopped = false;
  // Stops every process the bench started, then its cluster, which takes everything it created along.
  const stopEverything = async () => {
    if (stopped) return;
    stopped = true;
    clearInterval(verdictTimer);
    for (const process of processes.reverse()) await process.stop().catch(() => undefined);
    api?.close();
    await clusterDown({ dir: CLUSTER_DIR, quiet: true }).catch((err) => say(`could not stop the bench's cluster: ${err.message}`));
    keepLogs(work);
    rmSync(work, { recursive: true, force: true });
  };
  const onSignal = (signal) => {
    say(`${signal}: stopping what the bench started...`);
    void stopEverything().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // A cluster of the bench's own (never the developer's npm start cluster, never the tests'),
    // from a clean state: one a crashed run left behind is taken down first.
    await clusterDown({ dir: CLUSTER_DIR, quiet: true });
    say(`starting the bench's own cluster in ${CLUSTER_DIR}...`);
    if (apiServerProfiles) mkdirSync(apiServerProfiles, { recursive: true });
    const cluster = await clusterUp({ dir: CLUSTER_DIR, ports: 'auto', env: {}, quiet: true, ...(apiServerProfiles ? { extraArgs: PROFILING_ARGS } : {}) });
    const { kubeconfig } = cluster;
    applyCrds({ kubeconfig });
    api = apiClient(kubeconfig, { connections: 32 });
    const apiServerPid = Number(readFileSync(clusterPathsIn(CLUSTER_DIR).pidFile('kube-apiserver'), 'utf8').trim());

    // Credentials for the load generator, and certificates for the webhooks.
    const admin = adminCredentials(kubeconfig);
    const credentials = { caFile: join(work, 'api-ca.crt'), certFile: join(work, 'admin.crt'), keyFile: join(work, 'admin.key') };
    writeFileSync(credentials.caFile, admin.ca);
    writeFileSync(credentials.certFile, admin.cert);
    writeFileSync(credentials.keyFile, admin.key, { mode: 0o600 });
    const { generateCerts, writeCerts } = await import(new URL('../../dist/src/certs/generate.js', import.meta.url).href);
    // Each webhook target is registered through a Service of its own (registrations.mjs): one certificate names them all.
    const services = { levee: 'bench-levee', sidecar: 'bench-sidecar', gatekeeper: 'bench-gatekeeper' };
    const certs = await generateCerts({ dnsNames: ['localhost', ...Object.values(services).map(serviceDnsName)], ipAddresses: ['127.0.0.1'], validDays: 1 });
    const certDir = join(work, 'certs');
    writeCerts(certDir, certs);
    const caBundle = Buffer.from(certs.caCert).toString('base64');

    // A Healthy probe verdict, rewritten as `levee probe` would, for levee and the sidecar.
    const verdictFile = join(work, 'verdict.json');
    let verdictRun = 0;
    const writeVerdict = () => {
      writeFileSync(`${verdictFile}.new`, JSON.stringify(verdictDocument('Healthy', ++verdictRun)));
      renameSync(`${verdictFile}.new`, verdictFile);
    };
    writeVerdict();
    verdictTimer = setInterval(writeVerdict, 10_000);
    const configFile = join(work, 'levee-config.json');
    writeFileSync(configFile, JSON.stringify({ probe: { verdictFile } }));

    say(`creating the bench's objects in namespace ${namespace} (${writerObjectCount} writers, ${NODES} kwok nodes) and ${counts.small} filler Services and Pods...`);
    unregisterAll(kubeconfig);
    await createBenchObjects(api, { namespace, writers: writerObjectCount, nodes: NODES });
    await createFiller(api, { prefix: fillPrefix, from: 0, to: counts.small });

    say('starting levee, the sidecar (with opa) and Gatekeeper...');
    // --breakdown: levee logs every decision (debug), and the bench counts them by request; the
    // log lines cost levee CPU, so a run with it is for the breakdown, not for the latency table.
    const leveeLog = join(work, 'levee.log');
    const levee = await startLevee({ kubeconfig, certDir, configFile, nodeFlags, logFile: leveeLog, clientCA: cluster.webhookClientCA, clientName: cluster.webhookClientName, ...(breakdown ? { logLevel: 'debug' } : {}) });
    processes.push(levee);
    const opa = await startOpa(opaPath, preparePolicies(BUNDLE, join(work, 'opa'), (await leveeConfig(configFile)).policies));
    processes.push(opa);
    const sidecar = await startNodeTarget(new URL('../targets/sidecar-live.mjs', import.meta.url).pathname, ['--cert-dir', certDir, '--opa-port', String(opa.port), '--kubeconfig', kubeconfig, '--config', configFile], { execArgv: nodeFlags });
    processes.push(sidecar);
    const crdCount = await installGatekeeperResources(kubeconfig);
    const generator = await startGatekeeper({ binary: gatekeeperPath, kubeconfig, certDir, logFile: join(work, 'gatekeeper-generate.log'), operations: ['generate', 'audit'] });
    processes.push(generator);
    await applyScaleToZeroConstraint(kubeconfig);
    await generator.stop();
    const gatekeeper = await startGatekeeper({ binary: gatekeeperPath, kubeconfig, certDir, logFile: join(work, 'gatekeeper.log') });
    processes.push(gatekeeper);

    // Each target's counters: webhook calls, the seconds it spent answering them (levee and
    // Gatekeeper count these; the sidecar does not), and for levee the TLS handshakes its listener completed.
    const countersOf = {
      levee: () => leveeCounters(levee.port, certs.caCert),
      sidecar: async () => ({ calls: (await sidecarStats(sidecar)).decisions }),
      gatekeeper: () => gatekeeperCounters(gatekeeper.metricsPort),
    };
    const leveeLogged = breakdown ? { offset: () => logOffset(leveeLog), since: (offset) => decisionsLoggedSince(leveeLog, offset) } : undefined;
    const targets = [
      { key: 'none', name: 'no webhook (floor)', webhooks: [], pids: [], counters: async () => ({ calls: 0 }) },
      { key: 'levee', name: 'levee', webhooks: leveeWebhooks({ kubeconfig, service: services.levee, port: levee.port, caBundle, key: 'levee' }), pids: [levee.pid], counters: countersOf.levee, logged: leveeLogged },
      { key: 'levee-all', name: 'levee, no matchConditions', webhooks: leveeWebhooks({ kubeconfig, service: services.levee, port: levee.port, caBundle, key: 'levee-all', conditions: false }), pids: [levee.pid], counters: countersOf.levee, logged: leveeLogged },
      { key: 'sidecar', name: 'express + opa sidecar', webhooks: leveeWebhooks({ kubeconfig, service: services.sidecar, port: sidecar.port, caBundle, key: 'sidecar' }), pids: [sidecar.pid, opa.pid], counters: countersOf.sidecar },
      { key: 'gatekeeper', name: 'Gatekeeper', webhooks: gatekeeperWebhooks({ service: services.gatekeeper, port: gatekeeper.port, caBundle }), pids: [gatekeeper.pid], counters: countersOf.gatekeeper },
    ];
    kubectl(kubeconfig, ['apply', '-f', '-'], { input: Object.values(services).map((name) => JSON.stringify(benchService(name))).join('\n') });
    const cached = () => cachedCounts({ levee, certs, sidecar, gatekeeper });
    await waitForCaches(cached, counts.small);

    say('checking that every target answers the bench\'s writes alike...');
    const check = await checkAnswers({ kubeconfig, api, namespace, targets, objects: writerObjects(namespace, 0, NODES) });
    printNow(check.lines);

    const writers = fork(new URL('./writers.mjs', import.meta.url).pathname, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    processes.push({ stop: () => stopFork(writers) });
    await ask(writers, { type: 'connect', port: admin.port, ...credentials }, 'connected');
    const objectsFor = (n) => Array.from({ length: n }, (_, w) => writerObjects(namespace, w, NODES));
    let seq = 0;
    const chunk = async (target, n, seconds) => {
      const cpuBefore = { apiserver: cpuSeconds(apiServerPid), webhook: sumCpu(target.pids) };
      const before = await target.counters();
      const waitedBefore = await apiServerWebhookSeconds(api);
      const logOffsetBefore = target.logged?.offset();
      const result = await ask(writers, { type: 'run', writers: n, requests: MAX_WRITES, seconds, objects: objectsFor(n), seq }, 'result');
      seq += result.requests ?? 0;
      if (result.error) throw new Error(`the load generator failed: ${result.error}`);
      const after = await target.counters();
      const waitedAfter = await apiServerWebhookSeconds(api);
      return {
        ...result,
        calls: after.calls - before.calls,
        waited: { webhooks: waitedAfter.webhooks - waitedBefore.webhooks, conditions: waitedAfter.conditions - waitedBefore.conditions },
        entries: entriesSince(waitedBefore.entries, waitedAfter.entries),
        ...(after.seconds !== undefined ? { answering: after.seconds - before.seconds } : {}),
        ...(after.connections !== undefined ? { connections: after.connections - before.connections } : {}),
        ...(target.logged ? { logged: target.logged.since(logOffsetBefore) } : {}),
        cpu: { apiserver: cpuSeconds(apiServerPid) - cpuBefore.apiserver, webhook: sumCpu(target.pids) - cpuBefore.webhook },
      };
    };

    say(`measuring ${targets.length} targets x ${writerCounts.join('/')} writers in ${counts.rounds} interleaved round(s)...`);
    const chunks = new Map();
    for (let round = 0; round < counts.rounds; round++) {
      for (const n of writerCounts) {
        const order = targets.map((_, i) => targets[(i + round + n) % targets.length]);
        for (const target of order) {
          await switchTo({ kubeconfig, api, namespace, target });
          await chunk(target, n, counts.warmSeconds);
          // The profile ends inside the chunk: a second shorter than it, so none of the switch to the next target is in it.
          const profile = apiServerProfiles
            ? captureProfile({ kubeconfig, dir: apiServerProfiles, name: `${target.key}-${n}w-round${round + 1}`, seconds: Math.max(1, counts.seconds - 1) }).catch((err) => err)
            : undefined;
          const measured = await chunk(target, n, counts.seconds);
          const profiled = await profile;
          if (profiled instanceof Error) throw profiled;
          const key = `${target.key}/${n}`;
          chunks.set(key, [...(chunks.get(key) ?? []), measured]);
          say(`  round ${round + 1}, ${n} writer(s), ${target.name}: ${(measured.requests / measured.seconds).toFixed(0)} writes/s${measured.firstError ? `; first error: ${measured.firstError}` : ''}`);
        }
      }
    }
    unregisterAll(kubeconfig);
    if (apiServerProfiles) say(`the API server's CPU profile of each measured chunk is in ${apiServerProfiles} (read one with: go tool pprof -top -cum <file>)`);
    const summary = summarizeChunks({ targets, writers: writerCounts, chunks });

    say('memory with the small cluster...');
    const memory = { small: memoryOf(targets) };
    say(`adding filler Services and Pods up to ${counts.large}...`);
    await createFiller(api, { prefix: fillPrefix, from: counts.small, to: counts.large });
    await waitForCaches(cached, counts.large);
    // Each webhook answers a few writes with the large caches before its memory is read.
    for (const target of targets.filter((t) => t.pids.length > 0)) {
      await switchTo({ kubeconfig, api, namespace, target });
      await chunk(target, WARM_WRITERS, counts.warmSeconds);
    }
    unregisterAll(kubeconfig);
    memory.large = memoryOf(targets);

    const lines = report({ summary, memory, counts, writers: writerCounts, check, crdCount, gatekeeper, quick, breakdown, started, loadAtStart });
    printNow(lines);
    return lines.join('\n');
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopEverything();
  }
}

/** The webhooks' logs of the last run stay in .levee/bench-e2e/ (a shed or a timeout shows there, not in the table). */
function keepLogs(work) {
  mkdirSync(LOG_DIR, { recursive: true });
  for (const name of ['levee.log', 'gatekeeper.log', 'gatekeeper-generate.log']) {
    if (existsSync(join(work, name))) copyFileSync(join(work, name), join(LOG_DIR, name));
  }
}

function printNow(lines) {
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function leveeConfig(configFile) {
  const { buildConfig } = await import(new URL('../../dist/src/config.js', import.meta.url).href);
  return buildConfig(JSON.parse(readFileSync(configFile, 'utf8')));
}
