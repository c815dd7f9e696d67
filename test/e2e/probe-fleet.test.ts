import { KubeConfig } from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stopProcess } from '../support/levee-processes.js';
import { clusterScripts, e2e, eventually, kubectl, type ClusterInfo } from '../support/e2e.js';

/**
 * One `levee probe` over two real clusters: the test cluster (the hub, and a member) and a
 * second local cluster of its own ports and directory (member `edge`), plus a member whose
 * context the kubeconfig lacks. It publishes into the hub as the ServiceAccount levee-fleet
 * with manifests/fleet's RBAC and nothing more. Each member gets its own ProbeVerdict in the
 * hub; stopping the edge's scheduler turns only the edge Unhealthy, stopping its API server
 * only the edge Unknown. Times printed are measurements for the README, not assertions.
 */

const dir = join(process.cwd(), '.levee', 'e2e', 'probe-fleet');
const edgeDir = join(process.cwd(), '.levee', 'probe-fleet-edge', 'cluster');
const MEMBERS = { hub: 'test-cluster', edge: 'edge', missing: 'gone' } as const;

interface HubVerdict {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  status?: { verdict?: string; cluster?: string; reachable?: boolean; failing?: string; message?: string; probes?: Array<{ name: string; status: string }> };
}

/** The hub's ProbeVerdicts of this fleet, by name. */
async function hubVerdicts(): Promise<Map<string, HubVerdict>> {
  const listed = await kubectl(['get', 'probeverdicts', '-l', 'levee.dev/fleet-member', '-o', 'json']);
  assert.equal(listed.code, 0, listed.stderr);
  const items = (JSON.parse(listed.stdout) as { items: HubVerdict[] }).items;
  return new Map(items.map((item) => [item.metadata.name, item]));
}

async function waitForVerdict(name: string, accept: (verdict: string | undefined) => boolean, what: string, timeoutMs: number): Promise<HubVerdict> {
  let seen: HubVerdict | undefined;
  await eventually(`ProbeVerdict ${name} ${what}`, async () => {
    seen = (await hubVerdicts()).get(name);
    return accept(seen?.status?.verdict) || `${seen?.status?.verdict ?? 'none'} (failing ${seen?.status?.failing ?? '-'}; ${seen?.status?.message ?? ''})`;
  }, timeoutMs);
  return seen!;
}

const working = (verdict: string | undefined): boolean => verdict === 'Healthy' || verdict === 'Degraded';

/**
 * One kubeconfig with a context per member (each cluster's admin) and the hub context, which
 * reaches the test cluster with a token of the ServiceAccount levee-fleet.
 */
function fleetKubeconfig(hub: ClusterInfo, edge: ClusterInfo, hubToken: string): string {
  const clusterOf = (file: string, name: string) => {
    const loaded = new KubeConfig();
    loaded.loadFromFile(file);
    return { cluster: { ...loaded.getCurrentCluster()!, name }, user: { ...loaded.getCurrentUser()!, name } };
  };
  const a = clusterOf(hub.kubeconfig, MEMBERS.hub);
  const b = clusterOf(edge.kubeconfig, MEMBERS.edge);
  const merged = new KubeConfig();
  merged.loadFromOptions({
    clusters: [a.cluster, b.cluster],
    users: [a.user, b.user, { name: 'levee-fleet', token: hubToken }],
    contexts: [
      { name: MEMBERS.hub, cluster: MEMBERS.hub, user: MEMBERS.hub },
      { name: MEMBERS.edge, cluster: MEMBERS.edge, user: MEMBERS.edge },
      { name: 'fleet-hub', cluster: MEMBERS.hub, user: 'levee-fleet' },
    ],
    currentContext: 'fleet-hub',
  });
  const file = join(dir, 'fleet.kubeconfig');
  writeFileSync(file, merged.exportConfig(), { mode: 0o600 });
  return file;
}

function componentPidIn(cluster: ClusterInfo, component: string): number {
  return Number(readFileSync(join(cluster.dir, `${component}.pid`), 'utf8').trim());
}

describe('e2e: one levee probe over a fleet of two local clusters, publishing into the hub', function () {
  this.timeout(900_000);
  let edge: ClusterInfo;
  let fleet: ChildProcess | undefined;
  let spawnedAt = 0;

  before(async function () {
    this.timeout(1_800_000);
    await e2e();
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const scripts = await clusterScripts();
    await scripts.clusterDown({ dir: edgeDir, quiet: true });
    edge = await scripts.clusterUp({ dir: edgeDir, ports: 'auto', quiet: true });
    const applied = await kubectl(['apply', '-k', 'manifests/fleet']);
    assert.equal(applied.code, 0, applied.stderr);
    const token = await kubectl(['create', 'token', 'levee-fleet', '-n', 'levee-system', '--duration', '2h']);
    assert.equal(token.code, 0, token.stderr);
    const kubeconfig = fleetKubeconfig((await e2e()).cluster, edge, token.stdout.trim());
    const config = join(dir, 'config.json');
    // Short intervals so that the test takes minutes; hysteresis, triggers and deadlines as shipped.
    writeFileSync(config, JSON.stringify({ probe: { intervalSeconds: 5, lifecycleTimeoutSeconds: 20, fleet: { hubContext: 'fleet-hub', members: [{ context: MEMBERS.hub }, { context: MEMBERS.edge }, { context: MEMBERS.missing }] } } }));
    spawnedAt = Date.now();
    fleet = spawn(process.execPath, ['bin/levee.js', 'probe', '--config', config, '--kubeconfig', kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(join(dir, 'probe.log'));
    fleet.stdout!.pipe(log);
    fleet.stderr!.pipe(log);
  });

  after(async () => {
    if (fleet) await stopProcess(fleet);
    const scripts = await clusterScripts();
    await scripts.clusterDown({ dir: edgeDir, quiet: true });
    await kubectl(['delete', 'probeverdicts', '-l', 'levee.dev/fleet-member', '--ignore-not-found']);
    await kubectl(['delete', ...['rbac.yaml', 'serviceaccount.yaml', 'admission-policy.yaml'].flatMap((file) => ['-f', join('manifests', 'fleet', file)]), '--ignore-not-found', '--wait=false']);
  });

  it('publishes one labelled ProbeVerdict per member into the hub, beside the hub\'s own `cluster`', async () => {
    await waitForVerdict(MEMBERS.hub, working, 'Healthy or Degraded', 240_000);
    await waitForVerdict(MEMBERS.edge, working, 'Healthy or Degraded', 240_000);
    console.log(`      (both members' verdicts in the hub ${((Date.now() - spawnedAt) / 1000).toFixed(1)} s after the fleet probe was started)`);
    const verdicts = await hubVerdicts();
    for (const [name, context] of [[MEMBERS.hub, MEMBERS.hub], [MEMBERS.edge, MEMBERS.edge]] as const) {
      const verdict = verdicts.get(name)!;
      assert.equal(verdict.metadata.labels?.['levee.dev/fleet-member'], name);
      assert.equal(verdict.metadata.annotations?.['levee.dev/kubeconfig-context'], context);
      assert.equal(verdict.status?.cluster, context);
      assert.equal(verdict.status?.reachable, true);
      const probes = new Set(verdict.status?.probes?.map((probe) => probe.name));
      for (const probe of ['api-write-path', 'workload-lifecycle', 'scheduler', 'controller-manager', 'etcd']) assert.ok(probes.has(probe), `${name} lacks ${probe}: ${[...probes].join(', ')}`);
    }
    // The hub's own verdict is still the one its own probe writes, untouched by the fleet.
    const own = await kubectl(['get', 'probeverdict', 'cluster', '-o', 'jsonpath={.status.verdict}|{.status.cluster}|{.metadata.labels.levee\\.dev/fleet-member}']);
    assert.equal(own.code, 0, own.stderr);
    assert.match(own.stdout, /^(Healthy|Degraded|Unhealthy)\|\|$/);
    // ...and can never say Unknown: that is a fleet member's answer only (the CRD's rule).
    const unknown = await kubectl(['patch', 'probeverdict', 'cluster', '--subresource=status', '--type=merge', '-p', '{"status":{"verdict":"Unknown"}}']);
    assert.notEqual(unknown.code, 0, unknown.stdout);
    assert.match(unknown.stderr, /Unknown is for fleet members in a hub/);
    const table = await kubectl(['get', 'probeverdicts']);
    console.log(table.stdout.replace(/^/gm, '      '));
    assert.match(table.stdout.split('\n')[0]!, /^NAME\s+VERDICT\s+FAILING\s+SINCE\s+CHECKED\s+CLUSTER$/);
    assert.match(table.stdout, new RegExp(`^${MEMBERS.edge}\\s+(Healthy|Degraded)\\s.*\\s${MEMBERS.edge}$`, 'm'));
  });

  it('says Unknown, with the error, for a member it cannot reach at all, and goes on with the others', async () => {
    const missing = await waitForVerdict(MEMBERS.missing, (verdict) => verdict === 'Unknown', 'Unknown', 60_000);
    assert.equal(missing.status?.reachable, false);
    assert.match(missing.status?.message ?? '', /^unreachable: kubeconfig has no context "gone"/);
    assert.ok(working((await hubVerdicts()).get(MEMBERS.edge)?.status?.verdict));
  });

  it('turns only the edge Unhealthy when the edge\'s kube-scheduler dies, naming the probe, and back once it returns', async () => {
    const killed = Date.now();
    process.kill(componentPidIn(edge, 'kube-scheduler'), 'SIGKILL');
    const unhealthy = await waitForVerdict(MEMBERS.edge, (verdict) => verdict === 'Unhealthy', 'Unhealthy', 240_000);
    const toUnhealthy = (Date.now() - killed) / 1000;
    assert.match(unhealthy.status?.failing ?? '', /scheduler/);
    assert.ok(working((await hubVerdicts()).get(MEMBERS.hub)?.status?.verdict), 'the hub member stays Healthy or Degraded');
    const restarted = Date.now();
    await (await clusterScripts()).clusterUp({ dir: edgeDir, ports: 'auto', quiet: true });
    await waitForVerdict(MEMBERS.edge, working, 'Healthy or Degraded again', 240_000);
    console.log(`      (edge kube-scheduler: Unhealthy in the hub ${toUnhealthy.toFixed(1)} s after it was killed; back ${((Date.now() - restarted) / 1000).toFixed(1)} s after it was restarted)`);
  });

  it('turns only the edge Unknown, unreachable with the error, when the edge\'s API server dies, and back once it returns', async () => {
    const killed = Date.now();
    process.kill(componentPidIn(edge, 'kube-apiserver'), 'SIGKILL');
    const unknown = await waitForVerdict(MEMBERS.edge, (verdict) => verdict === 'Unknown', 'Unknown', 120_000);
    const toUnknown = (Date.now() - killed) / 1000;
    assert.equal(unknown.status?.reachable, false);
    assert.match(unknown.status?.message ?? '', /^unreachable: .*(refused|deadline|reset)/);
    assert.deepEqual(unknown.status?.probes, []);
    assert.ok(working((await hubVerdicts()).get(MEMBERS.hub)?.status?.verdict), 'the hub member stays Healthy or Degraded');
    const restarted = Date.now();
    await (await clusterScripts()).clusterUp({ dir: edgeDir, ports: 'auto', quiet: true });
    const back = await waitForVerdict(MEMBERS.edge, working, 'Healthy or Degraded again', 240_000);
    assert.equal(back.status?.reachable, true);
    console.log(`      (edge kube-apiserver: Unknown in the hub ${toUnknown.toFixed(1)} s after it was killed; back ${((Date.now() - restarted) / 1000).toFixed(1)} s after it was restarted)`);
  });

  it('recorded each of the edge\'s verdict changes as an Event in the hub', async () => {
    const events = await kubectl(['get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${MEMBERS.edge},reason=VerdictChanged`, '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}']);
    assert.equal(events.code, 0, events.stderr);
    for (const change of ['-> Unhealthy', '-> Unknown']) assert.match(events.stdout, new RegExp(`^fleet member ${MEMBERS.edge} verdict \\w+ ${change}`, 'm'), `no Event for ${change} in:\n${events.stdout}`);
  });
});
