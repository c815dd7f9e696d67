// levee as the bench and the soak run it: `serve()` from the build, with a synthetic
// ClusterState instead of informers, in its own process. Reports its port over IPC.
//   node bench/targets/levee.mjs --cert-dir D [--services N] [--nodes N] [--log-level info] [--config file.json]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { syntheticCluster } from '../synthetic-cluster.mjs';

const dist = new URL('../../dist/src/', import.meta.url);
const { buildConfig } = await import(new URL('config.js', dist).href);
const { createLogger } = await import(new URL('logger.js', dist).href);
const { serve } = await import(new URL('server/serve.js', dist).href);

const { values } = parseArgs({
  options: {
    'cert-dir': { type: 'string' },
    services: { type: 'string', default: '1000' },
    nodes: { type: 'string', default: '5000' },
    'log-level': { type: 'string', default: 'info' },
    config: { type: 'string' },
  },
});
const certDir = values['cert-dir'];
const layer = values.config ? JSON.parse(readFileSync(values.config, 'utf8')) : {};
const config = buildConfig(layer, {
  server: { host: '127.0.0.1', port: 0, tlsCertFile: join(certDir, 'tls.crt'), tlsKeyFile: join(certDir, 'tls.key') },
  bundlePath: new URL('../../dist/policies/bundle.tar.gz', import.meta.url).pathname,
  logLevel: values['log-level'],
});
const cluster = await syntheticCluster({ services: Number(values.services), nodes: Number(values.nodes), config });
const running = await serve({ config, logger: createLogger(config.logLevel), cluster });
const objects = Object.fromEntries(cluster.stats().map((stats) => [stats.name, stats.size]));
process.send({ ready: true, port: running.port, objects });
// Memory as the bench and soak measure it: after a full collection (the process runs with
// --expose-gc), so a sawtooth of uncollected garbage is not mistaken for a leak, or hidden by one.
process.on('message', (message) => {
  if (message?.type !== 'memory') return;
  globalThis.gc?.();
  globalThis.gc?.();
  const usage = process.memoryUsage();
  const mib = (bytes) => bytes / 1048576;
  process.send({ type: 'memory', rssMiB: mib(usage.rss), heapUsedMiB: mib(usage.heapUsed), heapTotalMiB: mib(usage.heapTotal), externalMiB: mib(usage.external) });
});
// The event loop's longest stalls, for the hostile-load section: `{type: 'loop', reset: true}`
// starts a window, `{type: 'loop'}` reports it (max and p99 in ms).
// Wall-clock delays include time the process was not scheduled at all (on a busy machine, tens
// of milliseconds); the main thread's CPU time between two ticks of a 1 ms timer does not, so
// `cpuMaxMs` is the longest stretch levee itself kept the loop busy.
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
const threadCpuMs = () => {
  const usage = process.threadCpuUsage();
  return (usage.user + usage.system) / 1000;
};
let cpuMaxMs = 0;
let cpuTimer;
process.on('message', (message) => {
  if (message?.type !== 'loop') return;
  if (message.reset) {
    loopDelay.reset();
    clearInterval(cpuTimer);
    cpuMaxMs = 0;
    let last = threadCpuMs();
    cpuTimer = setInterval(() => {
      const now = threadCpuMs();
      cpuMaxMs = Math.max(cpuMaxMs, now - last);
      last = now;
    }, 1);
    process.send({ type: 'loop', reset: true });
    return;
  }
  clearInterval(cpuTimer);
  process.send({ type: 'loop', maxMs: loopDelay.max / 1e6, p99Ms: loopDelay.percentile(99) / 1e6, cpuMaxMs, count: loopDelay.count });
});
process.on('SIGTERM', () => void running.close().then(() => process.exit(0)));
process.on('disconnect', () => process.exit(0));
