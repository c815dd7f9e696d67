// `npm run bench:e2e`: what every write pays through kube-apiserver with each target registered
// in turn: no webhook (the floor), levee, levee without its matchConditions, the express +
// `opa run --server` sidecar design, and OPA Gatekeeper enforcing the same scale-to-zero rule.
// Writers at 1, 16 and 64 connections send the mix (bench/e2e/mix.mjs) through the local
// cluster's API server, targets interleaved in rounds; then each webhook's memory with 1k and
// 50k Services and Pods in the cluster for it to cache. Everything runs on 127.0.0.1; the bench
// stops every process it started and removes what it created (or stops the cluster it started).
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterDown, clusterPaths, clusterUp } from '../../scripts/cluster.mjs';
import { applyCrds } from '../../scripts/lib/crds.mjs';
import { verdictDocument } from '../fixtures.mjs';
import { preparePolicies, startOpa } from '../opa.mjs';
import { startNodeTarget } from '../processes.mjs';
import { imageNodeFlags } from '../run.mjs';
import { checkAnswers } from './check.mjs';
import { applyScaleToZeroConstraint, installGatekeeperResources, NAMESPACE as GATEKEEPER_NAMESPACE, startGatekeeper } from './gatekeeper.mjs';
import { adminCredentials, apiClient, cpuSeconds, kubectl } from './kube.mjs';
import { writerObjects } from './mix.mjs';
import { createBenchObjects, createFiller, fillNamespaces } from './objects.mjs';
import { gatekeeperWebhooks, leveeWebhooks, switchTo, unregisterAll } from './registrations.mjs';
import { report } from './report.mjs';
import { summarizeChunks } from './summary.mjs';
import { ask, cachedCounts, gatekeeperRequests, leveeDecisions, memoryOf, sidecarStats, startLevee, stopFork, sumCpu, waitForCaches } from './targets.mjs';

const repo = new URL('../../', import.meta.url).pathname;
const BUNDLE = join(repo, 'dist', 'policies', 'bundle.tar.gz');

const WRITERS = [1, 16, 64];
/** One kwok Node per writer, for its cordons. */
const NODES = 64;
const FULL = { rounds: 4, requests: { 1: 200, 16: 1500, 64: 2000 }, warm: 100, small: 1_000, large: 50_000 };
const QUICK = { rounds: 1, requests: { 1: 100, 16: 600, 64: 1000 }, warm: 50, small: 1_000, large: 5_000 };

const say = (message) => process.stderr.write(`bench:e2e: ${message}\n`);

export async function runE2eBench({ opaPath, gatekeeperPath, quick = false, nodeFlags = imageNodeFlags() }) {
  const counts = quick ? QUICK : FULL;
  const started = Date.now();
  const loadAtStart = loadavg();
  const id = Date.now().toString(36);
  const namespace = `bench-e2e-${id}`;
  const fillPrefix = `bench-fill-${id}`;
  const work = mkdtempSync(join(tmpdir(), 'levee-bench-e2e-'));
  const processes = [];
  const cleanups = [];
  let verdictTimer;
  let startedCluster = false;
  let kubeconfig;
  let api;
  let stopped = false;
  // Stops every process the bench started and removes what it created (or the cluster it started).
  const stopEverything = async () => {
    if (stopped) return;
    stopped = true;
    clearInterval(verdictTimer);
    for (const process of processes.reverse()) await process.stop().catch(() => undefined);
    if (kubeconfig && !startedCluster) {
      try {
        unregisterAll(kubeconfig);
      } catch (err) {
        say(`could not remove the bench's webhooks: ${err.message}`);
      }
      for (const cleanup of cleanups.reverse()) {
        try {
          cleanup();
        } catch (err) {
          say(`cleanup: ${err.message}`);
        }
      }
    }
    api?.close();
    if (startedCluster) await clusterDown({ quiet: true }).catch((err) => say(`could not stop the cluster: ${err.message}`));
    rmSync(work, { recursive: true, force: true });
  };
  const onSignal = (signal) => {
    say(`${signal}: stopping what the bench started...`);
    void stopEverything().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const paths = clusterPaths();
    startedCluster = !existsSync(paths.pidFile('kube-apiserver'));
    say(startedCluster ? 'starting the local cluster...' : 'using the running local cluster');
    const cluster = await clusterUp({ quiet: true });
    ({ kubeconfig } = cluster);
    const foreign = kubectl(kubeconfig, ['get', 'validatingwebhookconfiguration,mutatingwebhookconfiguration', '-o', 'name']).trim();
    if (foreign && !startedCluster) {
      throw new Error(`other webhooks are registered (${foreign.split('\n').join(', ')}): the bench needs the cluster to itself; stop npm start or run npm run cluster:down first`);
    }
    applyCrds({ kubeconfig });
    api = apiClient(kubeconfig, { connections: 32 });
    const apiServerPid = Number(readFileSync(paths.pidFile('kube-apiserver'), 'utf8').trim());

    // Credentials for the load generator, and certificates for the webhooks.
    const admin = adminCredentials(kubeconfig);
    const credentials = { caFile: join(work, 'api-ca.crt'), certFile: join(work, 'admin.crt'), keyFile: join(work, 'admin.key') };
    writeFileSync(credentials.caFile, admin.ca);
    writeFileSync(credentials.certFile, admin.cert);
    writeFileSync(credentials.keyFile, admin.key, { mode: 0o600 });
    const { generateCerts, writeCerts } = await import(new URL('../../dist/src/certs/generate.js', import.meta.url).href);
    const certs = await generateCerts({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validDays: 1 });
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

    say(`creating the bench's objects in namespace ${namespace} (${Math.max(...WRITERS)} writers, ${NODES} kwok nodes) and ${counts.small} filler Services and Pods...`);
    cleanups.push(() => cleanupObjects(kubeconfig, namespace, fillPrefix));
    unregisterAll(kubeconfig);
    await createBenchObjects(api, { namespace, writers: Math.max(...WRITERS), nodes: NODES });
    await createFiller(api, { prefix: fillPrefix, from: 0, to: counts.small });

    say('starting levee, the sidecar (with opa) and Gatekeeper...');
    const levee = await startLevee({ kubeconfig, certDir, configFile, nodeFlags, logFile: join(work, 'levee.log'), clientCA: cluster.webhookClientCA, clientName: cluster.webhookClientName });
    processes.push(levee);
    const opa = await startOpa(opaPath, preparePolicies(BUNDLE, join(work, 'opa'), (await leveeConfig(configFile)).policies));
    processes.push(opa);
    const sidecar = await startNodeTarget(new URL('../targets/sidecar-live.mjs', import.meta.url).pathname, ['--cert-dir', certDir, '--opa-port', String(opa.port), '--kubeconfig', kubeconfig, '--config', configFile], { execArgv: nodeFlags });
    processes.push(sidecar);
    const crdCount = installGatekeeperResources(kubeconfig);
    cleanups.push(() => cleanupGatekeeper(kubeconfig));
    const generator = await startGatekeeper({ binary: gatekeeperPath, kubeconfig, certDir, logFile: join(work, 'gatekeeper-generate.log'), operations: ['generate', 'audit'] });
    processes.push(generator);
    await applyScaleToZeroConstraint(kubeconfig);
    await generator.stop();
    const gatekeeper = await startGatekeeper({ binary: gatekeeperPath, kubeconfig, certDir, logFile: join(work, 'gatekeeper.log') });
    processes.push(gatekeeper);

    const callsOf = {
      levee: () => leveeDecisions(levee.port, certs.caCert),
      sidecar: async () => (await sidecarStats(sidecar)).decisions,
      gatekeeper: () => gatekeeperRequests(gatekeeper.metricsPort),
    };
    const targets = [
      { key: 'none', name: 'no webhook (floor)', webhooks: [], pids: [], calls: async () => 0 },
      { key: 'levee', name: 'levee', webhooks: leveeWebhooks({ kubeconfig, port: levee.port, caBundle, key: 'levee' }), pids: [levee.pid], calls: callsOf.levee },
      { key: 'levee-all', name: 'levee, no matchConditions', webhooks: leveeWebhooks({ kubeconfig, port: levee.port, caBundle, key: 'levee-all', conditions: false }), pids: [levee.pid], calls: callsOf.levee },
      { key: 'sidecar', name: 'express + opa sidecar', webhooks: leveeWebhooks({ kubeconfig, port: sidecar.port, caBundle, key: 'sidecar' }), pids: [sidecar.pid, opa.pid], calls: callsOf.sidecar },
      { key: 'gatekeeper', name: 'Gatekeeper', webhooks: gatekeeperWebhooks({ port: gatekeeper.port, caBundle }), pids: [gatekeeper.pid], calls: callsOf.gatekeeper },
    ];
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
    const chunk = async (target, n, requests) => {
      const cpuBefore = { apiserver: cpuSeconds(apiServerPid), webhook: sumCpu(target.pids) };
      const callsBefore = await target.calls();
      const result = await ask(writers, { type: 'run', writers: n, requests, objects: objectsFor(n), seq }, 'result');
      seq += requests;
      if (result.error) throw new Error(`the load generator failed: ${result.error}`);
      const calls = (await target.calls()) - callsBefore;
      return { ...result, calls, cpu: { apiserver: cpuSeconds(apiServerPid) - cpuBefore.apiserver, webhook: sumCpu(target.pids) - cpuBefore.webhook } };
    };

    say(`measuring ${targets.length} targets x ${WRITERS.join('/')} writers in ${counts.rounds} interleaved round(s)...`);
    const chunks = new Map();
    for (let round = 0; round < counts.rounds; round++) {
      for (const n of WRITERS) {
        const order = targets.map((_, i) => targets[(i + round + n) % targets.length]);
        for (const target of order) {
          await switchTo({ kubeconfig, api, namespace, target });
          await chunk(target, n, Math.min(counts.warm, counts.requests[n]));
          const measured = await chunk(target, n, counts.requests[n]);
          const key = `${target.key}/${n}`;
          chunks.set(key, [...(chunks.get(key) ?? []), measured]);
          say(`  round ${round + 1}, ${n} writer(s), ${target.name}: ${(measured.requests / measured.seconds).toFixed(0)} writes/s${measured.firstError ? `; first error: ${measured.firstError}` : ''}`);
        }
      }
    }
    unregisterAll(kubeconfig);
    const summary = summarizeChunks({ targets, writers: WRITERS, chunks });

    say('memory with the small cluster...');
    const memory = { small: memoryOf(targets) };
    say(`adding filler Services and Pods up to ${counts.large}...`);
    await createFiller(api, { prefix: fillPrefix, from: counts.small, to: counts.large });
    await waitForCaches(cached, counts.large);
    // Each webhook answers a few writes with the large caches before its memory is read.
    for (const target of targets.filter((t) => t.pids.length > 0)) {
      await switchTo({ kubeconfig, api, namespace, target });
      await chunk(target, 16, counts.warm);
    }
    unregisterAll(kubeconfig);
    memory.large = memoryOf(targets);

    const lines = report({ summary, memory, counts, check, crdCount, gatekeeper, quick, started, loadAtStart });
    printNow(lines);
    return lines.join('\n');
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopEverything();
  }
}

function printNow(lines) {
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function leveeConfig(configFile) {
  const { buildConfig } = await import(new URL('../../dist/src/config.js', import.meta.url).href);
  return buildConfig(JSON.parse(readFileSync(configFile, 'utf8')));
}

function cleanupObjects(kubeconfig, namespace, fillPrefix) {
  kubectl(kubeconfig, ['delete', 'namespace', namespace, ...fillNamespaces(fillPrefix), '--ignore-not-found', '--wait=false']);
  kubectl(kubeconfig, ['delete', 'nodes', '-l', 'bench.levee.dev/writer=true', '--ignore-not-found', '--wait=false']);
}

function cleanupGatekeeper(kubeconfig) {
  kubectl(kubeconfig, ['delete', 'constrainttemplate', 'leveescaletozero', '--ignore-not-found', '--wait=false'], { allowFailure: true });
  kubectl(kubeconfig, ['delete', 'namespace', GATEKEEPER_NAMESPACE, '--ignore-not-found', '--wait=false']);
  kubectl(kubeconfig, ['delete', 'crd', '-l', 'gatekeeper.sh/system=yes', '--ignore-not-found', '--wait=false']);
}
