import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { componentPid, e2e, eventually, killLevee, kubectl, restartLevee, restartStoppedComponents, sleep, type KubectlResult } from '../support/e2e.js';
import { alive, verdictIs } from '../support/gate.js';

/**
 * KubeProbe probes on every release; levee on every platform change it admits. On the test
 * cluster, with probe-on-change's hold on (the harness otherwise only warns, so that other test
 * files can change NodePools back to back): a change of a kube-system Deployment starts a probe
 * run, the next kube-system change right after is refused until that run has its verdict, then
 * passes; ordinary workloads and dry-runs are never held; with kube-scheduler stopped the
 * verdict turns Unhealthy and platform changes stay refused (a rollback still passes) until it
 * is back.
 */

const suffix = Date.now().toString(36);
const first = `levee-change-a-${suffix}`;
const second = `levee-change-b-${suffix}`;
const shop = `change-shop-${suffix}`;
const HELD = /admission webhook "validate-kube-system\.levee\.dev" denied the request: levee denied this request: \[probe-on-change\] a probe run after (.+?) \(admitted \d+ s ago\) is in progress; retry in (\d+) s\./;

function deployment(name: string, namespace: string, image: string): string {
  const labels = { app: name };
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image }] } } },
  });
}

function setImage(name: string, namespace: string, image: string, extra: string[] = []): Promise<KubectlResult> {
  return kubectl(['set', 'image', `deployment/${name}`, `app=${image}`, '-n', namespace, ...extra]);
}

/** Tries a kube-system change until it passes; how long it was held. */
async function untilAdmitted(change: () => Promise<KubectlResult>, timeoutMs = 120_000): Promise<{ seconds: number; refusals: number; last: KubectlResult }> {
  const started = Date.now();
  let refusals = 0;
  for (;;) {
    const result = await change();
    if (result.code === 0) return { seconds: (Date.now() - started) / 1000, refusals, last: result };
    assert.match(result.stderr, /\[probe-on-change\]/, `refused for another reason: ${result.stderr}`);
    refusals++;
    if (Date.now() - started > timeoutMs) assert.fail(`still held after ${timeoutMs / 1000} s: ${result.stderr}`);
    await sleep(500);
  }
}

function requestedRuns(): number {
  return (readFileSync(envLog, 'utf8').match(/platform change admitted: probe run requested/g) ?? []).length;
}

let envLog = '';

describe('e2e: probe-on-change (a probe run after each platform change; the next one waits for it)', function () {
  this.timeout(300_000);

  before(async function () {
    this.timeout(900_000);
    await e2e();
    await killLevee('SIGTERM');
    const env = await restartLevee({}, { policies: { 'probe-on-change': { action: 'deny' } } });
    envLog = env.leveeLog;
    assert.equal((await kubectl(['create', 'namespace', shop])).code, 0);
    await eventually('the probes to read Healthy', () => verdictIs('Healthy'), 180_000);
    for (const name of [first, second]) {
      await untilAdmitted(() => kubectl(['apply', '-f', '-'], { input: deployment(name, 'kube-system', 'registry.example/dns:1') }));
    }
    assert.equal((await kubectl(['apply', '-f', '-'], { input: deployment('web', shop, 'registry.example/web:1') })).code, 0);
  });

  after(async function () {
    this.timeout(600_000);
    await restartStoppedComponents();
    await eventually('the verdict to return to Healthy', () => verdictIs('Healthy'), 240_000).catch(() => undefined);
    for (const name of [first, second]) await kubectl(['delete', 'deployment', name, '-n', 'kube-system', '--ignore-not-found', '--wait=false']);
    await kubectl(['delete', 'namespace', shop, '--wait=false']);
    // Back to the harness's own configuration for the test files after this one.
    await killLevee('SIGTERM');
    await restartLevee();
  });

  it('holds the kube-system change right after another until the probe run after it has a verdict, then lets it through', async () => {
    // Whatever the creates above started has finished before the change under test.
    await untilAdmitted(() => setImage(first, 'kube-system', 'registry.example/dns:2', ['--dry-run=server']));
    const runsBefore = requestedRuns();
    const changed = await setImage(first, 'kube-system', 'registry.example/dns:2');
    assert.equal(changed.code, 0, changed.stderr);
    const admittedAt = Date.now();
    await eventually('serve to log that it asked the probe for a run', async () => requestedRuns() === runsBefore + 1 || `${requestedRuns() - runsBefore} runs asked for`, 5000);

    const held = await setImage(second, 'kube-system', 'registry.example/dns:2');
    assert.notEqual(held.code, 0, 'the second change right after the first is held');
    const [, after, retry] = HELD.exec(held.stderr) ?? [];
    assert.equal(after, `changing the pod template of Deployment kube-system/${first}`, held.stderr);
    assert.ok(Number(retry) >= 1, held.stderr);
    assert.match(held.stderr, /levee\.dev\/override: probe-on-change/);

    const passed = await untilAdmitted(() => setImage(second, 'kube-system', 'registry.example/dns:2'));
    const stored = await kubectl(['get', 'deployment', second, '-n', 'kube-system', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']);
    assert.equal(stored.stdout, 'registry.example/dns:2');
    console.log(`      (held ${((Date.now() - admittedAt) / 1000).toFixed(1)} s after the first change was admitted; ${passed.refusals} refusals before it passed)`);
  });

  it('never holds an ordinary workload, and a dry-run is held alike but starts no run', async () => {
    await untilAdmitted(() => setImage(first, 'kube-system', 'registry.example/dns:3', ['--dry-run=server']));
    const runsBefore = requestedRuns();
    const dryRun = await setImage(first, 'kube-system', 'registry.example/dns:3', ['--dry-run=server']);
    assert.equal(dryRun.code, 0, dryRun.stderr);
    await sleep(1000);
    assert.equal(requestedRuns(), runsBefore, 'a dry-run asked for no run');
    const real = await setImage(first, 'kube-system', 'registry.example/dns:3');
    assert.equal(real.code, 0, `nothing held it after the dry-run: ${real.stderr}`);

    const heldDryRun = await setImage(second, 'kube-system', 'registry.example/dns:3', ['--dry-run=server']);
    assert.match(heldDryRun.stderr, HELD, 'a dry-run is judged as the change would be');
    const ordinary = await setImage('web', shop, 'registry.example/web:2');
    assert.equal(ordinary.code, 0, `an ordinary workload is not held: ${ordinary.stderr}`);
    const scaled = await kubectl(['scale', `deployment/${second}`, '-n', 'kube-system', '--replicas=2']);
    assert.equal(scaled.code, 0, `a change of replicas alone is not a platform change: ${scaled.stderr}`);
    await untilAdmitted(() => setImage(second, 'kube-system', 'registry.example/dns:3', ['--dry-run=server']));
  });

  it('a user without rights in kube-system can neither start a run nor stall: the API server refuses them before levee sees the change', async () => {
    // `mallory` has no RBAC binding at all. (The local cluster's `developer` may not serve here:
    // it is bound to `edit` cluster-wide, kube-system included, so its changes are platform changes.)
    const runsBefore = requestedRuns();
    const attempts = await Promise.all(
      [1, 2, 3].map(() => kubectl(['--as', 'mallory', 'set', 'image', `deployment/${first}`, 'app=registry.example/dns:9', '-n', 'kube-system'])),
    );
    for (const attempt of attempts) {
      assert.notEqual(attempt.code, 0);
      assert.match(attempt.stderr, /forbidden/i);
    }
    await sleep(1000);
    assert.equal(requestedRuns(), runsBefore, 'no run was asked for');
    const admin = await setImage(second, 'kube-system', 'registry.example/dns:5');
    assert.equal(admin.code, 0, `nothing was held by the refused attempts: ${admin.stderr}`);
  });

  it('`kubectl rollout restart` is a release too: the change right after it waits', async () => {
    await untilAdmitted(() => setImage(first, 'kube-system', 'registry.example/dns:6', ['--dry-run=server']));
    const restarted = await kubectl(['rollout', 'restart', `deployment/${first}`, '-n', 'kube-system']);
    assert.equal(restarted.code, 0, restarted.stderr);
    const held = await setImage(second, 'kube-system', 'registry.example/dns:6');
    assert.match(held.stderr, /\[probe-on-change\] a probe run after changing the pod template of Deployment kube-system\/levee-change-a-/);
    await untilAdmitted(() => setImage(second, 'kube-system', 'registry.example/dns:6'));
  });

  it('with kube-scheduler stopped, refuses platform changes while the verdict is Unhealthy, lets a rollback through, and passes them again once it is back', async () => {
    const pid = await componentPid('kube-scheduler');
    assert.ok(alive(pid), `kube-scheduler (pid ${pid}) is running`);
    process.kill(pid, 'SIGTERM');
    await eventually('the verdict to turn Unhealthy', () => verdictIs('Unhealthy'), 240_000);
    await eventually('serve to refuse platform changes as Unhealthy', async () => {
      const tried = await setImage(second, 'kube-system', 'registry.example/dns:4', ['--dry-run=server']);
      return /\[probe-on-change\] changing the pod template of Deployment kube-system\/\S+ is a platform change, and platform changes wait while the cluster is Unhealthy/.test(tried.stderr) || tried.stderr || 'allowed';
    }, 60_000);
    for (let attempt = 0; attempt < 2; attempt++) {
      const refused = await setImage(second, 'kube-system', 'registry.example/dns:4');
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /platform changes wait while the cluster is Unhealthy \(since [^)]+\).*failing probes: [^;]*scheduler/);
      await sleep(5000);
    }
    const undo = await kubectl(['rollout', 'undo', `deployment/${first}`, '-n', 'kube-system']);
    assert.equal(undo.code, 0, `a rollback is a recovery: ${undo.stderr}`);

    await restartStoppedComponents();
    await eventually('the verdict to return to Healthy', () => verdictIs('Healthy'), 240_000);
    await untilAdmitted(() => setImage(second, 'kube-system', 'registry.example/dns:4'));
  });
});
