import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { clusterScripts, importScript, type ClusterInfo } from './e2e.js';
import { startLevee, stopProcess, webhookScripts, type LeveeProcesses } from './levee-processes.js';

/**
 * Another local cluster beside the test cluster, guarded by levee as `npm start` guards the
 * developer's: its own state directory (.levee/<name>/cluster) and a block of free ports, the
 * CRDs applied, `levee serve` registered as webhooks named `levee`, `levee probe` beside it.
 */

export interface GuardedCluster extends LeveeProcesses {
  name: string;
  dir: string;
  cluster: ClusterInfo;
  /** Stops levee and the cluster; levee's logs stay in `dir` until the next start. */
  stop(): Promise<void>;
}

// Offsets within the cluster's port block of the servers on the host (as the harness's own).
const SERVE_OFFSET = 43;
const PROBE_OFFSET = 81;

export async function startGuardedCluster(name: string, probe: Record<string, unknown> = {}): Promise<GuardedCluster> {
  const repoRoot = process.cwd();
  const dir = join(repoRoot, '.levee', name);
  const clusterDir = join(dir, 'cluster');
  const scripts = await clusterScripts();
  // Left over by an interrupted run: start afresh.
  await scripts.clusterDown({ dir: clusterDir, quiet: true });
  rmSync(dir, { recursive: true, force: true });
  const cluster = await scripts.clusterUp({ dir: clusterDir, ports: 'auto', env: {}, quiet: true });
  const block = await scripts.claimPortBlock(clusterDir);
  (await importScript<{ applyCrds(options: { kubeconfig: string }): string[] }>('scripts/lib/crds.mjs')).applyCrds({ kubeconfig: cluster.kubeconfig });
  const processes = await startLevee({
    kubeconfig: cluster.kubeconfig,
    dir,
    port: block + SERVE_OFFSET,
    probePort: block + PROBE_OFFSET,
    webhookName: 'levee',
    clientCA: cluster.webhookClientCA,
    clientName: cluster.webhookClientName,
    probe,
  });
  return {
    name,
    dir,
    cluster,
    ...processes,
    async stop() {
      await Promise.all([stopProcess(processes.levee), stopProcess(processes.probe)]);
      try {
        (await webhookScripts()).unregisterDevWebhooks({ kubeconfig: cluster.kubeconfig, name: 'levee' });
      } catch {
        // the cluster may be gone already
      }
      await scripts.clusterDown({ dir: clusterDir, quiet: true });
    },
  };
}
