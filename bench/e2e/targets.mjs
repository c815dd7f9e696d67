// The processes the end-to-end bench measures, and what it reads from them: levee as `npm start`
// runs it, the load generator's IPC, CPU and memory from /proc, webhook call counters, and how
// many Services and Pods each webhook holds in its cache.
import { closeSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, rssMiB, spawnLogged } from '../processes.mjs';
import { syncedObjects } from './gatekeeper.mjs';
import { cpuSeconds, getLocal, sumMetric, waitFor } from './kube.mjs';

const repo = new URL('../../', import.meta.url).pathname;

/**
 * `levee serve` as `npm start` runs it on a host: real informers, SubjectAccessReviews, Events,
 * reviews only from the API server's client certificate, with the image's Node.js flags.
 */
export async function startLevee({ kubeconfig, certDir, configFile, nodeFlags, logFile, clientCA, clientName, logLevel = 'warn' }) {
  const port = await freePort();
  const ca = readFileSync(join(certDir, 'ca.crt'), 'utf8');
  const { child, stop } = spawnLogged(process.execPath, [...nodeFlags, join(repo, 'bin', 'levee.js'), 'serve', '--config', configFile, '--host', '127.0.0.1', '--port', String(port), '--kubeconfig', kubeconfig, '--tls-cert', join(certDir, 'tls.crt'), '--tls-key', join(certDir, 'tls.key'), '--client-ca', clientCA, '--client-name', clientName, '--log-level', logLevel], {
    logFile,
    cwd: repo,
    killAfterMs: 10_000,
  });
  try {
    await waitFor('levee /readyz', async () => {
      if (child.exitCode !== null) throw new Error(`levee serve exited with ${child.exitCode}: ${readFileSync(logFile, 'utf8').slice(-2000)}`);
      return (await getLocal(port, '/readyz', { tls: true, ca })).status === 200;
    }, 120_000);
  } catch (err) {
    await stop();
    throw new Error(`${err.message}; levee's log ends:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
  }
  return { port, pid: child.pid, stop };
}

export function stopFork(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.disconnect();
  });
}

export function ask(child, message, answerType) {
  return new Promise((resolve, reject) => {
    const onMessage = (answer) => {
      if (answer?.type !== answerType) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(answer);
    };
    const onExit = (code) => reject(new Error(`the load generator exited (${code})`));
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send(message);
  });
}

export function sumCpu(pids) {
  return pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/**
 * levee's reviews answered, the seconds it spent answering them (read to response) and the TLS
 * handshakes its listener completed, from its /metrics.
 */
export async function leveeCounters(port, ca) {
  const text = (await getLocal(port, '/metrics', { tls: true, ca })).text;
  return {
    calls: sumMetric(text, 'levee_decisions_total{'),
    seconds: sumMetric(text, 'levee_admission_duration_seconds_sum'),
    connections: sumMetric(text, 'levee_connections_total{stage="tls"}'),
  };
}

/** The size of a log file now: where the lines written from now on start. */
export function logOffset(file) {
  return statSync(file).size;
}

/**
 * The reviews levee logged (at debug level, one line per decision) since `offset`, counted by
 * route, requester, resource (with subresource) and operation.
 */
export function decisionsLoggedSince(file, offset) {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const buffer = Buffer.alloc(Math.max(0, size - offset));
    readSync(fd, buffer, 0, buffer.length, offset);
    const counts = {};
    for (const line of buffer.toString('utf8').split('\n')) {
      if (!line.includes('"admission decision"')) continue;
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        continue;
      }
      const key = [entry.route, entry.user, entry.resource, entry.operation].join(' ');
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  } finally {
    closeSync(fd);
  }
}

/** Gatekeeper's validation requests answered and the seconds it spent on them, from its metrics port. */
export async function gatekeeperCounters(port) {
  const text = (await getLocal(port, '/metrics')).text;
  return { calls: sumMetric(text, 'gatekeeper_validation_request_count'), seconds: sumMetric(text, 'gatekeeper_validation_request_duration_seconds_sum') };
}

export function sidecarStats(sidecar) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no stats from the sidecar within 10 s')), 10_000);
    const onMessage = (message) => {
      if (message?.type !== 'stats') return;
      clearTimeout(timer);
      sidecar.child.off('message', onMessage);
      resolve(message);
    };
    sidecar.child.on('message', onMessage);
    sidecar.child.send({ type: 'stats' });
  });
}

/** Services and Pods each target holds in its cache. */
export async function cachedCounts({ levee, certs, sidecar, gatekeeper }) {
  const metrics = (await getLocal(levee.port, '/metrics', { tls: true, ca: certs.caCert })).text;
  const leveeCache = (name) => Number(new RegExp(`^levee_cache_objects\\{cache="${name}"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
  const side = (await sidecarStats(sidecar)).objects;
  const gk = await syncedObjects(gatekeeper.metricsPort);
  return {
    levee: { services: leveeCache('services'), pods: leveeCache('pods') },
    sidecar: { services: side.services ?? 0, pods: side.pods ?? 0 },
    gatekeeper: { services: gk.Service ?? 0, pods: gk.Pod ?? 0 },
  };
}

export async function waitForCaches(cached, filler) {
  await waitFor(`every target to cache at least ${filler} Services and Pods`, async () => {
    const counts = await cached();
    const short = Object.entries(counts).filter(([, c]) => c.services < filler || c.pods < filler);
    return short.length === 0 || short.map(([name, c]) => `${name}: ${c.services} Services, ${c.pods} Pods`).join('; ');
  }, 1_800_000);
}

export function memoryOf(targets) {
  const seen = new Map();
  for (const target of targets) {
    if (target.pids.length === 0 || seen.has(target.pids.join(','))) continue;
    seen.set(target.pids.join(','), { name: target.name, key: target.key, rss: target.pids.map((pid) => rssMiB(pid)) });
  }
  return [...seen.values()];
}
