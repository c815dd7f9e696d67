/**
 * Attacks on two promises, through a levee over real HTTPS:
 * - scale-to-zero: a ReplicaSet's scale is its Deployment's rollout step only when a
 *   `scale-to-zero.controllers` identity sends it and the ReplicaSet's controller is a Deployment
 *   levee caches with that uid; anyone else's scale of it is judged, its own pods its own;
 * - overrides: an override counts only when both its recorded author and the requester may
 *   `override` the policy (README "Overrides").
 */
import assert from 'node:assert/strict';
import type { PolicyId } from '../../src/config.js';
import { AUTHORIZED_BY, recordValue } from '../../src/engine/authorship.js';
import type { Authorization, OverrideAuthorizer } from '../../src/engine/overrides.js';
import type { KubeObject, UserInfo } from '../../src/kube/types.js';
import { stateFromManifests } from '../../src/audit/offline-state.js';
import { node, nodeReview, spotLabel } from '../support/capacity-reviews.js';
import {
  allowed,
  Caches,
  KCM_DEPLOY,
  KCM_RS,
  objectReview,
  pod,
  podTemplate,
  ref,
  refusedFor,
  scaleReview,
  service,
  withImage,
  withReplicas,
  workload,
  STZ,
  useWorkloadLevee,
  type Judge,
  as,
  dryRun,
} from '../support/workload-reviews.js';

const KCM_STS = 'system:serviceaccount:kube-system:statefulset-controller';
const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';


const admin: UserInfo = { username: 'alice', uid: 'alice-full', groups: ['system:masters', 'system:authenticated'] };
/** The same person through a scoped credential: same name, another uid, fewer groups. */
const aliceScoped: UserInfo = { username: 'alice', uid: 'alice-scoped', groups: ['system:authenticated'] };
const developer: UserInfo = { username: 'dev', uid: 'dev-1', groups: ['system:authenticated'] };
const oncall: UserInfo = { username: 'bob', uid: 'bob-1', groups: ['oncall', 'system:authenticated'] };
const ciBot: UserInfo = { username: 'system:serviceaccount:ci:deployer', uid: 'sa-ci', groups: ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'] };
const argo: UserInfo = { username: ARGO, uid: 'sa-argo', groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd', 'system:authenticated'] };

/** RBAC as a cluster would have it: cluster admins, the `oncall` group (levee-override) and the users named. */
function rbac(extraUsers: string[] = []): OverrideAuthorizer & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async mayOverride(user: UserInfo, policy: PolicyId): Promise<Authorization> {
      asked.push(`${user.username}/${user.uid ?? ''}/${policy}`);
      const may = user.groups.includes('system:masters') || user.groups.includes('oncall') || extraUsers.includes(user.username) || user.username === ARGO;
      return may ? { allowed: true } : { allowed: false, reason: 'no RBAC rule' };
    },
  };
}

function overrideBy(author: UserInfo, policies = 'scale-to-zero'): Record<string, string> {
  const annotations = {
    'levee.dev/override': policies,
    'levee.dev/override-reason': 'INC-1: draining before the migration',
    'levee.dev/override-expires': new Date(Date.now() + 2 * 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  return { ...annotations, [AUTHORIZED_BY]: recordValue(author, annotations) };
}

/** Deployment `web` (2 ready pods through ReplicaSet web-1) alone behind Service `web`, its annotations as given. */
function webAlone(annotations?: Record<string, string>): Caches {
  const labels = { app: 'web' };
  const deployment = workload('Deployment', 'web', 2, { labels, ...(annotations ? { annotations } : {}) });
  const rs = workload('ReplicaSet', 'web-1', 2, { labels, owner: ref('Deployment', 'web') });
  (rs.spec as { template: unknown }).template = podTemplate(labels, 'registry.example/app:1.0', { 'pod-template-hash': '1' });
  return new Caches()
    .add(service('web', labels), deployment, rs, pod('web-1-a', labels, ref('ReplicaSet', 'web-1')), pod('web-1-b', labels, ref('ReplicaSet', 'web-1')))
    .endpoints('web', ['web-1-a', 'web-1-b']);
}

describe('attacks: rollout steps of scale-to-zero and the rights an override needs', function () {
  this.timeout(30_000);
  const { levee: workloadLevee, judgeWith } = useWorkloadLevee();

  function leveeOverNodes(objects: KubeObject[], authorizer: OverrideAuthorizer): Promise<Judge> {
    return judgeWith({ cluster: stateFromManifests(objects, 'default'), authorizer });
  }

  function levee(caches: Caches, options: { verdict?: 'Healthy' | 'Unhealthy'; authorizer?: OverrideAuthorizer } = {}): Promise<Judge> {
    return workloadLevee(caches, options.verdict, options.authorizer);
  }

  // ------------------------------------------------------------ (a) rollout steps

  describe('scale-to-zero: whose scale of a ReplicaSet is a rollout step', () => {
    it('the Deployment controller scaling its own ReplicaSet to 0 is a rollout step (scale, update and delete)', async () => {
      const judge = await levee(webAlone());
      allowed(await judge(scaleReview('ReplicaSet', 'web-1', 2, 0, KCM_DEPLOY)));
      const rs = workload('ReplicaSet', 'web-1', 2, { labels: { app: 'web' }, owner: ref('Deployment', 'web') });
      allowed(await judge(objectReview('UPDATE', rs, withReplicas(rs, 0), KCM_DEPLOY)));
      const answer = await judge(objectReview('DELETE', withReplicas(rs, 0), null, KCM_DEPLOY));
      allowed(answer);
    });

    it('another kube-controller-manager identity (statefulset-controller) is one of scale-to-zero.controllers by default', async () => {
      const judge = await levee(webAlone());
      allowed(await judge(scaleReview('ReplicaSet', 'web-1', 2, 0, KCM_STS)));
    });

    it('a person scaling a Deployment\'s ReplicaSet to 0 is judged: its own pods are its own', async () => {
      const judge = await levee(webAlone());
      refusedFor(await judge(scaleReview('ReplicaSet', 'web-1', 2, 0, 'alice')), STZ);
      const rs = workload('ReplicaSet', 'web-1', 2, { labels: { app: 'web' }, owner: ref('Deployment', 'web') });
      refusedFor(await judge(objectReview('UPDATE', rs, withReplicas(rs, 0), 'alice')), STZ);
    });

    it('kube-controller-manager without service account credentials is a controller; look-alike names are people', async () => {
      const judge = await levee(webAlone());
      allowed(await judge(as(scaleReview('ReplicaSet', 'web-1', 2, 0), { username: 'system:kube-controller-manager', groups: ['system:authenticated'] })));
      for (const username of ['system:serviceaccount:default:deployment-controller', 'system:serviceaccount:kube-system:deployment-controller-x', 'system:serviceaccount:kube-system:Deployment-Controller', 'system:kube-controller-manager ', 'deployment-controller']) {
        refusedFor(await judge(as(scaleReview('ReplicaSet', 'web-1', 2, 0), { username, groups: ['system:serviceaccounts', 'system:authenticated'] })), STZ);
      }
    });

    it('a person in kube-system\'s service account group, or naming the controller as a group, is still a person', async () => {
      const judge = await levee(webAlone());
      refusedFor(await judge(as(scaleReview('ReplicaSet', 'web-1', 2, 0), { username: 'mallory', groups: ['system:serviceaccounts:kube-system', 'system:kube-controller-manager', KCM_DEPLOY, 'system:authenticated'] })), STZ);
    });

    it('a person impersonating the deployment-controller is indistinguishable from it (whoever may impersonate is trusted)', async () => {
      // The API server hands levee the impersonated userInfo only; this records that levee takes it.
      const judge = await levee(webAlone());
      allowed(await judge(as(scaleReview('ReplicaSet', 'web-1', 2, 0), { username: KCM_DEPLOY, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] })));
    });

    it('a ReplicaSet naming its Deployment with another uid is judged even when the Deployment controller scales it', async () => {
      const labels = { app: 'web' };
      const rs = workload('ReplicaSet', 'web-1', 2, { labels, owner: ref('Deployment', 'web', 'uid-of-a-deleted-web') });
      const caches = new Caches()
        .add(service('web', labels), workload('Deployment', 'web', 2, { labels }), rs, pod('web-1-a', labels, ref('ReplicaSet', 'web-1')))
        .endpoints('web', ['web-1-a']);
      const judge = await levee(caches);
      refusedFor(await judge(scaleReview('ReplicaSet', 'web-1', 2, 0, KCM_DEPLOY)), STZ);
    });

    it('a non-controller reference to the Deployment (controller: false) makes no rollout step', async () => {
      const labels = { app: 'web' };
      const rs = workload('ReplicaSet', 'web-1', 2, { labels, owner: { ...ref('Deployment', 'web'), controller: false } });
      const caches = new Caches()
        .add(service('web', labels), workload('Deployment', 'web', 2, { labels }), rs, pod('web-1-a', labels, ref('ReplicaSet', 'web-1')))
        .endpoints('web', ['web-1-a']);
      const judge = await levee(caches);
      refusedFor(await judge(scaleReview('ReplicaSet', 'web-1', 2, 0, KCM_DEPLOY)), STZ);
    });

    it('an orphaned ReplicaSet (Deployment deleted with --cascade=orphan) scaled to 0 is judged, even by the Deployment controller', async () => {
      const labels = { app: 'web' };
      const caches = new Caches()
        .add(service('web', labels), workload('ReplicaSet', 'web-1', 2, { labels }), pod('web-1-a', labels, ref('ReplicaSet', 'web-1')))
        .endpoints('web', ['web-1-a']);
      const judge = await levee(caches);
      refusedFor(await judge(scaleReview('ReplicaSet', 'web-1', 2, 0, KCM_RS)), STZ);
      refusedFor(await judge(scaleReview('ReplicaSet', 'web-1', 2, 0, KCM_DEPLOY)), STZ);
    });

    it('the same ReplicaSet once re-adopted by a new Deployment is that Deployment\'s rollout step', async () => {
      const labels = { app: 'web' };
      const caches = new Caches()
        .add(service('web', labels), workload('Deployment', 'web', 2, { labels }), workload('ReplicaSet', 'web-1', 2, { labels, owner: ref('Deployment', 'web') }), pod('web-1-a', labels, ref('ReplicaSet', 'web-1')))
        .endpoints('web', ['web-1-a']);
      const judge = await levee(caches);
      allowed(await judge(scaleReview('ReplicaSet', 'web-1', 2, 0, KCM_DEPLOY)));
      // The Deployment scaled to 0 by a person is still judged: its adopted ReplicaSet's pods are its own.
      refusedFor(await judge(scaleReview('Deployment', 'web', 2, 0, 'alice')), STZ);
    });

    it('two ReplicaSets of one Deployment mid-rollout: a person may take either to 0 while the other serves, not the Deployment', async () => {
      const labels = { app: 'web' };
      const old = workload('ReplicaSet', 'web-1', 1, { labels, owner: ref('Deployment', 'web') });
      const next = workload('ReplicaSet', 'web-2', 1, { labels, owner: ref('Deployment', 'web') });
      const caches = () => new Caches()
        .add(service('web', labels), workload('Deployment', 'web', 2, { labels }), old, next, pod('web-1-a', labels, ref('ReplicaSet', 'web-1')), pod('web-2-a', labels, ref('ReplicaSet', 'web-2')))
        .endpoints('web', ['web-1-a', 'web-2-a']);
      // Either, each on its own: once one is let go, the other is the Service's last backend
      // (replicaset-going-to-zero-attacks.test.ts), so each is asked of a levee that saw nothing yet.
      allowed(await (await levee(caches()))(scaleReview('ReplicaSet', 'web-1', 1, 0, 'alice')));
      allowed(await (await levee(caches()))(scaleReview('ReplicaSet', 'web-2', 1, 0, 'alice')));
      const judge = await levee(caches());
      refusedFor(await judge(scaleReview('Deployment', 'web', 2, 0, 'alice')), STZ);
      allowed(await judge(scaleReview('ReplicaSet', 'web-1', 1, 0, KCM_DEPLOY)));
    });

    it('pods naming the ReplicaSet with a wrong uid are never its Deployment\'s, and the Deployment controller\'s step stays unjudged', async () => {
      const labels = { app: 'web' };
      const caches = webAlone()
        .add(pod('stray', labels, ref('ReplicaSet', 'web-1', 'uid-not-web-1')))
        .endpoints('web', ['web-1-a', 'web-1-b', 'stray']);
      const judge = await levee(caches);
      allowed(await judge(scaleReview('ReplicaSet', 'web-1', 2, 0, KCM_DEPLOY)));
    });
  });

  // ------------------------------------------------------------ (b) override rights

  describe('overrides: both the recorded author and the requester must be allowed', () => {
    it('the author through a scoped credential (same name, other uid, fewer groups) does not borrow the full credential\'s right', async () => {
      const authorizer = rbac();
      const judge = await levee(webAlone(overrideBy(admin)), { authorizer });
      const answer = await judge(as(scaleReview('Deployment', 'web', 2, 0), aliceScoped));
      refusedFor(answer, /override ignored: not authorized: alice may not override scale-to-zero/);
      assert.ok(authorizer.asked.includes('alice/alice-scoped/scale-to-zero'), `the scoped credential itself is asked: ${authorizer.asked.join(', ')}`);
    });

    it('the author with the full credential again goes through, and a scoped credential asked right after is not answered from that cache', async () => {
      const judge = await levee(webAlone(overrideBy(admin)), { authorizer: rbac() });
      allowed(await judge(as(scaleReview('Deployment', 'web', 2, 0), admin)));
      refusedFor(await judge(as(scaleReview('Deployment', 'web', 2, 0), aliceScoped)), /override ignored/);
    });

    it('a requester in a group granted levee-override counts on the admin\'s recorded override', async () => {
      const judge = await levee(webAlone(overrideBy(admin)), { authorizer: rbac() });
      const answer = await judge(as(scaleReview('Deployment', 'web', 2, 0), oncall));
      allowed(answer);
      assert.ok((answer.warnings ?? []).some((w) => /scale-to-zero/.test(w) && /overridden/.test(w)), JSON.stringify(answer.warnings));
    });

    it('a developer\'s kubectl scale under an admin\'s override is refused, saying the requester must be allowed too', async () => {
      const judge = await levee(webAlone(overrideBy(admin)), { authorizer: rbac() });
      refusedFor(await judge(as(scaleReview('Deployment', 'web', 2, 0), developer)), /override ignored: not authorized: dev may not override scale-to-zero.*set by alice, but the requester must be allowed to override too/);
    });

    it('a ServiceAccount requester without the right is refused; with it, goes through', async () => {
      const caches = webAlone(overrideBy(admin));
      refusedFor(await (await levee(caches, { authorizer: rbac() }))(as(scaleReview('Deployment', 'web', 2, 0), ciBot)), /override ignored: not authorized: system:serviceaccount:ci:deployer may not override/);
      allowed(await (await levee(webAlone(overrideBy(admin)), { authorizer: rbac([ciBot.username]) }))(as(scaleReview('Deployment', 'web', 2, 0), ciBot)));
    });

    it('Argo CD syncing replicas: 0 after a person set the override counts on that person\'s right', async () => {
      const annotations = overrideBy(admin);
      const judge = await levee(webAlone(annotations), { authorizer: rbac() });
      const before = workload('Deployment', 'web', 2, { annotations });
      allowed(await judge(as(objectReview('UPDATE', before, withReplicas(before, 0)), argo)));
    });

    it('Argo CD writing the override itself never authorizes it, whatever its rights', async () => {
      const judge = await levee(webAlone(), { authorizer: rbac() });
      const before = workload('Deployment', 'web', 2);
      const { [AUTHORIZED_BY]: _record, ...annotations } = overrideBy(admin);
      const after = { ...withReplicas(before, 0), metadata: { ...before.metadata, annotations } } as KubeObject;
      refusedFor(await judge(as(objectReview('UPDATE', before, after), argo)), /override ignored: not authorized: .*automation identity/);
    });

    it('a record naming an author who may not override counts for nobody, even for an admin requester', async () => {
      const judge = await levee(webAlone(overrideBy(developer)), { authorizer: rbac() });
      refusedFor(await judge(as(scaleReview('Deployment', 'web', 2, 0), admin)), /override ignored: not authorized: dev, who set this override as levee recorded, may not override/);
    });

    it('a dry-run gets the same answers as the real request', async () => {
      const judge = await levee(webAlone(overrideBy(admin)), { authorizer: rbac() });
      refusedFor(await judge(dryRun(as(scaleReview('Deployment', 'web', 2, 0), developer))), /override ignored: not authorized: dev may not override/);
      allowed(await judge(dryRun(as(scaleReview('Deployment', 'web', 2, 0), oncall))));
    });

    it('the override of a Deployment lets its Deployment controller\'s rollout steps and a person\'s ReplicaSet scale be judged on their own', async () => {
      // The parent's override is on the Deployment; a person scaling its ReplicaSet has no override on the ReplicaSet.
      const judge = await levee(webAlone(overrideBy(admin)), { authorizer: rbac() });
      refusedFor(await judge(as(scaleReview('ReplicaSet', 'web-1', 2, 0), admin)), STZ);
      allowed(await judge(scaleReview('ReplicaSet', 'web-1', 2, 0, KCM_DEPLOY)));
    });

    it('a probe-gate override lets a rollout through only for a requester who may override too', async () => {
      const annotations = overrideBy(admin, 'probe-gate');
      const before = workload('Deployment', 'web', 2, { annotations });
      const after = withImage(before, 'registry.example/app:2.0');
      const judge = await levee(webAlone(annotations), { verdict: 'Unhealthy', authorizer: rbac() });
      refusedFor(await judge(as(objectReview('UPDATE', before, after), developer)), /override ignored: not authorized: dev may not override probe-gate/);
      allowed(await judge(as(objectReview('UPDATE', before, after), oncall)));
      // The Deployment controller's new ReplicaSet for that rollout is its step, not refused again.
      const rs = workload('ReplicaSet', 'web-2', 2, { image: 'registry.example/app:2.0', owner: ref('Deployment', 'web') });
      allowed(await judge(objectReview('CREATE', null, rs, KCM_DEPLOY)));
    });

    it('a spot-capacity override on a Node: a cordon by the on-call group goes through, by a developer it is refused; cluster-autoscaler is a failure handler, never refused', async () => {
      const annotated = (name: string): KubeObject => ({ ...node(name), metadata: { ...node(name).metadata, annotations: overrideBy(admin, 'spot-capacity') } }) as KubeObject;
      const fleet = [annotated('od-1'), node('od-2'), node('spot-1', spotLabel), node('spot-2', spotLabel)];
      const before = annotated('od-1');
      const cordoned = { ...before, spec: { unschedulable: true } } as KubeObject;
      const judge = await leveeOverNodes(fleet, rbac());
      const autoscaler: UserInfo = { username: 'system:serviceaccount:kube-system:cluster-autoscaler', uid: 'sa-ca', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] };
      refusedFor(await judge(as(nodeReview('UPDATE', before, cordoned), developer)), /override ignored: not authorized: dev may not override spot-capacity/);
      allowed(await judge(as(nodeReview('UPDATE', before, cordoned), autoscaler)));
      allowed(await judge(as(nodeReview('UPDATE', before, cordoned), oncall)));
      allowed(await judge(as(nodeReview('UPDATE', before, cordoned), admin)));
    });

    it('two users using one override at the same moment each get their own answer', async () => {
      const judge = await levee(webAlone(overrideBy(admin)), { authorizer: rbac() });
      const bodies = [oncall, developer, aliceScoped, admin].map((user) => dryRun(as(scaleReview('Deployment', 'web', 2, 0), user)));
      const answers = await Promise.all(bodies.map((body) => judge(body)));
      // Dry-runs, so none of them counts as the other's change: only the authorized go through.
      assert.deepEqual(answers.map((a) => a.allowed), [true, false, false, true], JSON.stringify(answers.map((a) => a.status?.message)));
    });
  });
});
