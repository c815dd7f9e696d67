// The cluster's components: the pinned binaries (built and cached by tools/build.sh) and the
// command line each one is started with.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './layout.mjs';
import { MANAGED_ANNOTATION, MANAGED_VALUE } from './nodes.mjs';

const KWOK_STAGES = join(repoRoot, 'scripts', 'cluster', 'kwok-stages.yaml');

/** Component names: each one's pid file, log file and the name on its command line. */
export const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'];

const SERVICE_CIDR = '10.96.0.0/16';
// Pods on nodes without a podCIDR (nodes made by hand) get IPs from here; the nodes `up`
// creates carry their own 10.244.N.0/24.
const FALLBACK_POD_CIDR = '10.254.0.0/16';
const KWOK_NODE_LEASE_SECONDS = 20;

const CLUSTER_TOOLS = ['kube', 'etcd', 'kwok'];

/**
 * The cluster's binaries, built and cached on first use; LEVEE_KUBE, LEVEE_ETCD or LEVEE_KWOK
 * points at a prebuilt one instead, as for every other tool (scripts/lib/run.mjs toolPath): the
 * end-to-end bench measures another Kubernetes version that way (LEVEE_KUBE=$(tools/build.sh kube-1.37)).
 */
export function buildTools() {
  const script = join(repoRoot, 'tools', 'build.sh');
  const prebuilt = Object.fromEntries(CLUSTER_TOOLS.map((tool) => [tool, process.env[`LEVEE_${tool.toUpperCase()}`]]).filter(([, path]) => path));
  const tools = CLUSTER_TOOLS.filter((tool) => !(tool in prebuilt));
  if (tools.length === 0) return prebuilt;
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
  return { ...prebuilt, ...Object.fromEntries(tools.map((tool, i) => [tool, lines[i]])) };
}

/** Each component's binary and arguments; `extraArgs[name]` are appended to its own. */
export function componentCommands(paths, pki, ports, bins, extraArgs = {}) {
  const commands = baseCommands(paths, pki, ports, bins);
  for (const [name, args] of Object.entries(extraArgs)) {
    if (!commands[name]) throw new Error(`levee: extraArgs names ${JSON.stringify(name)}, not a component (${COMPONENTS.join(', ')})`);
    commands[name].args.push(...args);
  }
  return commands;
}

function baseCommands(paths, pki, ports, bins) {
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
        // The client certificate it presents to webhooks (admission.mjs).
        `--admission-control-config-file=${paths.admissionConfig}`,
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
        // HPAs with minReplicas 0 (alpha since 1.16), so that tests can show the HPA
        // controller's own scale to zero, as clusters that enable it see it.
        '--feature-gates=HPAScaleToZero=true',
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
