// Small helpers for the end-to-end bench: kubectl and the API server client (the scripts', the
// latter with the admin's client certificate), local health and metrics endpoints, and a
// process's CPU time from /proc.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parse } from 'yaml';
import { apiClient as clusterApiClient } from '../../scripts/cluster/api.mjs';

export { kubectl } from '../../scripts/lib/kubectl.mjs';

export async function waitFor(what, check, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const done = await check();
      if (done === true) return;
      if (typeof done === 'string') last = done;
    } catch (err) {
      last = err.message;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** GET on 127.0.0.1 (TLS without verification only for the targets' own metrics and health ports). */
export function getLocal(port, path, { tls = false, ca } = {}) {
  const send = tls ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send({ host: '127.0.0.1', port, path, agent: false, ...(tls ? { ca, servername: 'localhost' } : {}), timeout: 5000 }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} on port ${port} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** The admin's credentials and the API server's address, read from a kubeconfig with embedded data. */
export function adminCredentials(kubeconfig) {
  const config = parse(readFileSync(kubeconfig, 'utf8'));
  const cluster = config.clusters[0].cluster;
  const user = config.users[0].user;
  const decode = (b64) => Buffer.from(b64, 'base64');
  const url = new URL(cluster.server);
  return { port: Number(url.port), ca: decode(cluster['certificate-authority-data']), cert: decode(user['client-certificate-data']), key: decode(user['client-key-data']) };
}

/**
 * The cluster script's API client with the admin's credentials, for setting the bench up (not for
 * the timed load): its requests wait as long as the API server takes.
 */
export function apiClient(kubeconfig, { connections = 16 } = {}) {
  const { port, ca, cert, key } = adminCredentials(kubeconfig);
  return clusterApiClient({ server: `https://127.0.0.1:${port}`, ca, cert, key, connections, timeoutMs: 0 });
}

/**
 * What kube-apiserver's own metrics say its webhook calls took, in seconds since it started, in
 * all and per webhook entry. k8s.io/apiserver times a call (apiserver_admission_webhook_admission_duration_seconds)
 * from after the entry's matchConditions to the answer read, and times matchConditions
 * (apiserver_admission_match_condition_evaluation_seconds) only where they leave the request out
 * or fail (webhook/matchconditions/matcher.go): conditions that let a request through are timed nowhere.
 */
export async function apiServerWebhookSeconds(api) {
  const { status, text } = await api.request('GET', '/metrics', undefined, { timeoutMs: 10_000 });
  if (status !== 200) throw new Error(`GET /metrics on the API server answered ${status}`);
  return {
    webhooks: sumMetric(text, 'apiserver_admission_webhook_admission_duration_seconds_sum{'),
    conditions: sumMetric(text, 'apiserver_admission_match_condition_evaluation_seconds_sum{'),
    entries: {
      waited: sumByWebhook(text, 'apiserver_admission_webhook_admission_duration_seconds_sum'),
      calls: sumByWebhook(text, 'apiserver_admission_webhook_admission_duration_seconds_count'),
      conditions: sumByWebhook(text, 'apiserver_admission_match_condition_evaluation_seconds_sum'),
      exclusions: sumByWebhook(text, 'apiserver_admission_match_condition_exclusions_total'),
    },
  };
}

/** Per webhook entry (the `name` label), the sum of a metric's samples: `{ [entry]: value }`. */
export function sumByWebhook(text, metric) {
  const sums = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const name = /[{,]name="([^"]*)"/.exec(line)?.[1];
    if (name === undefined) continue;
    sums[name] = (sums[name] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sums;
}

/** `after - before` for each entry of each per-webhook sum. */
export function entriesSince(before, after) {
  const out = {};
  for (const [measure, sums] of Object.entries(after)) {
    out[measure] = Object.fromEntries(Object.entries(sums).map(([name, value]) => [name, value - (before[measure]?.[name] ?? 0)]).filter(([, value]) => value > 0));
  }
  return out;
}

/** The sum of every sample in a Prometheus text exposition whose line starts with `prefix`. */
export function sumMetric(text, prefix) {
  return text
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

/** Runs `task(i)` for i in [0, count) with `parallel` in flight at once. */
export async function inParallel(count, parallel, task) {
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces and parentheses: the fields after it follow the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / clockTicks();
}

let ticksPerSecond;
function clockTicks() {
  if (ticksPerSecond === undefined) {
    const result = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    ticksPerSecond = Number(result.stdout.trim()) || 100;
  }
  return ticksPerSecond;
}
