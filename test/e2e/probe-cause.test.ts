import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VerdictDocument } from '../../src/probe-verdict.js';
import { componentPid, e2e, eventually, kubectl, restartStoppedComponents, sleep } from '../support/e2e.js';
import { verdictStatus } from '../support/gate.js';
import { probePortOf, readVerdictFile } from '../support/levee-processes.js';

/**
 * Every node NotReady (kwok, which plays every kubelet of the local cluster, stopped): the
 * verdict must name that as the cause, naming the nodes, and must not send the reader to
 * kube-scheduler because the probe's pod stays unscheduled. Seen in a `levee probe` of the
 * test's own (its verdict file) and in what the harness's probe publishes (ProbeVerdict
 * `cluster`, its message and an Event FailingProbesChanged as more probes fail under the same
 * verdict). The times it prints are measurements for the README, not assertions.
 */

const stamp = Date.now().toString(36);
const dir = join(process.cwd(), '.levee', 'e2e', `cause-${stamp}`);
const verdictFile = join(dir, 'verdict.json');

const current = (): VerdictDocument | undefined => readVerdictFile(verdictFile);

function describeVerdict(document: VerdictDocument | undefined): string {
  return document ? `${document.verdict} (failing ${document.failing.join(', ') || '-'}; cause ${document.cause?.rule ?? '-'})` : 'no verdict yet';
}

async function notReadyNodes(): Promise<string[]> {
  const listed = await kubectl(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
  return listed.stdout.split('\n').filter((line) => line && !line.endsWith('=True')).map((line) => line.split('=')[0]!);
}

/** The harness's published verdict (ProbeVerdict `cluster`, which serve gates on) is Healthy: the next file may roll out again. */
async function publishedHealthy(): Promise<void> {
  await eventually('the published ProbeVerdict cluster to be Healthy again', async () => {
    const status = await verdictStatus();
    return status.verdict === 'Healthy' || `${status.verdict}: ${status.message ?? ''}`;
  }, 180_000);
}

/**
 * Every node Ready and the published verdict Healthy, without a break, for one node-monitor grace
 * period (30 s on the local cluster) and a little more: just after kwok's restart the node
 * lifecycle controller can still mark nodes Unknown once, which would close the gate on the next file.
 */
async function stayedHealthy(seconds = 40): Promise<void> {
  let since = Date.now();
  await eventually(`every node Ready and the published verdict Healthy for ${seconds} s in a row`, async () => {
    const notReady = await notReadyNodes();
    const status = await verdictStatus();
    if (notReady.length > 0 || status.verdict !== 'Healthy') {
      since = Date.now();
      return `NotReady: ${notReady.join(', ') || 'none'}; published: ${status.verdict ?? 'none'}`;
    }
    if (Date.now() - since >= seconds * 1000) return true;
    await sleep(2000);
    return `Healthy for ${((Date.now() - since) / 1000).toFixed(0)} s`;
  }, 240_000);
}

/** After kwok is back: every node Ready, and DNS with a ready endpoint again. */
async function settled(): Promise<void> {
  await eventually('every node Ready again', async () => {
    const left = await notReadyNodes();
    return left.length === 0 || `NotReady: ${left.join(', ')}`;
  }, 180_000);
  await eventually('kube-system/kube-dns to have a ready endpoint again', async () => {
    const ready = await kubectl(['get', 'endpointslices', '-n', 'kube-system', '-l', 'kubernetes.io/service-name=kube-dns', '-o', 'jsonpath={.items[*].endpoints[?(@.conditions.ready==true)].addresses[0]}']);
    return ready.stdout.trim() !== '' || 'no ready endpoint yet';
  }, 120_000);
}

describe('e2e: every node NotReady: the cause is the nodes, named, not kube-scheduler', function () {
  this.timeout(600_000);
  let probe: ChildProcess;
  let log: string;
  let stopped = 0;

  before(async function () {
    this.timeout(1_800_000);
    const env = await e2e();
    mkdirSync(dir, { recursive: true });
    const config = join(dir, 'config.json');
    // The harness's timing (3 s interval, 15 s lifecycle), its own Lease and verdict file, nothing published (the harness's probe publishes).
    writeFileSync(config, JSON.stringify({
      probe: { httpPort: 0, publish: false, verdictFile, lease: { name: `levee-probe-cause-${stamp}` }, intervalSeconds: 3, lifecycleTimeoutSeconds: 15, timeoutSeconds: 8, canary: { intervalSeconds: 10, timeoutSeconds: 10 } },
    }));
    probe = spawn(process.execPath, ['bin/levee.js', 'probe', '--config', config, '--kubeconfig', env.cluster.kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
    log = join(dir, 'probe.log');
    const out = createWriteStream(log);
    probe.stdout!.pipe(out);
    probe.stderr!.pipe(out);
    await eventually('every node Ready and the probe\'s verdict not Unhealthy', async () => {
      const document = current();
      const nodes = document?.probes.find((result) => result.probe === 'node-health');
      return (nodes?.status === 'Passing' && document!.verdict !== 'Unhealthy') || describeVerdict(document);
    }, 240_000);
  });

  after(async function () {
    this.timeout(300_000);
    probe?.kill('SIGTERM');
    await restartStoppedComponents();
    await settled().catch(() => undefined);
    await publishedHealthy().catch(() => undefined);
    await stayedHealthy().catch(() => undefined);
  });

  it('names no Ready node as the cause, listing the nodes, and gives it as the hint of the probes it explains', async () => {
    stopped = Date.now();
    process.kill(await componentPid('kwok'), 'SIGKILL');
    let unhealthyAfter: number | undefined;
    await eventually('the cause no-ready-nodes', async () => {
      const seen = current();
      if (seen?.verdict === 'Unhealthy' && unhealthyAfter === undefined) unhealthyAfter = (Date.now() - stopped) / 1000;
      return seen?.cause?.rule === 'no-ready-nodes' || describeVerdict(seen);
    }, 240_000);
    const named = (Date.now() - stopped) / 1000;
    // The cause is named from node-health's first look; node-health itself is Failing once hysteresis agrees.
    await eventually('node-health to be Failing', async () => current()?.failing.includes('node-health') || describeVerdict(current()), 60_000);
    const document = current()!;
    assert.equal(document.verdict, 'Unhealthy', describeVerdict(document));
    assert.equal(document.cause?.rule, 'no-ready-nodes', describeVerdict(document));
    const nodeCount = (await kubectl(['get', 'nodes', '-o', 'name'])).stdout.split('\n').filter(Boolean).length;
    // Every node, however young the test cluster: a node whose kubelet went silent is down, not joining.
    assert.match(document.cause!.message, new RegExp(`^no node is Ready \\(${nodeCount} NotReady: ondemand-1, `));
    assert.match(document.cause!.message, /are the kubelets running and reaching the API server\?$/);
    const nodeHealth = document.probes.find((result) => result.probe === 'node-health')!;
    assert.equal(nodeHealth.severity, 'critical');
    for (const explained of document.cause!.explains) {
      assert.equal(document.probes.find((result) => result.probe === explained)?.hint, document.cause!.message, `${explained}'s hint`);
    }
    console.log(`      (Unhealthy ${unhealthyAfter?.toFixed(1) ?? 'with the cause'} s and cause named ${named.toFixed(1)} s after kwok was killed, node-health Failing after ${((Date.now() - stopped) / 1000).toFixed(1)} s: ${document.cause!.message})`);

    // The lifecycle's pod stays unscheduled: the hint is the nodes, never kube-scheduler.
    await eventually('workload-lifecycle to fail too', async () => {
      const lifecycle = current()?.probes.find((result) => result.probe === 'workload-lifecycle');
      return lifecycle?.status === 'Failing' || `workload-lifecycle ${lifecycle?.status ?? 'absent'}: ${lifecycle?.message ?? ''}`;
    }, 120_000);
    const later = current()!;
    const lifecycle = later.probes.find((result) => result.probe === 'workload-lifecycle')!;
    assert.doesNotMatch(lifecycle.hint ?? '', /kube-scheduler/, lifecycle.hint);
    assert.match(lifecycle.hint ?? '', /^no node is Ready/);
    assert.ok(later.cause?.explains.includes('workload-lifecycle'), describeVerdict(later));
    console.log(`      (workload-lifecycle: ${lifecycle.message}; hint: the cause above)`);
  });

  it('publishes it: the ProbeVerdict\'s cause and message, and an Event FailingProbesChanged as more probes fail under the same verdict', async () => {
    await eventually('the published cause', async () => {
      const status = (await verdictStatus()) as Awaited<ReturnType<typeof verdictStatus>> & { cause?: { rule?: string } };
      return (status.cause?.rule === 'no-ready-nodes' && /^cause: no node is Ready/.test(status.message ?? '')) || `${status.verdict}: ${status.message ?? ''}`;
    }, 120_000);
    await eventually('an Event FailingProbesChanged since kwok stopped', async () => {
      const listed = await kubectl(['get', 'events', '-n', 'default', '--field-selector', 'reason=FailingProbesChanged', '-o', 'json']);
      const events = (JSON.parse(listed.stdout || '{"items":[]}') as { items: Array<{ lastTimestamp?: string; message?: string }> }).items;
      const recent = events.filter((event) => Date.parse(event.lastTimestamp ?? '') >= stopped - 1000);
      return recent.length > 0 || `${events.length} such Events, none since kwok stopped`;
    }, 120_000);
    const metrics = await (await fetch(`http://127.0.0.1:${probePortOf(log)}/metrics`)).text();
    const changes = Number(/^levee_probe_failing_set_changes_total\{verdict="Unhealthy"\} (\d+)/m.exec(metrics)?.[1] ?? 0);
    assert.ok(changes >= 1, `levee_probe_failing_set_changes_total{verdict="Unhealthy"} is ${changes}`);
  });

  it('clears the cause once kwok is back: the pods marked not Ready are Ready again and the verdict is Healthy', async () => {
    const restarted = Date.now();
    // Nothing is done to the cluster but kwok's restart: its kubelets report again, and with them
    // the pods the node controller marked not Ready (CoreDNS's among them) are Ready again.
    await restartStoppedComponents();
    await settled();
    await eventually('a verdict taken after kwok is back: Healthy, node-health Passing, no cause', async () => {
      const document = current();
      if (!document || Date.parse(document.generatedAt) <= restarted) return `no verdict since kwok was restarted (${describeVerdict(document)})`;
      const nodeHealth = document.probes.find((result) => result.probe === 'node-health');
      return (document.verdict === 'Healthy' && nodeHealth?.status === 'Passing' && document.cause === undefined) || describeVerdict(document);
    }, 300_000);
    const ownHealthy = (Date.now() - restarted) / 1000;
    // What serve gates on recovers too, so that rollouts (the next test file's among them) go through again.
    await publishedHealthy();
    console.log(`      (Healthy again ${ownHealthy.toFixed(1)} s after kwok was restarted; the published ProbeVerdict after ${((Date.now() - restarted) / 1000).toFixed(1)} s)`);
  });
});
