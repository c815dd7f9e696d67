#!/usr/bin/env node
// levee's local cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// kwok (fake nodes and pod status) as plain processes on 127.0.0.1, all state under
// .levee/cluster/.
//
//   node scripts/cluster.mjs up     start whatever is not running, wait until the cluster
//                                   is usable; the last stdout line is `export KUBECONFIG=...`
//   node scripts/cluster.mjs down   stop what `up` started and delete .levee/cluster/
//   ... up|down --test              the same for `npm test`'s own cluster (.levee/test-cluster/),
//                                   e.g. to take down one an interrupted test run left behind
//
// Layout of .levee/cluster/:
//   kubeconfig, user.kubeconfig        admin (system:masters) and `developer` (group developers)
//   <component>.pid, <component>.log   one per component in COMPONENTS
//   <component>.kubeconfig             credentials of controller-manager, scheduler and kwok
//   pki/                               CA, serving and client certificates, service-account keys
//   etcd-data/                         etcd's data directory
//   up.lock                            held while an `up` runs; a concurrent `up` waits for it
//   ports.json                         the ports the cluster was started with (kept while it runs)
//   block.json                         the block of ports it claimed, for `ports: 'auto'`
//
// Ports (LEVEE_CLUSTER_PORT_BASE, default 16000, shifts them all): kube-apiserver 16443,
// kube-controller-manager 16257, kube-scheduler 16259, kwok 16250, etcd 23790 (peer 23800).
// Node count, mix and kubelet versions: see scripts/cluster/nodes.mjs.
//
// Also usable from code: `clusterUp(options)` and `clusterDown(options)` resolve to
// { kubeconfig, userKubeconfig, dir, apiServerUrl, ports }. Another cluster beside the
// developer's, with its own state directory and ports:
//   await clusterUp({ dir: '/tmp/hub', ports: 'auto' }); ...; await clusterDown({ dir: '/tmp/hub' });
// (options in scripts/cluster/up.mjs; `testClusterOptions()` is npm test's own cluster).
//
// The work is done in scripts/cluster/, one module a job: layout (paths and ports),
// components (binaries and command lines), processes (pid files, command-line checks),
// pki, kubeconfigs, objects (what `up` creates in the API server), nodes, wait, up, down.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { clusterUp } from './cluster/up.mjs';
import { clusterDown } from './cluster/down.mjs';
import { ClusterError } from './cluster/report.mjs';
import { testClusterOptions } from './cluster/test-cluster.mjs';

export { COMPONENTS } from './cluster/components.mjs';
export { clusterPaths, clusterPathsIn, clusterPorts, DEV_CLUSTER_DIR, portsFromBase } from './cluster/layout.mjs';
export { claimPortBlock } from './cluster/ports.mjs';
export { E2E_PORT_SPAN, TEST_CLUSTER_DIR, testClusterOptions, testServerPortBase } from './cluster/test-cluster.mjs';
export { ClusterError, clusterDown, clusterUp };

function isMain() {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

async function main(args) {
  const [command, ...flags] = args;
  const unknown = flags.filter((flag) => flag !== '--test');
  const options = flags.includes('--test') ? testClusterOptions() : {};
  if (unknown.length === 0 && command === 'up') {
    const { kubeconfig } = await clusterUp(options);
    process.stdout.write(`export KUBECONFIG=${kubeconfig}\n`);
  } else if (unknown.length === 0 && command === 'down') {
    await clusterDown(options);
  } else {
    process.stderr.write('usage: node scripts/cluster.mjs up|down [--test]\n');
    process.exitCode = 2;
  }
}

if (isMain()) {
  main(process.argv.slice(2)).catch((error) => {
    process.stderr.write(`${error instanceof ClusterError ? error.message : error.stack ?? error}\n`);
    process.exit(1);
  });
}
