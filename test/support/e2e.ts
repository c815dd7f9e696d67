import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { call } from './https.js';

/**
 * One real cluster per test run, with levee serving on the host and registered as the
 * cluster's webhook. Built once, on first use, and torn down after the last test.
 */

const repoRoot = process.cwd();
// LEVEE_E2E_PORT_BASE shifts levee's e2e ports, so that two checkouts can run their e2e suites at once.
const E2E_PORT_BASE = Number(process.env.LEVEE_E2E_PORT_BASE || 18000);
const E2E_PORT = E2E_PORT_BASE + 443;
const WEBHOOK_NAME = 'levee-e2e';
const PROBE_PORT = E2E_PORT_BASE + 81;

interface ClusterInfo {
  kubeconfig: string;
  userKubeconfig: string;
  dir: string;
  apiServerUrl: string;
  /** The CA and common name of the client certificate the API server presents to webhooks. */
  webhookClientCA: string;
  webhookClientName: string;
}

interface ClusterScripts {
  clusterUp(options?: { quiet?: boolean }): Promise<ClusterInfo>;
  clusterDown(options?: { quiet?: boolean }): Promise<unknown>;
}

interface CrdScripts {
  applyCrds(options: { kubeconfig: string }): string[];
}

interface WebhookScripts {
  registerDevWebhooks(options: { kubeconfig: string; port: number; caBundle: string; name: string }): string[];
  unregisterDevWebhooks(options: { kubeconfig: string; name: string }): void;
}

export interface E2eEnvironment {
  cluster: ClusterInfo;
  levee: ChildProcess;
  leveeLog: string;
  ca: string;
  port: number;
  /** `levee probe`, next to serve as in a pod, on a short interval so verdicts change within seconds. */
  probe: ChildProcess;
  probeLog: string;
  probePort: number;
  verdictFile: string;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

let environment: Promise<E2eEnvironment> | undefined;
let startedCluster = false;

async function importScript<T>(relative: string): Promise<T> {
  return (await import(pathToFileURL(join(repoRoot, relative)).href)) as T;
}

export function e2e(): Promise<E2eEnvironment> {
  environment ??= start();
  return environment;
}

async function start(): Promise<E2eEnvironment> {
  const scripts = await importScript<ClusterScripts>('scripts/cluster.mjs');
  const wasRunning = existsSync(join(repoRoot, '.levee', 'cluster', 'kube-apiserver.pid'));
  let cluster: ClusterInfo;
  try {
    cluster = await scripts.clusterUp({ quiet: true });
  } catch (err) {
    throw new Error(`e2e: the local cluster did not start: ${(err as Error).message}`);
  }
  startedCluster = !wasRunning;

  const dir = join(repoRoot, '.levee', 'e2e');
  mkdirSync(dir, { recursive: true });
  const certs = join(dir, 'certs');
  const caBundle = await leveeCli(['certs', '--ip', '127.0.0.1', '--dns', 'localhost', '--out', certs]);
  const leveeLog = join(dir, 'levee.log');
  const log = createWriteStream(leveeLog);
  const crds = await importScript<CrdScripts>('scripts/lib/crds.mjs');
  crds.applyCrds({ kubeconfig: cluster.kubeconfig });
  const verdictFile = join(dir, 'verdict.json');
  const probeConfig = join(dir, 'probe-config.json');
  writeFileSync(probeConfig, JSON.stringify({
    probe: { intervalSeconds: 3, failuresToUnhealthy: 2, successesToHealthy: 2, lifecycleTimeoutSeconds: 15, timeoutSeconds: 8, httpPort: PROBE_PORT, verdictFile },
  }));
  const probeLog = join(dir, 'probe.log');
  const probeOutput = createWriteStream(probeLog);
  const probe = spawn(
    process.execPath,
    ['bin/levee.js', 'probe', '--config', probeConfig, '--kubeconfig', cluster.kubeconfig, '--tls-cert', join(certs, 'tls.crt')],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  probe.stdout!.pipe(probeOutput);
  probe.stderr!.pipe(probeOutput);
  const levee = spawn(
    process.execPath,
    ['bin/levee.js', 'serve', '--host', '127.0.0.1', '--port', String(E2E_PORT), '--kubeconfig', cluster.kubeconfig,
      '--tls-cert', join(certs, 'tls.crt'), '--tls-key', join(certs, 'tls.key'), '--verdict-file', verdictFile,
      '--client-ca', cluster.webhookClientCA, '--client-name', cluster.webhookClientName],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  levee.stdout!.pipe(log);
  levee.stderr!.pipe(log);
  const ca = readFileSync(join(certs, 'ca.crt'), 'utf8');
  await waitForReady(levee, ca, leveeLog);

  const webhooks = await importScript<WebhookScripts>('scripts/lib/webhooks.mjs');
  webhooks.registerDevWebhooks({ kubeconfig: cluster.kubeconfig, port: E2E_PORT, caBundle, name: WEBHOOK_NAME });
  return { cluster, levee, leveeLog, ca, port: E2E_PORT, probe, probeLog, probePort: PROBE_PORT, verdictFile };
}

async function leveeCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/levee.js', ...args], { cwd: repoRoot }, (err, stdout, stderr) => {
      if (err) reject(new Error(`levee ${args.join(' ')} failed: ${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

async function waitForReady(levee: ChildProcess, ca: string, logFile: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (levee.exitCode !== null) {
      throw new Error(`e2e: levee serve exited with ${levee.exitCode}:\n${tail(logFile)}`);
    }
    const answer = await call(E2E_PORT, ca, { method: 'GET', path: '/readyz' }).catch(() => undefined);
    if (answer?.status === 200) return;
    await sleep(250);
  }
  throw new Error(`e2e: levee serve was not ready within 60 s:\n${tail(logFile)}`);
}

function tail(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-20).join('\n') : '(no log)';
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Real kubectl, as the admin or as the unprivileged `developer`. Never throws on a non-zero exit. */
export async function kubectl(args: string[], options: { as?: 'admin' | 'developer'; input?: string } = {}): Promise<KubectlResult> {
  const env = await e2e();
  const kubeconfig = options.as === 'developer' ? env.cluster.userKubeconfig : env.cluster.kubeconfig;
  return new Promise((resolve) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { cwd: repoRoot }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

/** Polls `check` until it returns true; fails with `what` and the last observation. */
export async function eventually(what: string, check: () => Promise<boolean | string>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: boolean | string = false;
  while (Date.now() < deadline) {
    last = await check();
    if (last === true) return;
    await sleep(500);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${typeof last === 'string' ? `; last: ${last}` : ''}`);
}

after(async function teardown() {
  this.timeout(60_000);
  if (!environment) return;
  const env = await environment.catch(() => undefined);
  if (!env) return;
  const webhooks = await importScript<WebhookScripts>('scripts/lib/webhooks.mjs');
  try {
    webhooks.unregisterDevWebhooks({ kubeconfig: env.cluster.kubeconfig, name: WEBHOOK_NAME });
  } catch {
    // the cluster may already be gone
  }
  env.levee.kill('SIGTERM');
  env.probe.kill('SIGTERM');
  if (startedCluster) {
    const scripts = await importScript<ClusterScripts>('scripts/cluster.mjs');
    await scripts.clusterDown({ quiet: true });
  }
});
