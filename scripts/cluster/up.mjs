// `up`: start whatever part of the cluster is not running, one `up` at a time, and wait
// until the cluster is usable.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiClient, probe } from './api.mjs';
import { writeAdmissionConfig } from './admission.mjs';
import { buildTools, COMPONENTS, componentCommands } from './components.mjs';
import { writeKubeconfigs } from './kubeconfigs.mjs';
import { clusterPaths, clusterPorts, recordedPorts, recordPorts, summary } from './layout.mjs';
import { nodeManifests, nodeSettings } from './nodes.mjs';
import { checkServerVersion, dnsReadyEndpoints, dropStaleLeaderLease, ensureClusterDns, ensureDeveloperBinding, ensureNodes } from './objects.mjs';
import { ensurePki } from './pki.mjs';
import { claimPortBlock, clusterPortsInBlock } from './ports.mjs';
import { isComponentProcess, processArgv, processExists, readPid, runningPid, startProcess } from './processes.mjs';
import { ClusterError, makeLogger } from './report.mjs';
import { nodeProblems, waitUntil } from './wait.mjs';

const TIMEOUTS = {
  etcd: 30_000,
  apiserver: 120_000,
  serviceAccount: 60_000,
  leaderLease: 60_000,
  kwok: 30_000,
  nodes: 90_000,
  dns: 60_000,
};

/**
 * @typedef {{
 *   apiserver: number, controllerManager: number, scheduler: number, kwok: number,
 *   etcdClient: number, etcdPeer: number,
 * }} ClusterPortMap
 *
 * @typedef {{
 *   log?: false | ((line: string) => void), quiet?: boolean,
 *   dir?: string,
 *   ports?: ClusterPortMap | 'auto',
 *   env?: NodeJS.ProcessEnv,
 *   extraArgs?: Partial<Record<'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok', string[]>>,
 *   onDemand?: number, spot?: number, kubeletVersion?: string,
 *   skewed?: number, skewedKubeletVersion?: string,
 * }} ClusterOptions
 *
 * `dir`: the state directory (default .levee/cluster, `npm start`'s); any other directory is a
 * cluster of its own. `ports`: a port map (see layout.mjs `portsFromBase`), or 'auto' for a
 * free block claimed for `dir` (ports.mjs); default LEVEE_CLUSTER_PORT_BASE's layout. Once a
 * cluster runs, the ports recorded in its directory are the ones used. `env`: where node
 * settings and LEVEE_CLUSTER_PORT_BASE are read (default process.env; {} for the defaults
 * alone). `extraArgs`: more flags for a component's command line.
 */

/**
 * Starts whatever part of the cluster is not running and waits until it is usable:
 * API server ready, controller-manager serving (the `default` ServiceAccount exists),
 * every node Ready without node.kubernetes.io taints.
 *
 * @param {ClusterOptions} [options]
 * @returns {Promise<{kubeconfig: string, userKubeconfig: string, dir: string, apiServerUrl: string, ports: ClusterPortMap}>}
 */
export async function clusterUp(options = {}) {
  const started = Date.now();
  const log = makeLogger(options);
  const paths = clusterPaths(options.dir);
  const env = options.env ?? process.env;
  const settings = nodeSettings(options, env);
  const bins = buildTools();
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  return withUpLock(paths, log, async () => {
    const ports = await resolvePorts(paths, options, env, log);
    return up({ paths, ports, settings, bins, log, started, extraArgs: options.extraArgs ?? {} });
  });
}

// A running cluster keeps the ports it was started with; otherwise the ones asked for.
async function resolvePorts(paths, options, env, log) {
  const recorded = recordedPorts(paths);
  const running = COMPONENTS.some((name) => runningPid(paths, name) !== null);
  const wanted =
    options.ports === 'auto' ? clusterPortsInBlock(await claimPortBlock(paths.dir)) : (options.ports ?? clusterPorts(env));
  if (running && recorded) {
    const differs = Object.keys(recorded).some((name) => name !== 'base' && recorded[name] !== wanted[name]);
    if (differs && options.ports !== undefined) {
      throw new ClusterError('cluster', `the cluster in ${paths.dir} already runs with API server port ${recorded.apiserver}, not ${wanted.apiserver}; take it down first`);
    }
    if (differs) log(`the cluster in ${paths.dir} keeps the ports it runs on (API server ${recorded.apiserver})`);
    return recorded;
  }
  recordPorts(paths, wanted);
  return wanted;
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

function sameCommandLine(argv, { bin, args }) {
  return argv !== null && argv.length === args.length + 1 && argv[0] === bin && args.every((arg, i) => argv[i + 1] === arg);
}

async function stopProcess(paths, name, pid) {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  const deadline = Date.now() + 15_000;
  while (isComponentProcess(pid, name, paths.dir)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      break;
    }
    await sleep(100);
  }
}

async function up({ paths, ports, settings, bins, log, started, extraArgs }) {
  const result = summary(paths, ports);

  const pki = ensurePki(paths.pki);
  if (pki.made.length) log(`generated certificates: ${pki.made.join(', ')}`);
  writeKubeconfigs(paths, pki, result.apiServerUrl);
  writeAdmissionConfig(paths, pki);
  const commands = componentCommands(paths, pki, ports, bins, extraArgs);

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
    if (pid && sameCommandLine(processArgv(pid), commands[name])) {
      log(`${name} already running (pid ${pid})`);
      pids.set(name, pid);
      return pid;
    }
    if (pid) {
      // Started by an older `up` with other flags or another build: what runs must be what this
      // checkout asks for (say, the API server's admission configuration for levee's mTLS).
      log(`restarting ${name} (pid ${pid}): its command line has changed`);
      await stopProcess(paths, name, pid);
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
      const res = await api.request('GET', '/readyz', undefined, { timeoutMs: 2000 });
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

    await ensureClusterDns(api, log);
    await waitFor('kube-controller-manager', 'waiting for ready endpoints of Service kube-system/kube-dns', TIMEOUTS.dns, async () => {
      const ready = await dnsReadyEndpoints(api);
      if (ready > 0) return true;
      throw new Error('no ready endpoint yet');
    });
  } finally {
    api.close();
  }

  log(`cluster ready in ${((Date.now() - started) / 1000).toFixed(1)}s (${result.apiServerUrl})`);
  return result;
}
