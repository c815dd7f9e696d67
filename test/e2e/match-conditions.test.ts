import assert from 'node:assert/strict';
import { e2e, eventually, kubectl, leveeDecisions, sleep } from '../support/e2e.js';

/**
 * The webhook registrations' matchConditions, evaluated by the real API server: a change no
 * policy judges never reaches levee (its decision counter stays put), and one that a policy
 * judges still does. Exactness against every unit-tested review is checked in
 * test/policies/webhook-match-conditions.test.ts; every other e2e test shows that the refusals
 * still happen with the conditions registered.
 */

const namespace = `match-${Date.now().toString(36)}`;

/** Every admission decision levee has made, over routes and outcomes. */
const decisions = (): Promise<number> => leveeDecisions();

/** The counter after it has stopped moving: what controllers do in the background settles first. */
async function settledDecisions(): Promise<number> {
  let previous = await decisions();
  for (let i = 0; i < 20; i++) {
    await sleep(1000);
    const now = await decisions();
    if (now === previous) return now;
    previous = now;
  }
  throw new Error(`levee's decision counter kept moving (${previous}); something in the background keeps calling it`);
}

/**
 * `writes` reach no levee entry: the counter stays put around them. Something else in the
 * cluster (a node taint, another test's leftovers) may call levee in the same seconds, so this
 * tries three times; a write that reached levee would move the counter every time.
 */
async function assertNeverReachesLevee(what: string, writes: () => Promise<void>): Promise<void> {
  const moved: number[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = await settledDecisions();
    await writes();
    const calls = (await settledDecisions()) - before;
    if (calls === 0) return;
    moved.push(calls);
  }
  assert.fail(`levee's decision counter moved in every attempt (${moved.join(', ')}): ${what} reached levee`);
}

describe('e2e: matchConditions keep what no policy judges away from levee', function () {
  this.timeout(240_000);

  before(async function () {
    this.timeout(1_800_000);
    await e2e();
    assert.equal((await kubectl(['create', 'namespace', namespace])).code, 0);
    const created = await kubectl(['create', 'deployment', 'ledger', '-n', namespace, '--image=registry.example/ledger:1.0', '--replicas=1']);
    assert.equal(created.code, 0, created.stderr);
    await eventually('Deployment ledger to be available', async () => {
      const result = await kubectl(['get', 'deployment', 'ledger', '-n', namespace, '-o', 'jsonpath={.status.availableReplicas}']);
      return result.stdout === '1' || result.stdout;
    }, 120_000);
  });

  after(async () => {
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  it('an annotation-only update of a Deployment and ConfigMap writes never reach levee', async () => {
    let attempt = 0;
    await assertNeverReachesLevee('an annotation-only update and ConfigMap writes', async () => {
      const owner = `team-${attempt}`;
      const annotated = await kubectl(['annotate', 'deployment', 'ledger', '-n', namespace, `team.example/owner=${owner}`, '--overwrite']);
      assert.equal(annotated.code, 0, annotated.stderr);
      const configMap = await kubectl(['create', 'configmap', `ledger-settings-${attempt}`, '-n', namespace, '--from-literal=mode=live']);
      assert.equal(configMap.code, 0, configMap.stderr);
      const patched = await kubectl(['patch', 'configmap', `ledger-settings-${attempt}`, '-n', namespace, '--type=merge', '-p', '{"data":{"mode":"drain"}}']);
      assert.equal(patched.code, 0, patched.stderr);
      const stored = await kubectl(['get', 'deployment', 'ledger', '-n', namespace, '-o', 'jsonpath={.metadata.annotations.team\\.example/owner}']);
      assert.equal(stored.stdout, owner);
      attempt++;
    });
  });

  it('a scale between counts above 0 never reaches levee; a scale to 0 does, though a Scale at 0 carries no replicas field', async () => {
    // Created paused, a Deployment gets no ReplicaSet, so a scale writes the Deployment and
    // nothing else: no ReplicaSet update, no pod create (pod creates always reach levee).
    const paused = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'paused-ledger', namespace },
      spec: { replicas: 1, paused: true, selector: { matchLabels: { app: 'paused-ledger' } }, template: { metadata: { labels: { app: 'paused-ledger' } }, spec: { containers: [{ name: 'app', image: 'registry.example/ledger:1.0' }] } } },
    };
    const created = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(paused) });
    assert.equal(created.code, 0, created.stderr);
    const scale = async (replicas: number): Promise<void> => {
      const scaled = await kubectl(['scale', 'deployment', 'paused-ledger', '-n', namespace, `--replicas=${replicas}`]);
      assert.equal(scaled.code, 0, scaled.stderr);
    };
    await assertNeverReachesLevee('scales between counts above 0', async () => {
      await scale(3);
      await scale(1);
    });

    // The API server encodes a Scale at 0 with no spec.replicas (omitempty): the condition must
    // read that as 0, or every kubectl scale --replicas=0 would skip scale-to-zero.
    const before = await settledDecisions();
    await scale(0);
    await eventually('levee to be asked about the scale to 0', async () => (await decisions()) > before || 'not yet');
  });

  it('a levee.dev/ annotation reaches levee', async () => {
    const before = await settledDecisions();
    // A levee.dev/ annotation goes to /mutate (an override to stamp, a forged stamp to drop).
    // As the developer: levee runs with the admin's credentials, and its own stamps are not forgeries.
    const forged = await kubectl(['annotate', 'deployment', 'ledger', '-n', namespace, 'levee.dev/overridden-by=mallory'], { as: 'developer' });
    assert.equal(forged.code, 0, forged.stderr);
    const stamp = await kubectl(['get', 'deployment', 'ledger', '-n', namespace, '-o', 'jsonpath={.metadata.annotations.levee\\.dev/overridden-by}']);
    assert.equal(stamp.stdout, '', 'the forged stamp was dropped by /mutate');
    assert.ok((await decisions()) > before, 'the levee.dev/ annotation reached levee');
  });
});
