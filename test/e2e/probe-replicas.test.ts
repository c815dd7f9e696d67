import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { e2e, e2ePort, eventually, killLevee, kubectl, restartLevee, type E2eEnvironment } from '../support/e2e.js';
import { startLevee, stopProcess, webhookScripts, type LeveeProcesses } from '../support/levee-processes.js';

/**
 * Two levee replicas (serve + probe each, as two pods of the Deployment run them) gate on one
 * verdict. Only the elected probe runs the workload lifecycle; the replica that does not lead
 * is given no lifecycle probe at all here, so its own verdict file stays Healthy while the
 * nodes are cordoned and nothing can be scheduled. A Deployment is refused through either
 * replica all the same: each serve takes the leader's published ProbeVerdict into account.
 * The webhook is registered at one replica, then at the other (the API server keeps its
 * connections to a Service's backends, so a shared registration would not say which replica
 * answered).
 */

const WEBHOOK = 'levee-e2e-replicas';
const stamp = Date.now().toString(36);
const namespace = `replicas-${stamp}`;
const lease = `levee-probe-replicas-${stamp}`;
const dir = join(process.cwd(), '.levee', 'e2e', `replicas-${stamp}`);

interface Replica extends LeveeProcesses {
  name: string;
  identity: string;
}

interface Published {
  verdict?: string;
  reporter?: string;
  failing?: string;
}

async function published(): Promise<Published> {
  const result = await kubectl(['get', 'probeverdicts', 'cluster', '-o', 'jsonpath={.status}']);
  return result.code === 0 && result.stdout ? (JSON.parse(result.stdout) as Published) : {};
}

function fileVerdict(replica: Replica): { verdict: string; leader: boolean; probes: Array<{ probe: string }> } | undefined {
  if (!existsSync(replica.verdictFile)) return undefined;
  try {
    return JSON.parse(readFileSync(replica.verdictFile, 'utf8')) as { verdict: string; leader: boolean; probes: Array<{ probe: string }> };
  } catch {
    return undefined;
  }
}

describe('e2e: two levee replicas refuse the same rollout (one verdict for all replicas)', function () {
  this.timeout(300_000);
  let env: E2eEnvironment;
  const replicas: Replica[] = [];
  let nodes: string[] = [];

  async function startReplica(name: string, offset: number, probe: Record<string, unknown>): Promise<Replica> {
    const replicaDir = join(dir, name);
    mkdirSync(replicaDir, { recursive: true });
    // Both replicas serve with the same certificate, as two pods mounting one Secret.
    if (replicas[0]) cpSync(replicas[0].certs, join(replicaDir, 'certs'), { recursive: true });
    const processes = await startLevee({
      kubeconfig: env.cluster.kubeconfig,
      dir: replicaDir,
      port: e2ePort(offset),
      probePort: e2ePort(offset + 1),
      webhookName: WEBHOOK,
      clientCA: env.cluster.webhookClientCA,
      clientName: env.cluster.webhookClientName,
      probe: { intervalSeconds: 3, failuresToUnhealthy: 2, successesToHealthy: 2, lifecycleTimeoutSeconds: 8, timeoutSeconds: 6, lease: { name: lease, durationSeconds: 6 }, ...probe },
    });
    const replica = { ...processes, name, identity: `${hostname()}-${processes.probe.pid}` };
    replicas.push(replica);
    return replica;
  }

  async function registerAt(replica: Replica): Promise<void> {
    (await webhookScripts()).registerDevWebhooks({ kubeconfig: env.cluster.kubeconfig, port: replica.port, caBundle: replica.caBundle, name: WEBHOOK });
  }

  before(async function () {
    this.timeout(1_800_000);
    env = await e2e();
    rmSync(dir, { recursive: true, force: true });
    // The harness's own levee steps aside: its registration would answer for the cluster too.
    await killLevee('SIGTERM');
    (await webhookScripts()).unregisterDevWebhooks({ kubeconfig: env.cluster.kubeconfig, name: 'levee-e2e' });
    assert.equal((await kubectl(['create', 'namespace', namespace])).code, 0);
    const listed = await kubectl(['get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}']);
    nodes = listed.stdout.split(/\s+/).filter(Boolean);
    assert.ok(nodes.length > 0, 'the test cluster has nodes');
    for (const node of nodes) assert.equal((await kubectl(['cordon', node])).code, 0);

    const leader = await startReplica('a', 60, {});
    await eventually('replica a to lead and publish Unhealthy for the lifecycle', async () => {
      const status = await published();
      if (status.reporter !== leader.identity) return `ProbeVerdict published by ${status.reporter ?? 'nobody'}`;
      return (status.verdict === 'Unhealthy' && (status.failing ?? '').includes('workload-lifecycle')) || `verdict ${status.verdict} (failing ${status.failing})`;
    }, 120_000);
    const follower = await startReplica('b', 62, { disabled: ['workload-lifecycle'] });
    await eventually("replica b's own probe to report, not leading", async () => {
      const own = fileVerdict(follower);
      return (own !== undefined && own.leader === false) || 'no verdict file yet';
    }, 60_000);
  });

  after(async function () {
    this.timeout(120_000);
    for (const replica of replicas) await Promise.all([stopProcess(replica.levee), stopProcess(replica.probe)]);
    (await webhookScripts()).unregisterDevWebhooks({ kubeconfig: env.cluster.kubeconfig, name: WEBHOOK });
    for (const node of nodes) await kubectl(['uncordon', node]);
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
    await kubectl(['delete', 'lease', lease, '-n', 'levee-system', '--ignore-not-found']);
    await restartLevee();
  });

  it('refuses a new Deployment through either replica, the one whose own probe sees nothing wrong included', async () => {
    const follower = replicas[1]!;
    const own = fileVerdict(follower)!;
    assert.notEqual(own.verdict, 'Unhealthy', "replica b's own probe has no lifecycle probe and finds nothing critical");
    assert.ok(!own.probes.some((probe) => probe.probe === 'workload-lifecycle'));
    for (const replica of replicas) {
      await registerAt(replica);
      const created = await kubectl(['create', 'deployment', `web-${replica.name}`, '--image=registry.example/web:1', '-n', namespace]);
      assert.notEqual(created.code, 0, `replica ${replica.name} let the Deployment through: ${created.stdout}`);
      assert.match(created.stderr, /Unhealthy/);
      assert.match(created.stderr, /workload-lifecycle/);
    }
  });

  it('lets it through either replica once pods can be scheduled again', async () => {
    for (const node of nodes) assert.equal((await kubectl(['uncordon', node])).code, 0);
    await eventually('the published verdict to read Healthy', async () => {
      const status = await published();
      return status.verdict === 'Healthy' || `verdict ${status.verdict} (failing ${status.failing})`;
    }, 120_000);
    for (const replica of replicas) {
      await registerAt(replica);
      // Each replica also gates on its own probe's file, which turns Healthy on its own schedule.
      await eventually(`replica ${replica.name} to let rollouts through`, async () => {
        const tried = await kubectl(['create', 'deployment', `web-${replica.name}`, '--image=registry.example/web:1', '-n', namespace, '--dry-run=server']);
        return tried.code === 0 || tried.stderr;
      }, 120_000);
      const created = await kubectl(['create', 'deployment', `web-${replica.name}`, '--image=registry.example/web:1', '-n', namespace]);
      assert.equal(created.code, 0, `replica ${replica.name}: ${created.stderr}`);
    }
  });
});
