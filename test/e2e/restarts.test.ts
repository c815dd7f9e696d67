import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { call } from '../support/https.js';
import { componentPid, e2e, eventually, kubectl, restartStoppedComponents, sleep, type E2eEnvironment } from '../support/e2e.js';
import { ReviewLoad, type LoadReport } from '../support/review-load.js';
import { deploymentReview, scaleReview } from '../support/reviews.js';

/**
 * kube-apiserver, then etcd, restarted while reviews flow to levee (the soak's mix, from a
 * process of its own): no review unanswered or answered 5xx, and once the API server answers
 * again, levee's caches catch up with the objects changed while it could not hear (a Service
 * deleted, another created) and its answers follow them. Timings are printed, not asserted.
 */

const namespace = `restart-${Date.now().toString(36)}`;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function deployment(name: string, replicas: number): string {
  const labels = { app: name };
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1.0' }] } } },
  });
}

function service(name: string): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { selector: { app: name }, ports: [{ port: 80 }] } });
}

function nodeCordon(): unknown {
  const node = (unschedulable: boolean) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'ondemand-1', labels: { 'karpenter.sh/capacity-type': 'on-demand' } }, spec: unschedulable ? { unschedulable } : {} });
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: 'restart-cordon', kind: { group: '', version: 'v1', kind: 'Node' }, resource: { group: '', version: 'v1', resource: 'nodes' },
      name: 'ondemand-1', operation: 'UPDATE', userInfo: { username: 'alice', groups: ['system:authenticated'] },
      object: node(true), oldObject: node(false), dryRun: true,
    },
  };
}

function mix(): Array<{ name: string; path: string; body: string }> {
  const incomplete = scaleReview({ uid: 'restart-incomplete', name: 'ledger', namespace, replicas: 0 }) as { request: Record<string, unknown> };
  delete incomplete.request.operation;
  return [
    { name: 'scale ledger to 0', path: '/validate', body: JSON.stringify(scaleReview({ uid: 'restart-ledger', name: 'ledger', namespace, replicas: 0, oldReplicas: 2, dryRun: true })) },
    { name: 'scale spare to 0', path: '/validate', body: JSON.stringify(scaleReview({ uid: 'restart-spare', name: 'spare', namespace, replicas: 0, oldReplicas: 1, dryRun: true })) },
    { name: 'scale ledger to 3', path: '/validate', body: JSON.stringify(scaleReview({ uid: 'restart-up', name: 'ledger', namespace, replicas: 3, oldReplicas: 2, dryRun: true })) },
    { name: 'Deployment update', path: '/validate', body: JSON.stringify(deploymentReview({ uid: 'restart-update', name: 'ledger', namespace, replicas: 2, oldReplicas: 2, dryRun: true })) },
    { name: 'Deployment update (mutate)', path: '/mutate', body: JSON.stringify(deploymentReview({ uid: 'restart-mutate', name: 'ledger', namespace, replicas: 2, oldReplicas: 2, dryRun: true })) },
    { name: 'Node cordon', path: '/validate', body: JSON.stringify(nodeCordon()) },
    { name: 'review without operation', path: '/validate', body: JSON.stringify(incomplete) },
    { name: 'body that is not JSON', path: '/validate', body: '{"apiVersion": "admission.k8s.io/v1", "kind": ' },
  ];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stopComponent(name: string): Promise<number> {
  const pid = await componentPid(name);
  assert.ok(alive(pid), `${name} (pid ${pid}) runs`);
  process.kill(pid, 'SIGTERM');
  const stopped = Date.now();
  await eventually(`${name} to exit`, async () => !alive(pid) || `pid ${pid} still running`, 60_000);
  return stopped;
}

describe('e2e: kube-apiserver and etcd restarted while reviews flow', function () {
  this.timeout(600_000);
  let env: E2eEnvironment;
  let load: ReviewLoad | undefined;
  let final: LoadReport = {};

  /** Waits until the load's latest answers to both scale reviews are the ones given, after `since`. */
  async function answersFollow(what: string, since: number, ledgerAllowed: boolean, spareAllowed: boolean): Promise<number> {
    let at = 0;
    let restartedAt = Date.now();
    await eventually(what, async () => {
      // kube-controller-manager gives up 10 s after its last Lease renewal, which on a busy
      // machine can be after the API server is back: without it no EndpointSlice is made for a
      // new Service, so levee cannot see one. Bring back whatever has stopped since.
      if (Date.now() - restartedAt > 15_000) {
        restartedAt = Date.now();
        await restartStoppedComponents();
      }
      const report = await load!.report();
      const ledger = report['scale ledger to 0']?.last;
      const spare = report['scale spare to 0']?.last;
      if (ledger && spare && ledger.at > since && spare.at > since && ledger.allowed === ledgerAllowed && spare.allowed === spareAllowed) {
        at = Math.max(ledger.at, spare.at);
        return true;
      }
      return `ledger allowed: ${ledger?.allowed}, spare allowed: ${spare?.allowed}`;
    }, 180_000);
    return at;
  }

  before(async function () {
    this.timeout(900_000);
    env = await e2e();
    assert.equal((await kubectl(['create', 'namespace', namespace])).code, 0);
    for (const input of [deployment('ledger', 2), service('ledger'), deployment('spare', 1)]) {
      const applied = await kubectl(['apply', '-f', '-'], { input });
      assert.equal(applied.code, 0, applied.stderr);
    }
    // As the API server sends them: levee answers reviews only to its client certificate.
    const pki = join(env.cluster.dir, 'pki');
    load = await ReviewLoad.start({ port: env.port, ca: env.ca, cert: readFileSync(join(pki, 'webhook-client.crt'), 'utf8'), key: readFileSync(join(pki, 'webhook-client.key'), 'utf8'), requests: mix() });
    await answersFollow('levee to see ledger behind its Service, spare behind none', 0, false, true);
  });

  after(async function () {
    this.timeout(400_000);
    load?.kill();
    // Whatever happened above, leave the cluster whole and the gate open for the next test
    // file: kube-controller-manager and kube-scheduler exit when they cannot renew their
    // leader Lease (10 s), so some may stop only after the API server is back.
    await sleep(15_000);
    await restartStoppedComponents();
    await eventually('the probes to read Healthy again', async () => {
      const verdict = (JSON.parse(readFileSync(env.verdictFile, 'utf8')) as { verdict: string; failing: string[] });
      return verdict.verdict === 'Healthy' || `${verdict.verdict} (failing: ${verdict.failing.join(', ')})`;
    }, 240_000);
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  it('keeps answering through a kube-apiserver restart, then follows what changed once it is back', async () => {
    const stopped = await stopComponent('kube-apiserver');
    await sleep(5000); // reviews keep flowing while it is down
    await restartStoppedComponents();
    const back = Date.now();
    // Changed the moment the API server answers, while levee is still reconnecting.
    assert.equal((await kubectl(['delete', 'service', 'ledger', '-n', namespace])).code, 0);
    assert.equal((await kubectl(['apply', '-f', '-'], { input: service('spare') })).code, 0);
    const changed = Date.now();
    const followed = await answersFollow('levee to see the Service of ledger gone and one in front of spare', changed, true, false);
    console.log(`      (API server down ${seconds(back - stopped)}; levee's answers followed the changes ${seconds(followed - changed)} after they were made)`);
  });

  it('keeps answering through an etcd restart, then follows what changed once it is back', async () => {
    const stopped = await stopComponent('etcd');
    await sleep(5000);
    await restartStoppedComponents();
    const back = Date.now();
    assert.equal((await kubectl(['apply', '-f', '-'], { input: service('ledger') })).code, 0);
    assert.equal((await kubectl(['delete', 'service', 'spare', '-n', namespace])).code, 0);
    const changed = Date.now();
    const followed = await answersFollow('levee to see the Service of ledger back and the one of spare gone', changed, false, true);
    console.log(`      (etcd down ${seconds(back - stopped)}; levee's answers followed the changes ${seconds(followed - changed)} after they were made)`);
  });

  it('answered every review of the mix throughout: none unanswered, none 5xx, each as its kind should be', async () => {
    final = await load!.stop();
    load = undefined;
    const summary = Object.entries(final).map(([name, stats]) => `${name}: ${stats.sent} sent, ${JSON.stringify(stats.statuses)}, ${stats.unanswered} unanswered`);
    console.log(`      (${summary.join('; ')})`);
    for (const [name, stats] of Object.entries(final)) {
      assert.ok(stats.sent > 50, `${name}: only ${stats.sent} sent`);
      assert.equal(stats.unanswered, 0, `${name}: ${stats.unanswered} unanswered (${stats.firstUnanswered})`);
      assert.equal(Object.values(stats.statuses).reduce((sum, n) => sum + n, 0), stats.sent, `${name}: every review sent got a status`);
      assert.deepEqual(Object.keys(stats.statuses).filter((status) => Number(status) >= 500), [], `${name}: ${JSON.stringify(stats.statuses)}`);
    }
    assert.deepEqual(Object.keys(final['body that is not JSON']!.statuses), ['400']);
    assert.deepEqual(Object.keys(final['review without operation']!.statuses), ['200']);
    assert.equal(final['review without operation']!.allowed, 0);
    assert.equal(final['scale ledger to 3']!.refused, 0, 'a scale-up is never refused');
    assert.equal(final['Node cordon']!.refused, 0, 'five on-demand nodes: a cordon is allowed');
    const ready = await call(env.port, env.ca, { method: 'GET', path: '/readyz' });
    assert.deepEqual([ready.status, ready.text], [200, 'ok']);
  });
});
