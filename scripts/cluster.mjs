#!/usr/bin/env node
// levee's local cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// kwok (fake nodes and pod status) as plain processes on 127.0.0.1, all state under
// .levee/cluster/.
//
//   node scripts/cluster.mjs up     start whatever is not running, wait until the cluster
//                                   is usable; the last stdout line is `export KUBECONFIG=...`
//   node scripts/cluster.mjs down   stop what `up` started and delete .levee/cluster/
//
// Layout of .levee/cluster/:
//   kubeconfig, user.kubeconfig        admin (system:masters) and `developer` (group developers)
//   <component>.pid, <component>.log   one per component in COMPONENTS
//   <component>.kubeconfig             credentials of controller-manager, scheduler and kwok
//   pki/                               CA, serving and client certificates, service-account keys
//   etcd-data/                         etcd's data directory
//   up.lock                            held while an `up` runs; a concurrent `up` waits for it
//
// Ports (LEVEE_CLUSTER_PORT_BASE, default 16000, shifts them all): kube-apiserver 16443,
// kube-controller-manager 16257, kube-scheduler 16259, kwok 16250, etcd 23790 (peer 23800).
// Node count, mix and kubelet versions: see scripts/cluster/nodes.mjs.
//
// Also usable from code: `clusterUp(options)` and `clusterDown()` resolve to
// { kubeconfig, userKubeconfig, dir, apiServerUrl }.
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { apiClient, probe } from './cluster/api.mjs';
import { MANAGED_ANNOTATION, MANAGED_VALUE, nodeManifests, nodeSettings } from './cluster/nodes.mjs';
import { ensurePki } from './cluster/pki.mjs';

const scriptsDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(scriptsDir, '..');
const KWOK_STAGES = join(scriptsDir, 'cluster', 'kwok-stages.yaml');

/** Component names: each one's pid file, log file and the name on its command line. */
export const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'];

const SERVICE_CIDR = '10.96.0.0/16';
// Pods on nodes without a podCIDR (nodes made by hand) get IPs from here; the nodes `up`
// creates carry their own 10.244.N.0/24.
const FALLBACK_POD_CIDR = '10.254.0.0/16';
const DEVELOPER_BINDING = 'levee-developers-edit';
const KWOK_NODE_LEASE_SECONDS = 20;

const TIMEOUTS = {
  etcd: 30_000,
  apiserver: 120_000,
  serviceAccount: 60_000,
  leaderLease: 60_000,
  kwok: 30_000,
  nodes: 90_000,
};

/** An error from one component, carrying the tail of its log. */
export class ClusterError extends Error {
  constructor(component, message, logFile, { exited = false } = {}) {
    const logTail = logFile ? tail(logFile, 20) : '';
    super(
      `levee: ${component}: ${message}` +
        (logFile ? `\n--- last lines of ${logFile} ---\n${logTail || '(empty)'}\n---` : ''),
    );
    this.name = 'ClusterError';
    this.component = component;
    this.logFile = logFile;
    this.logTail = logTail;
    /** Whether the component's process exited (rather than timing out). */
    this.exited = exited;
  }
}

function tail(file, lines) {
  try {
    const text = readFileSync(file, 'utf8').replace(/\n+$/, '');
    return text.split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** The ports the cluster listens on. */
export function clusterPorts(env = process.env) {
  const raw = env.LEVEE_CLUSTER_PORT_BASE;
  const base = raw === undefined || raw === '' ? 16000 : Number(raw);
  if (!Number.isInteger(base) || base < 1024 || base + 7800 > 65535) {
    throw new Error(`levee: LEVEE_CLUSTER_PORT_BASE must be a whole number from 1024 to 57735, got ${JSON.stringify(raw)}`);
  }
  return {
    base,
    apiserver: base + 443,
    controllerManager: base + 257,
    scheduler: base + 259,
    kwok: base + 250,
    etcdClient: base + 7790,
    etcdPeer: base + 7800,
  };
}

/** Where everything lives. */
export function clusterPaths(root = repoRoot) {
  const dir = join(root, '.levee', 'cluster');
  return {
    root,
    dir,
    pki: join(dir, 'pki'),
    etcdData: join(dir, 'etcd-data'),
    kubeconfig: join(dir, 'kubeconfig'),
    userKubeconfig: join(dir, 'user.kubeconfig'),
    componentKubeconfig: (name) => join(dir, `${name}.kubeconfig`),
    pidFile: (name) => join(dir, `${name}.pid`),
    logFile: (name) => join(dir, `${name}.log`),
  };
}

function summary(paths, ports) {
  return {
    kubeconfig: paths.kubeconfig,
    userKubeconfig: paths.userKubeconfig,
    dir: paths.dir,
    apiServerUrl: `https://127.0.0.1:${ports.apiserver}`,
  };
}

function makeLogger(options) {
  if (options.log === false || options.quiet) return () => {};
  if (typeof options.log === 'function') return options.log;
  return (line) => process.stderr.write(`levee: ${line}\n`);
}

// ---------------------------------------------------------------------------------------
// Processes

function processArgv(pid) {
  try {
    const parts = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (parts.at(-1) === '') parts.pop();
    return parts.length ? parts : null; // a zombie has an empty cmdline
  } catch (error) {
    if (existsSync('/proc/self')) return null;
    // No procfs (macOS): ask ps; arguments are split on spaces, which is enough here.
    const ps = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
    const line = ps.status === 0 ? ps.stdout.trim() : '';
    return line ? line.split(/\s+/) : null;
  }
}

/** Whether `pid` is this cluster's `name`: named so on its command line and using `dir`. */
function isComponentProcess(pid, name, dir) {
  const argv = processArgv(pid);
  if (!argv) return false;
  const named = basename(argv[0]) === name || argv[1] === name;
  return named && argv.some((arg) => arg.includes(dir));
}

function readPid(file) {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** The pid of the running component, or null. */
function runningPid(paths, name) {
  const pid = readPid(paths.pidFile(name));
  return pid !== null && isComponentProcess(pid, name, paths.dir) ? pid : null;
}

async function startProcess(paths, name, bin, args) {
  const logFile = paths.logFile(name);
  const fd = openSync(logFile, 'a');
  let child;
  try {
    writeSync(fd, `\n==== levee: starting ${name} at ${new Date().toISOString()} ====\n`);
    child = spawn(bin, args, { cwd: paths.dir, detached: true, stdio: ['ignore', fd, fd] });
    await new Promise((resolveSpawn, rejectSpawn) => {
      child.once('spawn', resolveSpawn);
      child.once('error', rejectSpawn);
    });
  } catch (error) {
    throw new ClusterError(name, `cannot start ${bin}: ${error.message}`, logFile);
  } finally {
    closeSync(fd);
  }
  child.unref();
  writeFileSync(paths.pidFile(name), `${child.pid}\n`);
  return child.pid;
}

// ---------------------------------------------------------------------------------------
// Configuration

function buildTools() {
  const script = join(repoRoot, 'tools', 'build.sh');
  const tools = ['kube', 'etcd', 'kwok'];
  const result = spawnSync('bash', [script, ...tools], {
    cwd: repoRoot,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (result.error) throw new Error(`levee: cannot run ${script}: ${result.error.message}`);
  const lines = result.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  if (result.status !== 0 || lines.length !== tools.length) {
    throw new Error(`levee: ${script} ${tools.join(' ')} failed (exit ${result.status})`);
  }
  return Object.fromEntries(tools.map((tool, i) => [tool, lines[i]]));
}

function kubeconfigYaml({ server, caCert, cert, key, user, context, namespace = 'default' }) {
  const b64 = (file) => readFileSync(file).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: levee
  cluster:
    server: ${server}
    certificate-authority-data: ${b64(caCert)}
users:
- name: ${user}
  user:
    client-certificate-data: ${b64(cert)}
    client-key-data: ${b64(key)}
contexts:
- name: ${context}
  context:
    cluster: levee
    user: ${user}
    namespace: ${namespace}
current-context: ${context}
preferences: {}
`;
}

function writeIfChanged(file, content, mode = 0o600) {
  try {
    if (readFileSync(file, 'utf8') === content) return;
  } catch {
    // missing: write it
  }
  writeFileSync(file, content, { mode });
}

function writeKubeconfigs(paths, pki, server) {
  const file = (name) => ({ cert: pki.cert(name), key: pki.key(name), caCert: pki.caCert, server });
  writeIfChanged(paths.kubeconfig, kubeconfigYaml({ ...file('admin'), user: 'levee-admin', context: 'levee' }));
  writeIfChanged(
    paths.userKubeconfig,
    kubeconfigYaml({ ...file('developer'), user: 'developer', context: 'levee-developer' }),
  );
  for (const name of ['kube-controller-manager', 'kube-scheduler', 'kwok']) {
    writeIfChanged(paths.componentKubeconfig(name), kubeconfigYaml({ ...file(name), user: name, context: name }));
  }
}

function componentCommands(paths, pki, ports, bins) {
  const kcm = paths.componentKubeconfig('kube-controller-manager');
  const scheduler = paths.componentKubeconfig('kube-scheduler');
  const etcdUrl = (port) => `http://127.0.0.1:${port}`;
  return {
    etcd: {
      bin: bins.etcd,
      args: [
        '--name=levee',
        `--data-dir=${paths.etcdData}`,
        `--listen-client-urls=${etcdUrl(ports.etcdClient)}`,
        `--advertise-client-urls=${etcdUrl(ports.etcdClient)}`,
        `--listen-peer-urls=${etcdUrl(ports.etcdPeer)}`,
        `--initial-advertise-peer-urls=${etcdUrl(ports.etcdPeer)}`,
        `--initial-cluster=levee=${etcdUrl(ports.etcdPeer)}`,
        '--initial-cluster-state=new',
        // A throwaway development cluster: durability is not worth an fsync per write.
        '--unsafe-no-fsync=true',
        '--quota-backend-bytes=2147483648',
      ],
    },
    'kube-apiserver': {
      bin: bins.kube,
      args: [
        'kube-apiserver',
        `--etcd-servers=${etcdUrl(ports.etcdClient)}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        // The `kubernetes` Service keeps no endpoints: Endpoints may not hold a loopback
        // address, and nothing in this cluster runs in a pod that could reach it anyway.
        '--endpoint-reconciler-type=none',
        `--secure-port=${ports.apiserver}`,
        `--tls-cert-file=${pki.cert('kube-apiserver')}`,
        `--tls-private-key-file=${pki.key('kube-apiserver')}`,
        `--client-ca-file=${pki.caCert}`,
        '--authorization-mode=Node,RBAC',
        '--enable-admission-plugins=NodeRestriction',
        '--allow-privileged=true',
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki.saPub}`,
        `--service-account-signing-key-file=${pki.saKey}`,
        // Front-proxy settings, published in kube-system/extension-apiserver-authentication,
        // where the controller-manager and the scheduler look for them.
        `--requestheader-client-ca-file=${pki.caCert}`,
        '--requestheader-allowed-names=front-proxy-client',
        '--requestheader-username-headers=X-Remote-User',
        '--requestheader-group-headers=X-Remote-Group',
        '--requestheader-extra-headers-prefix=X-Remote-Extra-',
        `--proxy-client-cert-file=${pki.cert('front-proxy-client')}`,
        `--proxy-client-key-file=${pki.key('front-proxy-client')}`,
        // On SIGTERM, finish in-flight requests, then give open watches 2 s instead of
        // --request-timeout (60 s) before exiting.
        '--shutdown-send-retry-after=true',
        '--profiling=false',
      ],
    },
    'kube-controller-manager': {
      bin: bins.kube,
      args: [
        'kube-controller-manager',
        `--kubeconfig=${kcm}`,
        `--authentication-kubeconfig=${kcm}`,
        `--authorization-kubeconfig=${kcm}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.controllerManager}`,
        '--leader-elect=true',
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${pki.saKey}`,
        `--root-ca-file=${pki.caCert}`,
        `--cluster-signing-cert-file=${pki.caCert}`,
        `--cluster-signing-key-file=${pki.caKey}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--cluster-name=levee',
        // Notice a stopped kwok (no node Lease renewals) within about half a minute.
        '--node-monitor-period=2s',
        '--node-monitor-grace-period=30s',
        '--profiling=false',
      ],
    },
    'kube-scheduler': {
      bin: bins.kube,
      args: [
        'kube-scheduler',
        `--kubeconfig=${scheduler}`,
        `--authentication-kubeconfig=${scheduler}`,
        `--authorization-kubeconfig=${scheduler}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.scheduler}`,
        '--leader-elect=true',
        '--profiling=false',
      ],
    },
    kwok: {
      bin: bins.kwok,
      args: [
        `--kubeconfig=${paths.componentKubeconfig('kwok')}`,
        `--config=${KWOK_STAGES}`,
        `--manage-nodes-with-annotation-selector=${MANAGED_ANNOTATION}=${MANAGED_VALUE}`,
        `--cidr=${FALLBACK_POD_CIDR}`,
        `--node-lease-duration-seconds=${KWOK_NODE_LEASE_SECONDS}`,
        `--server-address=127.0.0.1:${ports.kwok}`,
        // INFO logs every node Lease renewal.
        '--v=WARN',
      ],
    },
  };
}

// ---------------------------------------------------------------------------------------
// Waiting

async function waitUntil({ paths, component, what, timeoutMs, pid, check }) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const done = await check();
      if (done) return done;
    } catch (error) {
      last = error.message;
    }
    if (pid && !isComponentProcess(pid, component, paths.dir)) {
      throw new ClusterError(component, `exited while ${what}`, paths.logFile(component), { exited: true });
    }
    if (Date.now() > deadline) {
      throw new ClusterError(
        component,
        `timed out after ${Math.round(timeoutMs / 1000)}s ${what}${last ? ` (last: ${last})` : ''}`,
        paths.logFile(component),
      );
    }
    await sleep(200);
  }
}

function nodeProblems(node) {
  const ready = (node.status?.conditions ?? []).find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') return `${node.metadata.name} not Ready`;
  const taint = (node.spec?.taints ?? []).find((t) => t.key.startsWith('node.kubernetes.io/'));
  if (taint) return `${node.metadata.name} has taint ${taint.key}`;
  return '';
}

// ---------------------------------------------------------------------------------------
// up / down

/**
 * Starts whatever part of the cluster is not running and waits until it is usable:
 * API server ready, controller-manager serving (the `default` ServiceAccount exists),
 * every node Ready without node.kubernetes.io taints.
 *
 * @param {{
 *   log?: false | ((line: string) => void), quiet?: boolean,
 *   onDemand?: number, spot?: number, kubeletVersion?: string,
 *   skewed?: number, skewedKubeletVersion?: string,
 * }} [options]
 * @returns {Promise<{kubeconfig: string, userKubeconfig: string, dir: string, apiServerUrl: string}>}
 */
export async function clusterUp(options = {}) {
  const started = Date.now();
  const log = makeLogger(options);
  const paths = clusterPaths();
  const settings = nodeSettings(options);
  const bins = buildTools();
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  return withUpLock(paths, log, () => up({ paths, settings, bins, log, started }));
}

// One `up` at a time (say `npm start` and the e2e harness together): a second one waits
// for the first, then finds everything running.
async function withUpLock(paths, log, fn) {
  const file = join(paths.dir, 'up.lock');
  const deadline = Date.now() + 300_000;
  let waiting = false;
  for (;;) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    const holder = readPid(file);
    let stale;
    try {
      stale = holder === null ? Date.now() - statSync(file).mtimeMs > 5_000 : !processExists(holder);
    } catch {
      stale = false; // removed meanwhile: try again
    }
    if (stale) {
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`levee: another cluster:up (pid ${holder}) has held ${file} for 5 minutes`);
    if (!waiting) log(`waiting for another cluster:up (pid ${holder}) to finish...`);
    waiting = true;
    await sleep(250);
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

function processExists(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

async function up({ paths, settings, bins, log, started }) {
  const ports = clusterPorts();
  const result = summary(paths, ports);

  const pki = ensurePki(paths.pki);
  if (pki.made.length) log(`generated certificates: ${pki.made.join(', ')}`);
  writeKubeconfigs(paths, pki, result.apiServerUrl);
  const commands = componentCommands(paths, pki, ports, bins);

  const api = apiClient({
    server: result.apiServerUrl,
    ca: readFileSync(pki.caCert),
    cert: readFileSync(pki.cert('admin')),
    key: readFileSync(pki.key('admin')),
  });

  const startedNow = new Map(); // component -> { pid, at }, for those this call started
  const pids = new Map(); // component -> pid
  const ensure = async (name) => {
    const pid = runningPid(paths, name);
    if (pid) {
      log(`${name} already running (pid ${pid})`);
      pids.set(name, pid);
      return pid;
    }
    if (name === 'kube-controller-manager' || name === 'kube-scheduler') await dropStaleLeaderLease(api, name, log);
    log(`starting ${name}...`);
    const at = Date.now();
    const newPid = await startProcess(paths, name, commands[name].bin, commands[name].args);
    startedNow.set(name, { pid: newPid, at });
    pids.set(name, newPid);
    return newPid;
  };
  // Waits for `name` to pass `check`. A process found running that exits meanwhile (one
  // stopped just before `up`, still shutting down) is started again, once.
  const waitFor = async (name, what, timeoutMs, check) => {
    const pid = pids.get(name);
    try {
      await waitUntil({ paths, component: name, what, timeoutMs, pid, check });
    } catch (error) {
      if (!(error instanceof ClusterError) || !error.exited || startedNow.has(name)) throw error;
      log(`${name} (pid ${pid}) exited; starting it again...`);
      const again = await ensure(name);
      await waitUntil({ paths, component: name, what, timeoutMs, pid: again, check });
    }
  };

  try {
    await ensure('etcd');
    if (startedNow.has('etcd')) log('waiting for etcd /health...');
    await waitFor('etcd', 'waiting for /health', TIMEOUTS.etcd, async () => {
      const res = await probe(`http://127.0.0.1:${ports.etcdClient}/health`);
      if (res.status === 200 && /"health":\s*"true"/.test(res.text)) return true;
      throw new Error(`HTTP ${res.status} ${res.text.trim().slice(0, 200)}`);
    });

    await ensure('kube-apiserver');
    log('waiting for kube-apiserver /readyz...');
    await waitFor('kube-apiserver', 'waiting for /readyz', TIMEOUTS.apiserver, async () => {
      const res = await api.request('GET', '/readyz', undefined, 2000);
      if (res.status === 200) return true;
      const failing = res.text.split('\n').filter((l) => l.startsWith('[-]')).join(', ');
      throw new Error(`HTTP ${res.status}${failing ? ` ${failing}` : ''}`);
    });

    await checkServerVersion(api, log);
    await ensureDeveloperBinding(api, log);

    for (const name of ['kube-controller-manager', 'kube-scheduler', 'kwok']) await ensure(name);

    await ensureNodes(api, nodeManifests(settings), log);

    log('waiting for kube-controller-manager (default ServiceAccount)...');
    await waitFor(
      'kube-controller-manager',
      'waiting for the default ServiceAccount in namespace default',
      TIMEOUTS.serviceAccount,
      async () => {
        const res = await api.get('/api/v1/namespaces/default/serviceaccounts/default');
        if (res.status === 200) return true;
        throw new Error(`HTTP ${res.status}`);
      },
    );

    // Return with a freshly started controller-manager and scheduler leading.
    for (const name of ['kube-controller-manager', 'kube-scheduler']) {
      if (!startedNow.has(name)) continue;
      log(`waiting for ${name} to hold its leader Lease...`);
      await waitFor(name, `waiting for Lease kube-system/${name} to be renewed`, TIMEOUTS.leaderLease, async () => {
        const res = await api.get(`/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${name}`);
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
        const renewed = Date.parse(res.body?.spec?.renewTime ?? '');
        if (res.body?.spec?.holderIdentity && renewed >= startedNow.get(name).at) return true;
        throw new Error(`held by ${res.body?.spec?.holderIdentity}, renewed ${res.body?.spec?.renewTime}`);
      });
    }

    if (startedNow.has('kwok')) log('waiting for kwok /healthz...');
    await waitFor('kwok', 'waiting for /healthz', TIMEOUTS.kwok, async () => {
      const res = await probe(`http://127.0.0.1:${ports.kwok}/healthz`);
      if (res.status === 200) return true;
      throw new Error(`HTTP ${res.status}`);
    });

    const names = nodeManifests(settings).map((n) => n.metadata.name);
    log(`waiting for ${names.length} nodes to be Ready...`);
    await waitFor('kwok', 'waiting for nodes to be Ready', TIMEOUTS.nodes, async () => {
      const res = await api.get('/api/v1/nodes');
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      const byName = new Map(res.body.items.map((n) => [n.metadata.name, n]));
      const problems = names.map((n) => (byName.has(n) ? nodeProblems(byName.get(n)) : `${n} missing`));
      const remaining = problems.filter(Boolean);
      if (remaining.length === 0) return true;
      throw new Error(remaining.slice(0, 3).join('; ') + (remaining.length > 3 ? `; ${remaining.length - 3} more` : ''));
    });
  } finally {
    api.close();
  }

  log(`cluster ready in ${((Date.now() - started) / 1000).toFixed(1)}s (${result.apiServerUrl})`);
  return result;
}

// `name` is not running, so whoever holds its leader Lease is gone; a new instance would
// wait out the rest of that Lease (up to 15 s) before working. Delete it instead, unless it
// changes in the meantime (the precondition), which would mean a live holder after all.
async function dropStaleLeaderLease(api, name, log) {
  const path = `/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${name}`;
  const lease = await api.get(path);
  const holder = lease.body?.spec?.holderIdentity;
  if (lease.status !== 200 || !holder) return;
  const res = await api.request('DELETE', path, {
    apiVersion: 'v1',
    kind: 'DeleteOptions',
    preconditions: { resourceVersion: lease.body.metadata.resourceVersion },
  });
  if (res.status === 200) log(`removed the leader Lease kube-system/${name} left by ${holder}`);
}

// Version-skew checks compare kubelet versions against the API server's gitVersion, which
// is only meaningful when the binary was built with Kubernetes' version ldflags.
async function checkServerVersion(api, log) {
  const res = await api.get('/version');
  const gitVersion = res.body?.gitVersion ?? '';
  if (res.status === 200 && !/^v[1-9]\d*\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(gitVersion)) {
    log(
      `warning: kube-apiserver reports gitVersion ${JSON.stringify(gitVersion)}, not a release version; ` +
        'build tools/kube with -X k8s.io/component-base/version.gitVersion=... (and gitMajor, gitMinor)',
    );
  }
}

async function ensureDeveloperBinding(api, log) {
  const path = '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings';
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: DEVELOPER_BINDING, labels: { 'app.kubernetes.io/managed-by': 'levee-cluster' } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'developers' }],
  };
  const existing = await api.get(`${path}/${DEVELOPER_BINDING}`);
  if (existing.status === 200) {
    const key = (subjects) => (subjects ?? []).map((x) => `${x.kind}/${x.apiGroup ?? ''}/${x.name}`).sort().join(',');
    const same = key(existing.body.subjects) === key(binding.subjects);
    if (same && existing.body.roleRef?.name === 'edit') return;
    if (existing.body.roleRef?.name === 'edit') {
      const res = await api.put(`${path}/${DEVELOPER_BINDING}`, {
        ...binding,
        metadata: { ...binding.metadata, resourceVersion: existing.body.metadata.resourceVersion },
      });
      if (res.status !== 200) throw new ClusterError('kube-apiserver', `updating ClusterRoleBinding ${DEVELOPER_BINDING}: HTTP ${res.status} ${res.text}`);
      log(`updated ClusterRoleBinding ${DEVELOPER_BINDING}`);
      return;
    }
    // roleRef is immutable: replace the binding.
    await api.request('DELETE', `${path}/${DEVELOPER_BINDING}`);
  } else if (existing.status !== 404) {
    throw new ClusterError('kube-apiserver', `reading ClusterRoleBinding ${DEVELOPER_BINDING}: HTTP ${existing.status} ${existing.text}`);
  }
  const res = await api.post(path, binding);
  if (res.status !== 201 && res.status !== 409) {
    throw new ClusterError('kube-apiserver', `creating ClusterRoleBinding ${DEVELOPER_BINDING}: HTTP ${res.status} ${res.text}`);
  }
  log(`created ClusterRoleBinding ${DEVELOPER_BINDING} (group developers -> ClusterRole edit)`);
}

async function ensureNodes(api, manifests, log) {
  const list = await api.get('/api/v1/nodes');
  if (list.status !== 200) throw new ClusterError('kube-apiserver', `listing nodes: HTTP ${list.status} ${list.text}`);
  const existing = new Set(list.body.items.map((n) => n.metadata.name));
  const missing = manifests.filter((m) => !existing.has(m.metadata.name));
  if (missing.length === 0) return;
  log(`creating ${missing.length} nodes: ${missing.map((m) => m.metadata.name).join(', ')}`);
  await Promise.all(
    missing.map(async (manifest) => {
      const res = await api.post('/api/v1/nodes', manifest);
      if (res.status !== 201 && res.status !== 409) {
        throw new ClusterError('kube-apiserver', `creating node ${manifest.metadata.name}: HTTP ${res.status} ${res.text}`);
      }
    }),
  );
}

/**
 * Stops the processes `up` started (by their pid files, after checking each command line
 * names the component), then deletes .levee/cluster/.
 * @param {{log?: false | ((line: string) => void), quiet?: boolean}} [options]
 * @returns {Promise<{kubeconfig: string, userKubeconfig: string, dir: string, apiServerUrl: string, stopped: {name: string, pid: number}[]}>}
 */
export async function clusterDown(options = {}) {
  const log = makeLogger(options);
  const paths = clusterPaths();
  const ports = clusterPorts();
  const result = { ...summary(paths, ports), stopped: [] };
  if (!existsSync(paths.dir)) {
    log('cluster is not running (no .levee/cluster)');
    return result;
  }

  const targets = [];
  for (const name of [...COMPONENTS].reverse()) {
    const pid = runningPid(paths, name);
    if (pid === null) continue;
    try {
      process.kill(pid, 'SIGTERM');
      targets.push({ name, pid });
    } catch (error) {
      if (error.code !== 'ESRCH') throw error;
    }
  }
  const alive = () => targets.filter((t) => isComponentProcess(t.pid, t.name, paths.dir));
  const deadline = Date.now() + 10_000;
  while (alive().length && Date.now() < deadline) await sleep(100);
  for (const t of alive()) {
    log(`${t.name} (pid ${t.pid}) ignored SIGTERM for 10s; sending SIGKILL`);
    try {
      process.kill(t.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const killDeadline = Date.now() + 5_000;
  while (alive().length && Date.now() < killDeadline) await sleep(100);

  for (const t of targets) log(`stopped ${t.name} (pid ${t.pid})`);
  if (targets.length === 0) log('no cluster processes were running');
  for (const t of alive()) log(`warning: ${t.name} (pid ${t.pid}) is still running`);
  result.stopped = targets;

  for (const name of COMPONENTS) rmSync(paths.pidFile(name), { force: true });
  rmSync(paths.dir, { recursive: true, force: true });
  log(`removed ${paths.dir}`);
  return result;
}

// ---------------------------------------------------------------------------------------
// CLI

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

async function main(args) {
  const command = args[0];
  if (command === 'up') {
    const { kubeconfig } = await clusterUp();
    process.stdout.write(`export KUBECONFIG=${kubeconfig}\n`);
  } else if (command === 'down') {
    await clusterDown();
  } else {
    process.stderr.write('usage: node scripts/cluster.mjs up|down\n');
    process.exitCode = 2;
  }
}

if (isMain()) {
  main(process.argv.slice(2)).catch((error) => {
    process.stderr.write(`${error instanceof ClusterError ? error.message : error.stack ?? error}\n`);
    process.exit(1);
  });
}
