import assert from 'node:assert/strict';
import { componentPid, e2e, eventually, kubectl, restartStoppedComponents } from '../support/e2e.js';
import { alive, fileVerdictIs, verdictIs, verdictStatus as status } from '../support/gate.js';

/**
 * KubeProbe's idea on a real cluster: levee's probes notice that kube-controller-manager is
 * gone, the verdict turns Unhealthy with a hint naming it, rollouts are refused while
 * recovery actions (scale-up, rollback) still go through, and everything reopens once the
 * component is back (restarted by `npm run cluster:up`, the only thing that restarts it).
 */

const namespace = `gate-${Date.now().toString(36)}`;

function deployment(image: string): string {
  const labels = { app: 'web' };
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace, labels },
    spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image }] } } },
  });
}

async function stored(path: string): Promise<string> {
  const result = await kubectl(['get', 'deployment', 'web', '-n', namespace, '-o', `jsonpath={${path}}`]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

describe('e2e: probe-gate (no rollouts while kube-controller-manager is down)', function () {
  this.timeout(300_000);

  before(async function () {
    this.timeout(1_800_000);
    await e2e();
    const created = await kubectl(['create', 'namespace', namespace]);
    assert.equal(created.code, 0, created.stderr);
    await eventually('the probes to read Healthy', () => verdictIs('Healthy'), 180_000);
    // serve gates on the worse of the published verdict and its own probe's file, which may
    // still be recovering from the test before: wait until serve itself lets a rollout through.
    await eventually('serve to let rollouts through', async () => {
      const tried = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: deployment('registry.example/web:1') });
      return tried.code === 0 || tried.stderr;
    }, 180_000);
    const applied = await kubectl(['apply', '-f', '-'], { input: deployment('registry.example/web:1') });
    assert.equal(applied.code, 0, applied.stderr);
    // A second revision, so that there is a template to roll back to.
    const second = await kubectl(['set', 'image', 'deployment/web', 'app=registry.example/web:2', '-n', namespace]);
    assert.equal(second.code, 0, second.stderr);
    await eventually('two ReplicaSets for web', async () => {
      const result = await kubectl(['get', 'replicasets', '-n', namespace, '-l', 'app=web', '-o', 'name']);
      return result.stdout.trim().split('\n').filter(Boolean).length === 2 || result.stdout;
    }, 120_000);
  });

  after(async function () {
    this.timeout(300_000);
    // Whatever happened above, leave the cluster whole and the gate open for the next test file.
    await restartStoppedComponents();
    await eventually('the verdict to leave Unhealthy', async () => (await fileVerdictIs('Unhealthy')) !== true || 'still Unhealthy', 180_000).catch(() => undefined);
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  it('reads Healthy at start: `kubectl get probeverdicts cluster` shows it', async () => {
    const result = await kubectl(['get', 'probeverdicts', 'cluster']);
    assert.equal(result.code, 0, result.stderr);
    const [header, row] = result.stdout.trim().split('\n');
    assert.match(header!, /^NAME\s+VERDICT\s+FAILING\s+SINCE\s+CHECKED/);
    assert.match(row!, /^cluster\s+Healthy\s+-\s+/);
  });

  it('turns Unhealthy within a few minutes of kube-controller-manager stopping, with a hint that names it', async () => {
    const pid = await componentPid('kube-controller-manager');
    assert.ok(alive(pid), `kube-controller-manager (pid ${pid}) is running`);
    const stopped = Date.now();
    process.kill(pid, 'SIGTERM');
    await eventually('the verdict to turn Unhealthy', () => verdictIs('Unhealthy'), 240_000);
    console.log(`      (Unhealthy ${Math.round((Date.now() - stopped) / 1000)} s after kube-controller-manager stopped)`);
    const current = await status();
    const hints = (current.probes ?? []).filter((probe) => probe.status === 'Failing').map((probe) => probe.hint ?? '');
    assert.ok(hints.some((hint) => /is kube-controller-manager running\?/.test(hint)), `hints: ${hints.join(' | ')}`);
    // serve polls the verdict file; wait until its answer reflects the new verdict.
    await eventually('serve to close the gate', async () => {
      const probe = await kubectl(['set', 'image', 'deployment/web', 'app=registry.example/web:3', '-n', namespace, '--dry-run=server']);
      return probe.code !== 0 || `still allowed (verdict file: ${await fileVerdictIs('Unhealthy')})`;
    }, 30_000);
  });

  it('refuses `kubectl set image` with that hint, and stores nothing', async () => {
    const result = await kubectl(['set', 'image', 'deployment/web', 'app=registry.example/web:3', '-n', namespace]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /admission webhook "validate\.levee\.dev" denied the request/);
    assert.match(result.stderr, /\[probe-gate\] changing the pod template of Deployment web is a rollout, and rollouts are paused while the cluster is Unhealthy/);
    assert.match(result.stderr, /failing probes: .*failing since .*\(hint: [^)]*is kube-controller-manager running\?\)/);
    assert.match(result.stderr, /levee\.dev\/override: probe-gate/);
    assert.equal(await stored('.spec.template.spec.containers[0].image'), 'registry.example/web:2');
  });

  it('refuses creating a new Deployment too, for the unprivileged developer as for the admin', async () => {
    const input = deployment('registry.example/web:1').replace('"name":"web"', '"name":"web-canary"');
    const result = await kubectl(['apply', '-f', '-'], { input, as: 'developer' });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /\[probe-gate\] creating Deployment web-canary is a rollout/);
  });

  it('allows `kubectl scale` up', async () => {
    const result = await kubectl(['scale', 'deployment/web', '-n', namespace, '--replicas=4']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await stored('.spec.replicas'), '4');
  });

  it('allows `kubectl rollout undo` back to the template the Deployment ran before', async () => {
    const result = await kubectl(['rollout', 'undo', 'deployment/web', '-n', namespace]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await stored('.spec.template.spec.containers[0].image'), 'registry.example/web:1');
  });

  it('returns to Healthy once `npm run cluster:up` restarts it, and the rollout is allowed again', async () => {
    const restarted = Date.now();
    await restartStoppedComponents();
    await eventually('the verdict to return to Healthy', () => verdictIs('Healthy'), 180_000);
    console.log(`      (Healthy ${Math.round((Date.now() - restarted) / 1000)} s after cluster:up began)`);
    await eventually('serve to reopen the gate', async () => {
      const probe = await kubectl(['set', 'image', 'deployment/web', 'app=registry.example/web:3', '-n', namespace, '--dry-run=server']);
      return probe.code === 0 || probe.stderr;
    }, 30_000);
    const result = await kubectl(['set', 'image', 'deployment/web', 'app=registry.example/web:3', '-n', namespace]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await stored('.spec.template.spec.containers[0].image'), 'registry.example/web:3');
  });

  it('recorded an Event for each change of verdict', async () => {
    const result = await kubectl(['get', 'events', '-n', 'default', '--field-selector', 'reason=VerdictChanged', '-o', 'json']);
    assert.equal(result.code, 0, result.stderr);
    const messages = (JSON.parse(result.stdout) as { items: Array<{ involvedObject: { kind: string; name: string }; message: string }> }).items
      .filter((event) => event.involvedObject.kind === 'ProbeVerdict' && event.involvedObject.name === 'cluster')
      .map((event) => event.message);
    assert.ok(messages.some((message) => /Healthy -> Unhealthy: .*controller-manager/.test(message)), messages.join('\n'));
    assert.ok(messages.some((message) => /Unhealthy -> Healthy/.test(message)), messages.join('\n'));
  });
});
