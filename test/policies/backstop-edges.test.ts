import assert from 'node:assert/strict';
import { authorOf, recordValue } from '../../src/engine/authorship.js';
import type { AdmissionRequest, KubeObject, UserInfo } from '../../src/kube/types.js';
import { STAMPED_KINDS } from '../support/stamped-kinds.js';
import { failClosedValidatingEntries, matcherReview as review, matchWebhooks, reachesFailClosedValidate, shippedWebhookConfigurations, type WebhookMatchCall } from '../support/webhook-match.js';

/**
 * The stamp backstop at its edges, by kube-apiserver's own matcher (tools/webhook-match): the
 * writes test/policies/backstop-match.test.ts does not make. A create (no old object) in
 * kube-system, where no /mutate entry drops a forged record first; writes whose review has no
 * object, no old object, a Scale or an object without metadata, which no condition may error
 * on (an error refuses the write on a Fail entry); and keys that only look like levee's, which
 * the guards let through and levee never reads.
 */

const RECORD = 'levee.dev/override-authorized-by';
const alice: UserInfo = { username: 'alice', uid: 'alice-uid', groups: ['system:masters', 'system:authenticated'] };
const override = { 'levee.dev/override': 'scale-to-zero', 'levee.dev/override-reason': 'INC-7', 'levee.dev/override-expires': '2099-01-01T00:00:00Z' };

/** [group, version, kind, resource]: the namespaced kinds levee reads a stamp or record from, every rule group of the registrations. */
const NAMESPACED: ReadonlyArray<readonly [string, string, string, string]> = STAMPED_KINDS.filter(([, , , , namespaced]) => namespaced).map(([group, version, kind, resource]) => [group, version, kind, resource] as const);

const objectOf = ([group, version, kind]: readonly [string, string, string, string], namespace: string, annotations?: Record<string, string>): KubeObject => ({
  apiVersion: group ? `${group}/${version}` : version,
  kind,
  metadata: { name: 'x', ...(namespace ? { namespace } : {}), ...(annotations ? { annotations } : {}) },
  spec: { replicas: 1 },
});

const failClosed = failClosedValidatingEntries(shippedWebhookConfigurations());
const reachesGuard = (calls: WebhookMatchCall[]): boolean => reachesFailClosedValidate(calls, failClosed);
const errors = (calls: WebhookMatchCall[][]): string[] => [...new Set(calls.flat().filter((call) => call.conditions === 'error').map((call) => `${call.webhook}: ${call.failedCondition ?? ''} ${call.error ?? ''}`))];

describe('the stamp backstop at its edges (tools/webhook-match)', function () {
  this.timeout(10 * 60_000);

  it('a create carrying a forged record reaches /validate on an entry that fails closed, for every namespaced kind levee reads one from, in kube-system as elsewhere', () => {
    const forged = { ...override, [RECORD]: recordValue(alice, override) };
    const writes: Array<[string, AdmissionRequest]> = NAMESPACED.flatMap((kind) =>
      ['shop', 'kube-system'].map((namespace): [string, AdmissionRequest] => [`CREATE ${kind[3]} in ${namespace}`, review('CREATE', kind, namespace, objectOf(kind, namespace, forged), null)]));
    const calls = matchWebhooks(shippedWebhookConfigurations(), writes.map(([, request]) => request));
    assert.deepEqual(writes.flatMap(([name], i) => (reachesGuard(calls[i]!) ? [] : [name])), []);
    assert.deepEqual(errors(calls), []);
  });

  it('a create carrying only an override (no stamp) in kube-system reaches a guard too: the test is the same for every levee.dev/ key', () => {
    const writes = NAMESPACED.map((kind) => review('CREATE', kind, 'kube-system', objectOf(kind, 'kube-system', override), null));
    const calls = matchWebhooks(shippedWebhookConfigurations(), writes);
    assert.deepEqual(calls.flatMap((each, i) => (reachesGuard(each) ? [] : [NAMESPACED[i]![3]])), []);
  });

  it('a create with no levee.dev/ key in kube-system reaches no guard: kube-system pays a condition, never a call', () => {
    const writes = NAMESPACED.map((kind) => review('CREATE', kind, 'kube-system', objectOf(kind, 'kube-system', { 'team.example/owner': 'platform' }), null));
    const calls = matchWebhooks(shippedWebhookConfigurations(), writes);
    const guarded = calls.flatMap((each, i) => each.filter((call) => call.webhook.endsWith('-annotations.levee.dev') && call.conditions === 'match').map((call) => `${NAMESPACED[i]![3]}: ${call.webhook}`));
    assert.deepEqual(guarded, []);
  });

  it('no condition of any entry errors on a delete (no object), a create (no old object), a subresource create, a Scale, or an object without metadata', () => {
    const stored = (kind: readonly [string, string, string, string], namespace: string) => objectOf(kind, namespace, { ...override, [RECORD]: recordValue(alice, override) });
    const scale = (namespace: string, replicas?: number): KubeObject => ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'x', namespace }, spec: replicas === undefined ? {} : { replicas } });
    const writes: AdmissionRequest[] = [];
    for (const namespace of ['shop', 'kube-system']) {
      for (const kind of NAMESPACED) {
        writes.push(review('DELETE', kind, namespace, null, stored(kind, namespace)));
        writes.push(review('CREATE', kind, namespace, stored(kind, namespace), null));
        writes.push(review('CREATE', kind, namespace, { apiVersion: 'v1', kind: kind[2] } as KubeObject, null));
        // The object and the old object without metadata, through the object and its status.
        writes.push(review('UPDATE', kind, namespace, { kind: kind[2] } as KubeObject, stored(kind, namespace)));
        writes.push(review('UPDATE', kind, namespace, stored(kind, namespace), { kind: kind[2] } as KubeObject, { subResource: 'status' }));
        writes.push(review('UPDATE', kind, namespace, { kind: kind[2] } as KubeObject, { kind: kind[2] } as KubeObject, { subResource: 'status' }));
        // A Scale carries no annotations; one at 0 has no spec.replicas.
        for (const [replicas, old] of [[0, 2], [2, 0], [3, 2], [undefined, undefined]] as const) writes.push(review('UPDATE', kind, namespace, scale(namespace, replicas), scale(namespace, old), { subResource: 'scale' }));
      }
      const pods = NAMESPACED.find((kind) => kind[3] === 'pods')!;
      writes.push(review('CREATE', ['policy', 'v1', 'Eviction', 'pods'], namespace, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'x', namespace } }, null, { subResource: 'eviction' }));
      writes.push(review('CREATE', ['', 'v1', 'Binding', 'pods'], namespace, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'x', namespace }, target: { kind: 'Node', name: 'n' } } as KubeObject, null, { subResource: 'binding' }));
      writes.push(review('CREATE', ['', 'v1', 'Binding', 'bindings'], namespace, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'x', namespace, annotations: { [RECORD]: '{}' } }, target: { kind: 'Node', name: 'n' } } as KubeObject, null));
      writes.push(review('DELETE', pods, namespace, null, { apiVersion: 'v1', kind: 'Pod' } as KubeObject));
    }
    const node = ['', 'v1', 'Node', 'nodes'] as const;
    const nodePool = ['karpenter.sh', 'v1', 'NodePool', 'nodepools'] as const;
    for (const kind of [node, nodePool]) {
      writes.push(review('DELETE', kind, '', null, objectOf(kind, '', { [RECORD]: '{}' })));
      writes.push(review('CREATE', kind, '', objectOf(kind, ''), null));
      writes.push(review('UPDATE', kind, '', { kind: kind[2] } as KubeObject, { kind: kind[2] } as KubeObject, { subResource: 'status' }));
    }
    const calls = matchWebhooks(shippedWebhookConfigurations(), writes);
    assert.ok(calls.flat().filter((call) => call.rules && call.selected).length > writes.length, 'the entries take these writes');
    assert.deepEqual(errors(calls), []);
  });

  describe('keys that only look like levee\'s', () => {
    const LOOKALIKES = [
      'Levee.dev/override-authorized-by',
      'LEVEE.DEV/override-authorized-by',
      'levee.dev.example.com/override-authorized-by',
      'x.levee.dev/override-authorized-by',
      'levee.devoverride-authorized-by',
      'levee.dev',
      'levee.dev/Override-Authorized-By',
    ];
    const pods = NAMESPACED.find((kind) => kind[3] === 'pods')!;
    const deployments = NAMESPACED[0]!;

    it('levee reads no record from them: the override counts for nobody', () => {
      const forged = recordValue(alice, override);
      const old = (key: string): KubeObject => objectOf(deployments, 'shop', { ...override, [key]: forged });
      // The same override, stored before: the record is what names its author.
      const author = (key: string) => authorOf(review('UPDATE', deployments, 'shop', old(key), old(key)), old(key).metadata!.annotations, old(key).metadata!.annotations).source;
      assert.equal(author(RECORD), 'record', 'levee\'s own key is read');
      assert.deepEqual(LOOKALIKES.map((key) => `${key}: ${author(key)}`), LOOKALIKES.map((key) => `${key}: unknown`));
    });

    it('and the guards let them through (adding one to a Pod, a Node or a kube-system object reaches no stamp-only entry), but for a key under levee.dev/ in other letters, taken like any levee.dev/ key', () => {
      const writes: AdmissionRequest[] = LOOKALIKES.flatMap((key) => [
        review('UPDATE', pods, 'shop', objectOf(pods, 'shop', { [key]: '{}' }), objectOf(pods, 'shop', {})),
        review('UPDATE', ['', 'v1', 'Node', 'nodes'], '', objectOf(['', 'v1', 'Node', 'nodes'], '', { [key]: '{}' }), objectOf(['', 'v1', 'Node', 'nodes'], '', {}), { subResource: 'status' }),
        review('UPDATE', deployments, 'kube-system', objectOf(deployments, 'kube-system', { [key]: '{}' }), objectOf(deployments, 'kube-system', {})),
        review('CREATE', ['batch', 'v1', 'CronJob', 'cronjobs'], 'kube-system', objectOf(['batch', 'v1', 'CronJob', 'cronjobs'], 'kube-system', { [key]: '{}' }), null),
      ]);
      const calls = matchWebhooks(shippedWebhookConfigurations(), writes);
      const taken = calls.flatMap((each, i) => each.filter((call) => call.webhook.endsWith('-annotations.levee.dev') && call.rules && call.selected && call.conditions !== 'skip').map((call) => `${Object.keys(writes[i]!.object?.metadata?.annotations ?? {}).join()} on ${writes[i]!.resource.resource}: ${call.webhook} ${call.conditions}`));
      // A key under levee.dev/ in other letters is taken like any levee.dev/ key: refused, never read.
      assert.deepEqual([...new Set(taken.map((each) => each.split(' on ')[0]))], ['levee.dev/Override-Authorized-By']);
      assert.equal(taken.length, 4);
      // The control: levee's own key is taken on each of those.
      const control = matchWebhooks(shippedWebhookConfigurations(), writes.slice(0, 4).map((write) => JSON.parse(JSON.stringify(write).replaceAll(LOOKALIKES[0]!, RECORD)) as AdmissionRequest));
      assert.deepEqual(control.map((each) => reachesGuard(each)), [true, true, true, true]);
    });
  });
});
