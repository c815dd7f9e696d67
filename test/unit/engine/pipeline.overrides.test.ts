import assert from 'node:assert/strict';
import { buildConfig, type LeveeConfig } from '../../../src/config.js';
import { AUTHORIZED_BY, recordValue } from '../../../src/engine/authorship.js';
import type { PolicyEvaluator } from '../../../src/engine/evaluator.js';
import { EXPIRES_ANNOTATION, OVERRIDDEN_AT, OVERRIDDEN_BY, OVERRIDE_ANNOTATION, type OverrideAuthorizer } from '../../../src/engine/overrides.js';
import type { PipelineDeps } from '../../../src/engine/pipeline.js';
import { workloadKey } from '../../../src/kube/workload.js';
import type { AdmissionRequest, KubeObject, UserInfo } from '../../../src/kube/types.js';
import { toWorkloadView } from '../../../src/cluster/views.js';
import { answer, fakeAuthorizer, ledgerRequest, loadEvaluator, monzoCluster, overrideAnnotations, patchedObject, pipelineDeps, STABLE } from '../../support/pipeline.js';
import { admissionRequest, requestOf } from '../../support/requests.js';
import { deploymentObject, scaleReview } from '../../support/reviews.js';

/** Overrides through the whole pipeline: who must be authorized, what /mutate stamps and records, what /validate refuses. */

const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';
const alice: UserInfo = { username: 'alice', uid: 'u-1', groups: ['system:authenticated'] };
const bob: UserInfo = { username: 'bob', uid: 'u-2', groups: ['oncall', 'system:authenticated'] };
/** levee's record that `user` set the override in `overrideAnnotations`. */
const recordOf = (user: UserInfo, annotations: Record<string, string> = overrideAnnotations): string => recordValue(user, annotations);

describe('engine/pipeline: overrides', () => {
  let evaluator: PolicyEvaluator;
  before(async () => {
    evaluator = await loadEvaluator();
  });
  const deps = (options: { config?: LeveeConfig; authorizer?: OverrideAuthorizer; parentAnnotations?: Record<string, string> } = {}): PipelineDeps => {
    const cluster = monzoCluster();
    if (options.parentAnnotations) {
      const view = toWorkloadView(deploymentObject('ledger', 'payments', 3, STABLE, options.parentAnnotations))!;
      cluster.workloads.upsert(workloadKey(view.ref), view);
    }
    return pipelineDeps(evaluator, { ...options, cluster });
  };

  describe('/validate: who must be authorized', () => {
    it('honours an override the requester writes in the same request, when they may override', async () => {
      const authorizer = fakeAuthorizer(['scale-to-zero']);
      const judgement = await answer(deps({ authorizer }), ledgerRequest({ replicas: 0, annotations: overrideAnnotations, oldAnnotations: {} }), 'validate');
      assert.equal(judgement.response.allowed, true);
      assert.ok(judgement.response.warnings?.some((warning) => warning.includes('overridden until 2026-11-23T18:00:00Z by alice')));
      assert.deepEqual(authorizer.asked, ['alice:scale-to-zero']);
    });

    it('keeps the denial, and says why, when the requester who writes it may not override', async () => {
      const judgement = await answer(deps(), ledgerRequest({ replicas: 0, annotations: overrideAnnotations, oldAnnotations: {} }), 'validate');
      assert.equal(judgement.response.allowed, false);
      assert.match(judgement.response.status?.message ?? '', /override ignored: not authorized: alice may not override scale-to-zero/);
    });

    it('ignores an override already on the object that levee never saw being set, even for an admin', async () => {
      const authorizer = fakeAuthorizer(['scale-to-zero']);
      const judgement = await answer(deps({ authorizer }), ledgerRequest({ replicas: 0, annotations: overrideAnnotations }), 'validate');
      assert.equal(judgement.response.allowed, false);
      assert.match(judgement.response.status?.message ?? '', /override ignored: not authorized: levee has no record of who set this override/);
      assert.deepEqual(authorizer.asked, []);
    });

    it('honours an override already on the object on the right of the author levee recorded, when the sender may override too', async () => {
      const authorizer = fakeAuthorizer(['scale-to-zero'], ['bob', ARGO]);
      const stored = { ...overrideAnnotations, [AUTHORIZED_BY]: recordOf(bob) };
      const judgement = await answer(deps({ authorizer }), ledgerRequest({ replicas: 0, annotations: stored, username: ARGO }), 'validate');
      assert.equal(judgement.response.allowed, true, judgement.response.status?.message);
      assert.deepEqual(authorizer.users[0], bob, 'asked about bob, with his uid and groups');
      assert.deepEqual(authorizer.asked, ['bob:scale-to-zero', `${ARGO}:scale-to-zero`]);
      assert.equal(judgement.decision?.overrides.honoured[0]?.author, 'bob');
      assert.equal(judgement.response.auditAnnotations?.['overridden-by'], 'bob');
    });

    it('refuses a sender who may not override, though the recorded author may: the author lends no right', async () => {
      const authorizer = fakeAuthorizer(['scale-to-zero'], ['bob']);
      const stored = { ...overrideAnnotations, [AUTHORIZED_BY]: recordOf(bob) };
      const judgement = await answer(deps({ authorizer }), ledgerRequest({ replicas: 0, annotations: stored, username: 'developer' }), 'validate');
      assert.equal(judgement.response.allowed, false);
      assert.match(judgement.response.status?.message ?? '', /override ignored: not authorized: developer may not override scale-to-zero \(no RBAC rule\); the override was set by bob, but the requester must be allowed to override too/);
    });

    it('stops honouring it once the recorded author may no longer override', async () => {
      const stored = { ...overrideAnnotations, [AUTHORIZED_BY]: recordOf(bob) };
      const judgement = await answer(deps(), ledgerRequest({ replicas: 0, annotations: stored }), 'validate');
      assert.match(judgement.response.status?.message ?? '', /not authorized: bob, who set this override as levee recorded, may not override scale-to-zero/);
    });

    it('ignores a record of another override than the one on the object', async () => {
      const authorizer = fakeAuthorizer(['scale-to-zero']);
      const extended = { ...overrideAnnotations, [EXPIRES_ANNOTATION]: '2026-11-23T20:00:00Z' };
      const stored = { ...extended, [AUTHORIZED_BY]: recordOf(bob) };
      const judgement = await answer(deps({ authorizer }), ledgerRequest({ replicas: 0, annotations: stored }), 'validate');
      assert.equal(judgement.response.allowed, false);
      assert.match(judgement.response.status?.message ?? '', /no record of who set this override/);
    });

    it('never honours an override an automation identity applies, though it may do anything (Argo CD\'s default)', async () => {
      const authorizer = fakeAuthorizer(['scale-to-zero', 'probe-gate', 'spot-capacity', 'version-skew']);
      const request = ledgerRequest({ replicas: 0, annotations: overrideAnnotations, oldAnnotations: {}, username: ARGO });
      const judgement = await answer(deps({ authorizer }), request, 'validate');
      assert.equal(judgement.response.allowed, false);
      assert.match(judgement.response.status?.message ?? '', /override ignored: not authorized: system:serviceaccount:argocd:argocd-application-controller sets this override but is an automation identity/);
      assert.deepEqual(authorizer.asked, []);
    });

    it('takes the automation identities from configuration', async () => {
      const authorizer = fakeAuthorizer(['scale-to-zero']);
      const config = buildConfig({ overrides: { automation: { users: ['ci-*'], groups: [], serviceAccounts: [] } } });
      const ci = await answer(deps({ authorizer, config }), ledgerRequest({ replicas: 0, annotations: overrideAnnotations, oldAnnotations: {}, username: 'ci-deployer' }), 'validate');
      assert.match(ci.response.status?.message ?? '', /automation identity \(overrides\.automation: user ci-\*\)/);
      const argo = await answer(deps({ authorizer, config }), ledgerRequest({ replicas: 0, annotations: overrideAnnotations, oldAnnotations: {}, username: ARGO }), 'validate');
      assert.equal(argo.response.allowed, true, 'Argo CD is no automation identity once the configuration leaves it out');
    });

    describe('through the scale subresource, where the override is on the parent', () => {
      const scaleToZero = () => requestOf(scaleReview({ name: 'ledger', namespace: 'payments', replicas: 0, oldReplicas: 3 }));

      it('ignores the parent\'s override when levee has no record of who set it', async () => {
        const authorizer = fakeAuthorizer(['scale-to-zero']);
        const judgement = await answer(deps({ authorizer, parentAnnotations: overrideAnnotations }), scaleToZero(), 'validate');
        assert.equal(judgement.response.allowed, false);
        assert.match(judgement.response.status?.message ?? '', /no record of who set this override/);
      });

      it('honours it on the recorded author\'s right and the sender\'s, in the audit log since the Scale carries no stamp', async () => {
        const authorizer = fakeAuthorizer(['scale-to-zero'], ['bob', 'alice']);
        const parent = { ...overrideAnnotations, [AUTHORIZED_BY]: recordOf(bob) };
        const judgement = await answer(deps({ authorizer, parentAnnotations: parent }), scaleToZero(), 'validate');
        assert.equal(judgement.response.allowed, true, judgement.response.status?.message);
        assert.deepEqual(judgement.response.auditAnnotations, {
          'overridden-policies': 'scale-to-zero',
          'overridden-by': 'bob',
          'override-reason': overrideAnnotations['levee.dev/override-reason'],
          'override-expires': '2026-11-23T18:00:00Z',
        });
        assert.equal((await answer(deps({ authorizer, parentAnnotations: parent }), scaleToZero(), 'mutate')).response.patch, undefined);
      });
    });
  });

  describe('/mutate: stamps and the author record', () => {
    it('stamps whose override it was and when', async () => {
      const authorizer = fakeAuthorizer(['scale-to-zero']);
      const request = ledgerRequest({ replicas: 0, annotations: overrideAnnotations, oldAnnotations: {} });
      const { response } = await answer(deps({ authorizer }), request, 'mutate');
      const annotations = patchedObject(request, response.patch).metadata?.annotations ?? {};
      assert.equal(annotations[OVERRIDDEN_BY], 'alice');
      assert.equal(annotations[OVERRIDDEN_AT], '2026-11-23T12:00:00Z');
      assert.equal(annotations[OVERRIDE_ANNOTATION], 'scale-to-zero');
    });

    it('records who set the override, when they may override one of its policies, and says so', async () => {
      const authorizer = fakeAuthorizer(['scale-to-zero']);
      const request = ledgerRequest({ replicas: 3, annotations: overrideAnnotations, oldAnnotations: {} });
      const { response } = await answer(deps({ authorizer }), request, 'mutate');
      const annotations = patchedObject(request, response.patch).metadata?.annotations ?? {};
      assert.equal(annotations[AUTHORIZED_BY], recordOf(alice));
      assert.equal(annotations[OVERRIDDEN_BY], undefined, 'nothing was overridden yet');
      assert.deepEqual(response.warnings, ['levee: override of scale-to-zero recorded as set by alice until 2026-11-23T18:00:00Z']);
    });

    it('records no one who may not override, removes the record of the override it replaces, and says why', async () => {
      const changed = { ...overrideAnnotations, [EXPIRES_ANNOTATION]: '2026-11-23T13:00:00Z' };
      const request = ledgerRequest({ replicas: 3, annotations: { ...changed, [AUTHORIZED_BY]: recordOf(bob) }, oldAnnotations: { ...overrideAnnotations, [AUTHORIZED_BY]: recordOf(bob) } });
      const { response } = await answer(deps(), request, 'mutate');
      assert.equal(patchedObject(request, response.patch).metadata?.annotations?.[AUTHORIZED_BY], undefined);
      assert.deepEqual(response.warnings, ['levee: override not recorded: alice may not override scale-to-zero']);
    });

    it('records no automation identity', async () => {
      const authorizer = fakeAuthorizer(['scale-to-zero']);
      const request = ledgerRequest({ replicas: 3, annotations: overrideAnnotations, oldAnnotations: {}, username: ARGO });
      const { response } = await answer(deps({ authorizer }), request, 'mutate');
      assert.equal(response.patch, undefined);
      assert.match(response.warnings?.[0] ?? '', /^levee: override not recorded: system:serviceaccount:argocd:argocd-application-controller is an automation identity/);
      assert.deepEqual(authorizer.asked, []);
    });

    it('removes the record with the override', async () => {
      const request = ledgerRequest({ replicas: 3, annotations: { [AUTHORIZED_BY]: recordOf(bob) }, oldAnnotations: { ...overrideAnnotations, [AUTHORIZED_BY]: recordOf(bob) } });
      const { response } = await answer(deps(), request, 'mutate');
      assert.deepEqual(patchedObject(request, response.patch).metadata?.annotations, {});
    });

    it('puts back a stored stamp a request changes by itself, instead of deleting it', async () => {
      const request = ledgerRequest({ replicas: 3, annotations: { [OVERRIDDEN_BY]: 'mallory' }, oldAnnotations: { [OVERRIDDEN_BY]: 'bob' } });
      const { response } = await answer(deps(), request, 'mutate');
      assert.deepEqual(patchedObject(request, response.patch).metadata?.annotations, { [OVERRIDDEN_BY]: 'bob' });
    });

    it('puts back stored stamps and the record a request removes', async () => {
      const stored = { [OVERRIDDEN_BY]: 'bob', [OVERRIDDEN_AT]: '2026-11-23T11:00:00Z', ...overrideAnnotations, [AUTHORIZED_BY]: recordOf(bob) };
      const request = ledgerRequest({ replicas: 3, annotations: overrideAnnotations, oldAnnotations: stored });
      const { response } = await answer(deps(), request, 'mutate');
      assert.deepEqual(patchedObject(request, response.patch).metadata?.annotations, stored);
    });

    it('drops a record a request adds by itself for an override it does not write', async () => {
      const request = ledgerRequest({ replicas: 3, annotations: { ...overrideAnnotations, [AUTHORIZED_BY]: recordOf(bob) }, oldAnnotations: overrideAnnotations });
      const { response } = await answer(deps(), request, 'mutate');
      assert.deepEqual(patchedObject(request, response.patch).metadata?.annotations, overrideAnnotations);
    });

    it('drops a stamp the old object did not have, keeps unchanged ones, and leaves other annotations alone', async () => {
      const forged = ledgerRequest({ replicas: 3, annotations: { [OVERRIDDEN_BY]: 'mallory', 'levee.dev/overridden-for': 'x', team: 'ledger' }, oldAnnotations: { team: 'ledger' } });
      assert.deepEqual(patchedObject(forged, (await answer(deps(), forged, 'mutate')).response.patch).metadata?.annotations, { team: 'ledger' });
      const unchanged = ledgerRequest({ replicas: 3, annotations: { [OVERRIDDEN_BY]: 'bob', team: 'ledger' } });
      assert.equal((await answer(deps(), unchanged, 'mutate')).response.patch, undefined);
      const created = ledgerRequest({ replicas: 2, operation: 'CREATE', annotations: { [OVERRIDDEN_AT]: '2020-01-01T00:00:00Z' } });
      assert.deepEqual(patchedObject(created, (await answer(deps(), created, 'mutate')).response.patch).metadata?.annotations, {});
    });

    it('never refuses, leaving the refusal to /validate', async () => {
      const request = ledgerRequest({ replicas: 0, annotations: { [OVERRIDDEN_BY]: 'mallory' }, oldAnnotations: {} });
      const { response, decision } = await answer(deps(), request, 'mutate');
      assert.equal(decision?.allowed, false);
      assert.equal(response.allowed, true);
      assert.equal(response.status, undefined);
    });
  });

  describe('/validate: the backstop for stamps /mutate did not fix', () => {
    it('refuses a request that changes a stamp levee would not, naming it', async () => {
      const request = ledgerRequest({ replicas: 3, annotations: { [OVERRIDDEN_BY]: 'mallory' }, oldAnnotations: { [OVERRIDDEN_BY]: 'bob' } });
      const { response } = await answer(deps(), request, 'validate');
      assert.equal(response.allowed, false);
      assert.equal(response.status?.message, 'levee denied this request: levee.dev/overridden-by is written by levee alone, and this request sets it to "mallory" (stored: "bob"); leave levee\'s stamps as they are');
    });

    it('refuses a forged author record, and one that removes a stamp', async () => {
      const forged = ledgerRequest({ replicas: 3, annotations: { ...overrideAnnotations, [AUTHORIZED_BY]: recordOf(bob) }, oldAnnotations: overrideAnnotations });
      assert.match((await answer(deps(), forged, 'validate')).response.status?.message ?? '', /levee\.dev\/override-authorized-by is written by levee alone/);
      const forgedOnWrite = ledgerRequest({ replicas: 3, annotations: { ...overrideAnnotations, [AUTHORIZED_BY]: recordOf(bob) }, oldAnnotations: {} });
      assert.equal((await answer(deps(), forgedOnWrite, 'validate')).response.allowed, false, 'a request writing the override may carry a record of its requester only');
      const removed = ledgerRequest({ replicas: 3, annotations: {}, oldAnnotations: { [OVERRIDDEN_AT]: '2026-11-23T11:00:00Z' } });
      assert.match((await answer(deps(), removed, 'validate')).response.status?.message ?? '', /overridden-at is written by levee alone, and this request removes it/);
    });

    it('refuses a record or stamp written through a status subresource, where /mutate never runs, and lets the status itself through', async () => {
      const throughStatus = (annotations: Record<string, string>, oldAnnotations: Record<string, string>) => ({
        ...ledgerRequest({ replicas: 3, oldReplicas: 3, annotations, oldAnnotations }),
        subResource: 'status',
      });
      const forgedRecord = throughStatus({ ...overrideAnnotations, [AUTHORIZED_BY]: recordOf(bob) }, overrideAnnotations);
      assert.match((await answer(deps(), forgedRecord, 'validate')).response.status?.message ?? '', /levee\.dev\/override-authorized-by is written by levee alone/);
      assert.equal((await answer(deps(), forgedRecord, 'mutate')).response.patch, undefined, '/mutate leaves subresources alone');
      const forgedStamp = throughStatus({ [OVERRIDDEN_BY]: 'mallory' }, {});
      assert.equal((await answer(deps(), forgedStamp, 'validate')).response.allowed, false);
      const ownOverride = throughStatus({ ...overrideAnnotations, [AUTHORIZED_BY]: recordOf(bob) }, {});
      assert.equal((await answer(deps(), { ...ownOverride, userInfo: bob }, 'validate')).response.allowed, true, 'an override written with a record of its own writer is no forgery');
      const statusOnly = throughStatus({ ...overrideAnnotations, [AUTHORIZED_BY]: recordOf(bob) }, { ...overrideAnnotations, [AUTHORIZED_BY]: recordOf(bob) });
      assert.equal((await answer(deps(), statusOnly, 'validate')).response.allowed, true);
    });

    it('refuses a Binding carrying a stamp or a record (the API server copies its annotations onto the Pod, with no admission of the Pod), and lets a plain one through', async () => {
      const binding = (annotations: Record<string, string> | undefined, subResource: string | undefined): AdmissionRequest =>
        admissionRequest({
          kind: { group: '', version: 'v1', kind: 'Binding' },
          resource: { group: '', version: 'v1', resource: subResource ? 'pods' : 'bindings' },
          ...(subResource ? { subResource } : {}),
          operation: 'CREATE',
          namespace: 'payments',
          name: 'ledger-0',
          object: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'ledger-0', namespace: 'payments', ...(annotations ? { annotations } : {}) }, target: { apiVersion: 'v1', kind: 'Node', name: 'od-1' } } as KubeObject,
          username: 'system:serviceaccount:payments:binder',
        });
      for (const subResource of ['binding', undefined]) {
        const forgedRecord = await answer(deps(), binding({ ...overrideAnnotations, [AUTHORIZED_BY]: recordOf(bob) }, subResource), 'validate');
        assert.match(forgedRecord.response.status?.message ?? '', /levee\.dev\/override-authorized-by is written by levee alone/);
        assert.equal((await answer(deps(), binding({ [OVERRIDDEN_BY]: 'mallory' }, subResource), 'validate')).response.allowed, false);
        assert.equal((await answer(deps(), binding(undefined, subResource), 'validate')).response.allowed, true);
        assert.equal((await answer(deps(), binding({ [OVERRIDDEN_BY]: 'mallory' }, subResource), 'mutate')).response.patch, undefined, '/mutate is never sent a Binding');
      }
    });

    it('accepts what /mutate writes for the same request', async () => {
      const authorizer = fakeAuthorizer(['scale-to-zero']);
      const request = ledgerRequest({ replicas: 0, annotations: overrideAnnotations, oldAnnotations: {} });
      const mutated = await answer(deps({ authorizer }), request, 'mutate');
      const object = patchedObject(request, mutated.response.patch);
      assert.ok(object.metadata?.annotations?.[AUTHORIZED_BY]);
      const validated = await answer(deps({ authorizer }), { ...request, object }, 'validate');
      assert.equal(validated.response.allowed, true, validated.response.status?.message);
    });

    it('refuses an overridden-at far from now, or an overridden-by naming someone else', async () => {
      const authorizer = fakeAuthorizer(['scale-to-zero']);
      const stamped = (by: string, at: string) => ledgerRequest({ replicas: 0, annotations: { ...overrideAnnotations, [AUTHORIZED_BY]: recordOf(alice), [OVERRIDDEN_BY]: by, [OVERRIDDEN_AT]: at }, oldAnnotations: {} });
      assert.equal((await answer(deps({ authorizer }), stamped('alice', '2026-11-23T12:00:30Z'), 'validate')).response.allowed, true);
      assert.match((await answer(deps({ authorizer }), stamped('alice', '2026-11-23T10:00:00Z'), 'validate')).response.status?.message ?? '', /overridden-at is written by levee alone/);
      assert.match((await answer(deps({ authorizer }), stamped('root', '2026-11-23T12:00:00Z'), 'validate')).response.status?.message ?? '', /overridden-by is written by levee alone/);
    });

    it('refuses overridden-* stamps on a request that honours no override', async () => {
      const request = ledgerRequest({ replicas: 3, operation: 'CREATE', annotations: { [OVERRIDDEN_BY]: 'alice', [OVERRIDDEN_AT]: '2026-11-23T12:00:00Z' } });
      const { response } = await answer(deps(), request, 'validate');
      assert.equal(response.allowed, false);
      assert.equal(response.status?.message?.match(/written by levee alone/g)?.length, 2);
    });
  });

  describe('a record on a kind no policy judges is never read (validate-levee-annotations does not take their writes)', () => {
    const kinds = [
      { kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' }, name: 'ledger-settings' },
      { kind: { group: '', version: 'v1', kind: 'Secret' }, resource: { group: '', version: 'v1', resource: 'secrets' }, name: 'ledger-token' },
      { kind: { group: '', version: 'v1', kind: 'Event' }, resource: { group: '', version: 'v1', resource: 'events' }, name: 'ledger.1' },
      { kind: { group: 'events.k8s.io', version: 'v1', kind: 'Event' }, resource: { group: 'events.k8s.io', version: 'v1', resource: 'events' }, name: 'ledger.2' },
      // The Service the Monzo Deployment alone backs: scale-to-zero reads its selector, never its annotations.
      { kind: { group: '', version: 'v1', kind: 'Service' }, resource: { group: '', version: 'v1', resource: 'services' }, name: 'ledger' },
    ];
    for (const { kind, resource, name } of kinds) {
      it(`a ${kind.kind}${kind.group ? `.${kind.group}` : ''} update, the object carrying an override and a stored record naming an admin: no policy judges it, so no override is resolved and nobody is asked`, async () => {
        const authorizer = fakeAuthorizer(['scale-to-zero'], ['alice']);
        const object = (annotations: Record<string, string>) => ({
          apiVersion: kind.group ? `${kind.group}/${kind.version}` : kind.version,
          kind: kind.kind,
          metadata: { name, namespace: 'payments', annotations },
          ...(kind.kind === 'Service' ? { spec: { selector: {} } } : {}),
        });
        const forged = { ...overrideAnnotations, [AUTHORIZED_BY]: recordOf(alice), [OVERRIDDEN_BY]: 'alice' };
        // Stored already (the backstop no longer takes these writes), and kept by this update.
        const request = admissionRequest({ kind, resource, operation: 'UPDATE', namespace: 'payments', name, username: 'mallory', object: object({ ...forged, team: 'payments' }), oldObject: object(forged) });
        const judgement = await answer(deps({ authorizer }), request, 'validate');
        assert.deepEqual(judgement.judged, [], `a policy judged a ${kind.kind}`);
        assert.deepEqual(judgement.decision?.findings ?? [], []);
        assert.deepEqual(judgement.decision?.overrides, { honoured: [], ignored: [] });
        assert.deepEqual(authorizer.asked, []);
      });
    }

    it('a forged record on the Service does not lift the refusal of scaling its only backend to 0', async () => {
      const authorizer = fakeAuthorizer(['scale-to-zero'], ['alice']);
      const judgement = await answer(deps({ authorizer }), ledgerRequest({ replicas: 0, username: 'mallory', annotations: overrideAnnotations }), 'validate');
      assert.equal(judgement.response.allowed, false);
      assert.match(judgement.response.status?.message ?? '', /levee has no record of who set this override/);
    });
  });

  describe('stamps on every kind, not only workloads', () => {
    const kinds = [
      { kind: { group: '', version: 'v1', kind: 'Node' }, resource: { group: '', version: 'v1', resource: 'nodes' }, namespace: '' },
      { kind: { group: 'batch', version: 'v1', kind: 'Job' }, resource: { group: 'batch', version: 'v1', resource: 'jobs' }, namespace: 'payments' },
      { kind: { group: 'karpenter.sh', version: 'v1', kind: 'NodePool' }, resource: { group: 'karpenter.sh', version: 'v1', resource: 'nodepools' }, namespace: '' },
      { kind: { group: 'apps', version: 'v1', kind: 'DaemonSet' }, resource: { group: 'apps', version: 'v1', resource: 'daemonsets' }, namespace: 'payments' },
      { kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'payments' },
    ];
    for (const { kind, resource, namespace } of kinds) {
      it(`puts back a stamp a request removes from a ${kind.kind}, the request itself carrying no levee.dev/ annotation`, async () => {
        const object = (annotations: Record<string, string>) => ({
          apiVersion: kind.group ? `${kind.group}/${kind.version}` : kind.version,
          kind: kind.kind,
          metadata: { name: 'x', ...(namespace ? { namespace } : {}), annotations },
        });
        const request = admissionRequest({ kind, resource, operation: 'UPDATE', namespace, name: 'x', username: 'mallory', object: object({ team: 't' }), oldObject: object({ [OVERRIDDEN_BY]: 'bob', team: 't' }) });
        const mutated = await answer(deps(), request, 'mutate');
        assert.deepEqual(patchedObject(request, mutated.response.patch).metadata?.annotations, { [OVERRIDDEN_BY]: 'bob', team: 't' });
      });

      it(`puts back a forged stamp on a ${kind.kind} in /mutate, and /validate refuses it where /mutate was skipped`, async () => {
        const object = (annotations: Record<string, string>) => ({
          apiVersion: kind.group ? `${kind.group}/${kind.version}` : kind.version,
          kind: kind.kind,
          metadata: { name: 'x', ...(namespace ? { namespace } : {}), annotations },
        });
        const request = admissionRequest({ kind, resource, operation: 'UPDATE', namespace, name: 'x', username: 'mallory', object: object({ [OVERRIDDEN_BY]: 'mallory', team: 't' }), oldObject: object({ [OVERRIDDEN_BY]: 'bob', team: 't' }) });
        const mutated = await answer(deps(), request, 'mutate');
        assert.deepEqual(patchedObject(request, mutated.response.patch).metadata?.annotations, { [OVERRIDDEN_BY]: 'bob', team: 't' });
        const validated = await answer(deps(), request, 'validate');
        assert.equal(validated.response.allowed, false);
        assert.match(validated.response.status?.message ?? '', /overridden-by is written by levee alone/);
      });
    }

    it('lets a controller create a ReplicaSet with the annotations it copies from its Deployment, once /mutate has dropped the stamps and the record', async () => {
      const copied = { ...overrideAnnotations, [AUTHORIZED_BY]: recordOf(alice), [OVERRIDDEN_BY]: 'alice', [OVERRIDDEN_AT]: '2026-11-23T11:00:00Z' };
      const replicaSet = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'ledger-abc', namespace: 'payments', annotations: copied }, spec: { replicas: 3, selector: { matchLabels: STABLE }, template: { metadata: { labels: STABLE }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] } } } };
      const request = admissionRequest({
        kind: { group: 'apps', version: 'v1', kind: 'ReplicaSet' },
        resource: { group: 'apps', version: 'v1', resource: 'replicasets' },
        operation: 'CREATE',
        namespace: 'payments',
        name: 'ledger-abc',
        username: 'system:serviceaccount:kube-system:deployment-controller',
        object: replicaSet,
      });
      const mutated = await answer(deps(), request, 'mutate');
      const object = patchedObject(request, mutated.response.patch);
      assert.deepEqual(object.metadata?.annotations, overrideAnnotations);
      const validated = await answer(deps(), { ...request, object }, 'validate');
      assert.equal(validated.response.allowed, true, validated.response.status?.message);
    });
  });
});
