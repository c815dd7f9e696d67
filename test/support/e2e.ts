import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { call } from './https.js';
import { auditPolicy, installChart, type ChartCredentials } from './chart-credentials.js';
import { startLevee, stopProcess, type LeveeOptions, type LeveeProcesses } from './levee-processes.js';

/**
 * One real cluster per test run, of its own (.levee/test-cluster/, its own ports: never the
 * developer's `npm start` cluster), with levee serving on the host and registered as the
 * cluster's webhook. Started fresh on first use, torn down after the last test.
 */

const repoRoot = process.cwd();
const E2E_DIR = join(repoRoot, '.levee', 'e2e');
// Outside the cluster's and the harness's directories, which are emptied at start.
const AUDIT_DIR = join(repoRoot, '.levee', 'e2e-audit');
const WEBHOOK_NAME = 'levee-e2e';
// Offsets of the harness's own servers from the test servers' port base (see e2ePort).
const SERVE_OFFSET = 43;
const PROBE_OFFSET = 81;

export interface ClusterPortMap {
  apiserver: number;
  controllerManager: number;
  scheduler: number;
  kwok: number;
  etcdClient: number;
  etcdPeer: number;
}

export interface ClusterInfo {
  kubeconfig: string;
  userKubeconfig: string;
  dir: string;
  apiServerUrl: string;
  ports: ClusterPortMap;
  /** The CA and common name of the client certificate the API server presents to webhooks. */
  webhookClientCA: string;
  webhookClientName: string;
}

export interface ClusterOptions {
  dir?: string;
  ports?: ClusterPortMap | 'auto';
  env?: NodeJS.ProcessEnv;
  quiet?: boolean;
  extraArgs?: Record<string, string[]>;
}

export interface ClusterScripts {
  clusterUp(options?: ClusterOptions): Promise<ClusterInfo>;
  clusterDown(options?: { dir?: string; quiet?: boolean }): Promise<unknown>;
  testClusterOptions(env?: NodeJS.ProcessEnv): ClusterOptions & { dir: string };
  testServerPortBase(env?: NodeJS.ProcessEnv, dir?: string): Promise<number>;
  claimPortBlock(dir: string): Promise<number>;
  E2E_PORT_SPAN: number;
}

interface CrdScripts {
  applyCrds(options: { kubeconfig: string }): string[];
}

/**
 * The test cluster and levee on it: `levee serve` (registered as `levee-e2e`) and `levee probe`
 * next to it as in a pod, on a short interval so verdicts change within seconds.
 */
export interface E2eEnvironment extends LeveeProcesses {
  cluster: ClusterInfo;
  /**
   * With LEVEE_E2E_CREDENTIALS=chart (`npm test -- e2e-chart`): serve and probe run with the
   * Helm chart's ServiceAccount tokens, configuration and webhook registrations, and the API
   * server writes every request of the chart's ServiceAccounts to `auditLog` (JSON lines).
   */
  chart?: ChartCredentials & { auditLog: string };
  /** The ClusterRole that lets whoever it is bound to override levee's policies (manifests/rbac's, or the chart's). */
  overrideRole: string;
}

/** serve and probe with the Helm chart's credentials instead of the admin's. */
export const chartCredentialsAsked = (): boolean => process.env.LEVEE_E2E_CREDENTIALS === 'chart';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

let environment: Promise<E2eEnvironment> | undefined;
let testCluster: (ClusterOptions & { dir: string }) | undefined;
let serverPortBase: number | undefined;
let portSpan = 100;
// The chart's credentials and configuration, in e2e-chart runs.
let chartCredentials: LeveeOptions['credentials'];

export async function importScript<T>(relative: string): Promise<T> {
  return (await import(pathToFileURL(join(repoRoot, relative)).href)) as T;
}

export function clusterScripts(): Promise<ClusterScripts> {
  return importScript<ClusterScripts>('scripts/cluster.mjs');
}

export function e2e(): Promise<E2eEnvironment> {
  environment ??= start();
  return environment;
}

/**
 * A port for a server a test starts itself: LEVEE_E2E_PORT_BASE + offset, or offset within
 * the block claimed for the test cluster. Valid once e2e() has resolved; offsets 0..99, of
 * which the harness uses 43 (levee serve) and 81 (levee probe).
 */
export function e2ePort(offset: number): number {
  if (serverPortBase === undefined) throw new Error('e2ePort() is known only once e2e() has resolved');
  if (!Number.isInteger(offset) || offset < 0 || offset >= portSpan) throw new Error(`e2ePort(${offset}): offsets run from 0 to ${portSpan - 1}`);
  return serverPortBase + offset;
}

/** Starts again whatever component of the test cluster a test stopped (`npm run cluster:up` for it). */
export async function restartStoppedComponents(): Promise<ClusterInfo> {
  if (!testCluster) throw new Error('the test cluster has not been started');
  const scripts = await clusterScripts();
  return scripts.clusterUp({ ...testCluster, quiet: true });
}

/** The pid of a running component of the test cluster, from its pid file. */
export async function componentPid(component: string): Promise<number> {
  const env = await e2e();
  return Number(readFileSync(join(env.cluster.dir, `${component}.pid`), 'utf8').trim());
}

async function start(): Promise<E2eEnvironment> {
  const scripts = await clusterScripts();
  testCluster = scripts.testClusterOptions();
  const auditLog = join(AUDIT_DIR, 'audit.log');
  if (chartCredentialsAsked()) {
    rmSync(AUDIT_DIR, { recursive: true, force: true });
    mkdirSync(AUDIT_DIR, { recursive: true });
    const policy = join(AUDIT_DIR, 'policy.json');
    writeFileSync(policy, auditPolicy());
    testCluster.extraArgs = { 'kube-apiserver': [`--audit-policy-file=${policy}`, `--audit-log-path=${auditLog}`, '--audit-log-maxsize=200'] };
  }
  let cluster: ClusterInfo;
  try {
    // A test cluster left by an interrupted run holds whatever that run made: start afresh.
    await scripts.clusterDown({ dir: testCluster.dir, quiet: true });
    cluster = await scripts.clusterUp({ ...testCluster, quiet: true });
  } catch (err) {
    throw new Error(`e2e: the test cluster did not start: ${(err as Error).message}`);
  }
  serverPortBase = await scripts.testServerPortBase();
  portSpan = scripts.E2E_PORT_SPAN;

  rmSync(E2E_DIR, { recursive: true, force: true });
  const crds = await importScript<CrdScripts>('scripts/lib/crds.mjs');
  crds.applyCrds({ kubeconfig: cluster.kubeconfig });
  let chart: E2eEnvironment['chart'];
  let processes: LeveeProcesses;
  try {
    if (chartCredentialsAsked()) {
      mkdirSync(E2E_DIR, { recursive: true });
      const installed = await installChart({ kubeconfig: cluster.kubeconfig, dir: E2E_DIR, port: e2ePort(SERVE_OFFSET) });
      chart = { ...installed, auditLog };
      chartCredentials = installed;
    }
    processes = await startLevee(leveeOptions(cluster));
  } catch (err) {
    throw new Error(`e2e: ${(err as Error).message}`);
  }
  return { cluster, ...processes, overrideRole: chart?.overrideRole ?? 'levee-override', ...(chart ? { chart } : {}) };
}

function leveeOptions(cluster: ClusterInfo, probe: Record<string, unknown> = {}, serve?: Record<string, unknown>): LeveeOptions {
  return {
    kubeconfig: cluster.kubeconfig,
    dir: E2E_DIR,
    port: e2ePort(SERVE_OFFSET),
    probePort: e2ePort(PROBE_OFFSET),
    webhookName: WEBHOOK_NAME,
    clientCA: cluster.webhookClientCA,
    clientName: cluster.webhookClientName,
    probe: { intervalSeconds: 3, failuresToUnhealthy: 2, successesToHealthy: 2, lifecycleTimeoutSeconds: 15, timeoutSeconds: 8, ...probe },
    // The test files make platform changes back to back (NodePools, kube-system Deployments):
    // probe-on-change only warns here, except where probe-on-change.test.ts restarts levee with
    // its hold on (restartLevee({}, {policies: ...})).
    serve: serve ?? { policies: { 'probe-on-change': { action: 'warn' } } },
    ...(chartCredentials ? { credentials: chartCredentials } : {}),
  };
}

/**
 * Kills the harness's `levee serve` and `levee probe` (every levee process of the test
 * cluster), leaving their webhook registrations in place, as a crash would.
 */
export async function killLevee(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const env = await e2e();
  await Promise.all([stopProcess(env.levee, signal), stopProcess(env.probe, signal)]);
}

/**
 * Starts the harness's `levee serve` and `levee probe` again after killLevee(); resolves once
 * serve is ready. `probe` is configuration over the harness's (e.g. custom probes); `serve`
 * replaces serve's configuration file. The next restart without them goes back to the harness's own.
 */
export async function restartLevee(probe: Record<string, unknown> = {}, serve?: Record<string, unknown>): Promise<E2eEnvironment> {
  const env = await e2e();
  const processes = await startLevee(leveeOptions(env.cluster, probe, serve));
  // Tests hold the environment object: update it in place.
  Object.assign(env, processes);
  return env;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function testClusterKubeconfig(as: 'admin' | 'developer' = 'admin'): Promise<string> {
  const env = await e2e();
  return as === 'developer' ? env.cluster.userKubeconfig : env.cluster.kubeconfig;
}

/** Real kubectl (on the test cluster unless `kubeconfig` names another), as the admin or as the unprivileged `developer`. Never throws on a non-zero exit. */
export async function kubectl(args: string[], options: { as?: 'admin' | 'developer'; input?: string; kubeconfig?: string } = {}): Promise<KubectlResult> {
  const kubeconfig = options.kubeconfig ?? (await testClusterKubeconfig(options.as));
  return new Promise((resolve) => {
    const child = execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { cwd: repoRoot }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

/**
 * Registers the hooks of a describe block that works in a namespace of its own: the cluster
 * (started once per process) and the namespace before its tests, the namespace deleted after.
 */
export function inFreshNamespace(namespace: string): void {
  before(async function () {
    this.timeout(1_800_000);
    await e2e();
    const created = await kubectl(['create', 'namespace', namespace]);
    if (created.code !== 0) throw new Error(`kubectl create namespace ${namespace} failed: ${created.stderr}`);
  });

  after(async () => {
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });
}

/** The ready endpoints behind a Service, over all its EndpointSlices, as kubectl reads them; -1 when the read fails. */
export async function readyEndpoints(namespace: string, service: string): Promise<number> {
  const result = await kubectl(['get', 'endpointslices', '-n', namespace, '-l', `kubernetes.io/service-name=${service}`, '-o', 'json']);
  if (result.code !== 0) return -1;
  const list = JSON.parse(result.stdout) as { items: Array<{ endpoints?: Array<{ conditions?: { ready?: boolean } }> | null }> };
  return list.items.flatMap((slice) => slice.endpoints ?? []).filter((endpoint) => endpoint.conditions?.ready !== false).length;
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
  if (env) await Promise.all([stopProcess(env.levee), stopProcess(env.probe)]);
  // The test cluster is this run's alone: take it down whole (its webhooks go with it).
  if (testCluster) await (await clusterScripts()).clusterDown({ dir: testCluster.dir, quiet: true });
});

/** The admission decisions the e2e levee has made: levee_decisions_total summed over outcomes (and routes, unless one is named). */
export async function leveeDecisions(route?: 'validate' | 'mutate'): Promise<number> {
  const env = await e2e();
  const answer = await call(env.port, env.ca, { method: 'GET', path: '/metrics' });
  if (answer.status !== 200) throw new Error(`levee's /metrics answered ${answer.status}`);
  return answer.text
    .split('\n')
    .filter((line) => line.startsWith('levee_decisions_total{') && (route === undefined || line.includes(`route="${route}"`)))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}
