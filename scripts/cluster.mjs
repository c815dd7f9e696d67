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
//
// The work is done in scripts/cluster/, one module a job: layout (paths and ports),
// components (binaries and command lines), processes (pid files, command-line checks),
// pki, kubeconfigs, objects (what `up` creates in the API server), nodes, wait, up, down.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { clusterUp } from './cluster/up.mjs';
import { clusterDown } from './cluster/down.mjs';
import { ClusterError } from './cluster/report.mjs';

export { COMPONENTS } from './cluster/components.mjs';
export { clusterPaths, clusterPorts } from './cluster/layout.mjs';
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
