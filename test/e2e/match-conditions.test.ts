import assert from 'node:assert/strict';
import { e2e, eventually, kubectl, leveeDecisions, readyEndpoints, sleep } from '../support/e2e.js';

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

  it('a drop to 0 reaches levee however it is spelled: /scale patched (replicas removed, set to null), replaced, `kubectl scale --current-replicas`, the object patched or applied server-side', async () => {
    // One replica each behind its own Service, so that every drop to 0 is a refusal: a request
    // the conditions kept away would be stored instead.
    const kinds = [
      { resource: 'deployment', name: 'shape-deploy', apiVersion: 'apps/v1', kind: 'Deployment' },
      { resource: 'statefulset', name: 'shape-sts', apiVersion: 'apps/v1', kind: 'StatefulSet' },
      { resource: 'replicationcontroller', name: 'shape-rc', apiVersion: 'v1', kind: 'ReplicationController' },
    ] as const;
    const objectOf = (kind: (typeof kinds)[number], replicas: number) => {
      const labels = { app: kind.name };
      return {
        apiVersion: kind.apiVersion,
        kind: kind.kind,
        metadata: { name: kind.name, namespace },
        spec: {
          replicas,
          selector: kind.kind === 'ReplicationController' ? labels : { matchLabels: labels },
          ...(kind.kind === 'StatefulSet' ? { serviceName: kind.name } : {}),
          template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/ledger:1.0' }] } },
        },
      };
    };
    for (const kind of kinds) {
      const created = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(objectOf(kind, 1)) });
      assert.equal(created.code, 0, created.stderr);
      const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: kind.name, namespace }, spec: { selector: { app: kind.name }, ports: [{ port: 80 }] } };
      assert.equal((await kubectl(['apply', '-f', '-'], { input: JSON.stringify(service) })).code, 0);
    }
    for (const kind of kinds) {
      await eventually(`a ready endpoint behind Service ${kind.name}`, async () => (await readyEndpoints(namespace, kind.name)) === 1, 120_000);
      await eventually(`levee to see the endpoint of ${kind.name}`, async () => {
        // Through the object: whether /scale reaches levee is what is tested below.
        const probe = await kubectl(['patch', kind.resource, kind.name, '-n', namespace, '--type=merge', '-p', '{"spec":{"replicas":0}}', '--dry-run=server']);
        return probe.code !== 0 || probe.stdout + probe.stderr;
      });
    }

    const refusals: string[] = [];
    for (const kind of kinds) {
      const target = [kind.resource, kind.name, '-n', namespace];
      // The Scale as read just before the PUT (its resourceVersion current), without replicas.
      const scaleAtZero = async (): Promise<string> => {
        const read = await kubectl(['get', ...target, '--subresource=scale', '-o', 'json']);
        assert.equal(read.code, 0, read.stderr);
        const scale = JSON.parse(read.stdout) as { spec: Record<string, unknown> };
        delete scale.spec.replicas;
        return JSON.stringify(scale);
      };
      const ways: Array<[string, string[], (() => Promise<string>)?]> = [
        ['a JSON patch of /scale removing spec.replicas', ['patch', ...target, '--subresource=scale', '--type=json', '-p', '[{"op":"remove","path":"/spec/replicas"}]']],
        ['a merge patch of /scale setting spec.replicas to null', ['patch', ...target, '--subresource=scale', '--type=merge', '-p', '{"spec":{"replicas":null}}']],
        // A raw PUT: kubectl maps no resource to the kind Scale from a file.
        ['a PUT of a Scale with no spec.replicas', ['replace', '--raw', `${kind.apiVersion === 'v1' ? '/api/v1' : '/apis/apps/v1'}/namespaces/${namespace}/${kind.resource}s/${kind.name}/scale`, '-f', '-'], scaleAtZero],
        ['kubectl scale --current-replicas=1 --replicas=0', ['scale', `${kind.resource}/${kind.name}`, '-n', namespace, '--current-replicas=1', '--replicas=0']],
        ['a strategic merge patch of the object', ['patch', ...target, '-p', '{"spec":{"replicas":0}}']],
        ['a JSON patch of the object', ['patch', ...target, '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":0}]']],
        ['server-side apply of the object', ['apply', '--server-side', '--force-conflicts', '--field-manager=e2e-shapes', '-f', '-'], async () => JSON.stringify(objectOf(kind, 0))],
      ];
      for (const [way, args, input] of ways) {
        let result = await kubectl(args, input === undefined ? {} : { input: await input() });
        // A read-then-PUT reads again on 409: a controller's status write in between is not levee's answer.
        for (let retry = 0; retry < 5 && input && /\(Conflict\)/.test(result.stderr); retry++) result = await kubectl(args, { input: await input() });
        const stored = await kubectl(['get', ...target, '-o', 'jsonpath={.spec.replicas}']);
        const said = result.stderr + result.stdout;
        if (result.code === 0 || !/admission webhook \\?"validate\.levee\.dev\\?" denied the request/.test(said) || !/\[scale-to-zero\]/.test(said) || stored.stdout !== '1') {
          refusals.push(`${kind.kind} through ${way}: exit ${result.code}, stored replicas ${stored.stdout}: ${said.trim().slice(0, 300)}`);
          // Back to 1 (a scale up from 0 is judged by nobody), so that the next way is a drop to 0 again.
          if (stored.stdout !== '1') assert.equal((await kubectl(['scale', `${kind.resource}/${kind.name}`, '-n', namespace, '--replicas=1'])).code, 0);
        }
      }
    }
    assert.deepEqual(refusals, [], 'every drop to 0 was refused by scale-to-zero and stored nothing');
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
