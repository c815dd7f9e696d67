// Attacks on "Only levee writes its stamps" (validate-levee-annotations), on scale-to-zero's
// judging of pod relabels (bare pods, pods/status, the confirmed-controller rule) and on the
// requests the node and pod matchConditions leave out, through a levee over real HTTPS, with the
// answers the README promises:
// - a stamp or record levee did not write is refused wherever the write comes from (a status
//   subresource, a Binding, a create), in kube-system too; a key in other letters is no stamp,
//   and no record either;
// - a pod relabelled out of the only Service it backs is refused unless its controller replaces
//   it, whoever sends the relabel and through whichever path;
// - a node update that node-update-of-a-node-taking-pods leaves out changes no count levee keeps.
import assert from 'node:assert/strict';
import type { AdmissionResponse } from '../../src/admission/types.js';
import type { PolicyId } from '../../src/config.js';
import { AUTHORIZED_BY, recordValue } from '../../src/engine/authorship.js';
import type { Authorization, OverrideAuthorizer } from '../../src/engine/overrides.js';
import type { KubeObject, UserInfo } from '../../src/kube/types.js';
import { node, nodeReview, onDemandLabel, review, spotLabel, useCapacityLevee } from '../support/capacity-reviews.js';
import { allowed, Caches, NS, notWarnedFor, objectReview, pod, ref, refusedFor, service, useWorkloadLevee, type Labels, type OwnerRef } from '../support/workload-reviews.js';

const FORGED = /is written by levee alone/;
const admin: UserInfo = { username: 'alice', uid: 'alice-full', groups: ['system:masters', 'system:authenticated'] };
const developer: UserInfo = { username: 'dev', uid: 'dev-1', groups: ['system:authenticated'] };
const rbac: OverrideAuthorizer = {
  async mayOverride(user: UserInfo, _policy: PolicyId): Promise<Authorization> {
    return user.groups.includes('system:masters') ? { allowed: true } : { allowed: false, reason: 'no RBAC rule' };
  },
};
const override: Labels = {
  'levee.dev/override': 'scale-to-zero',
  'levee.dev/override-reason': 'INC-91: retiring the solo pod',
  'levee.dev/override-expires': new Date(Date.now() + 2 * 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
};
const forgedRecord = recordValue(admin, override);

type Review = { request: { userInfo: UserInfo; subResource?: string; namespace?: string } };
function as<T>(body: T, user: UserInfo): T {
  (body as Review).request.userInfo = user;
  return body;
}
function through<T>(body: T, subResource: string): T {
  (body as Review).request.subResource = subResource;
  return body;
}

function withMeta(object: KubeObject, meta: { labels?: Labels; annotations?: Labels; namespace?: string; ownerReferences?: OwnerRef[] }): KubeObject {
  return { ...object, metadata: { ...object.metadata, ...meta } } as KubeObject;
}

const solo: Labels = { app: 'solo' };
const quarantined: Labels = { app: 'quarantined' };
const relabelRefused = (response: AdmissionResponse, target = 'Pod/solo', services = 'solo'): void =>
  refusedFor(response, new RegExp(`\\[scale-to-zero\\] the new pod labels of ${target} leave Service ${services} in namespace`));

/** Service `solo` backed by pod `solo` alone (its ownerReferences as given). */
function soloAlone(owners?: OwnerRef[], annotations?: Labels, extra: KubeObject[] = []): Caches {
  const cached = withMeta(pod('solo', solo), { ...(owners ? { ownerReferences: owners } : {}), ...(annotations ? { annotations } : {}) });
  return new Caches().add(service('solo', solo), cached, ...extra).endpoints('solo', ['solo']);
}

function binding(annotations: Labels | undefined, subResource: 'binding' | undefined): unknown {
  const body = review({
    operation: 'CREATE',
    group: '',
    version: 'v1',
    kind: 'Binding',
    resource: subResource ? 'pods' : 'bindings',
    ...(subResource ? { subResource } : {}),
    name: 'solo',
    namespace: NS,
    object: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'solo', namespace: NS, ...(annotations ? { annotations } : {}) }, target: { apiVersion: 'v1', kind: 'Node', name: 'od-1' } } as KubeObject,
    oldObject: null,
    username: `system:serviceaccount:${NS}:binder`,
    groups: ['system:serviceaccounts', 'system:authenticated'],
  });
  return body;
}

describe('server: attacks on levee\'s stamps, pod relabels and the node and pod conditions', function () {
  this.timeout(30_000);

  describe('stamps: wherever the write comes from', () => {
    const { levee } = useWorkloadLevee();

    it('refuses a Binding (pods/binding, and the bindings resource) that carries a record or a stamp, and lets a plain Binding through', async () => {
      const judge = await levee(soloAlone());
      for (const subResource of ['binding', undefined] as const) {
        refusedFor(await judge(binding({ ...override, [AUTHORIZED_BY]: forgedRecord }, subResource)), /levee\.dev\/override-authorized-by is written by levee alone/);
        refusedFor(await judge(binding({ 'levee.dev/overridden-by': 'mallory' }, subResource)), /levee\.dev\/overridden-by is written by levee alone/);
        allowed(await judge(binding(undefined, subResource)));
        allowed(await judge(binding({ 'scheduler.example/zone': 'a' }, subResource)));
      }
    });

    it('refuses a record written through pods/status, in kube-system as anywhere else, and one that a JSON patch removes', async () => {
      const judge = await levee(soloAlone());
      for (const namespace of [NS, 'kube-system']) {
        const before = withMeta(pod('solo', solo, undefined, namespace), { annotations: override });
        const forged = as(through(objectReview('UPDATE', before, withMeta(before, { annotations: { ...override, [AUTHORIZED_BY]: forgedRecord } })), 'status'), developer);
        refusedFor(await judge(forged), /levee\.dev\/override-authorized-by is written by levee alone, and this request sets it/);
        const stamped = withMeta(before, { annotations: { ...override, [AUTHORIZED_BY]: forgedRecord } });
        const removed = through(objectReview('UPDATE', stamped, before), 'status');
        refusedFor(await judge(removed), /levee\.dev\/override-authorized-by is written by levee alone, and this request removes it/);
      }
    });

    it('refuses a Pod and a Node created with a record (/mutate-pods and /mutate-nodes fail open: this is what stops it while they are skipped)', async () => {
      const judge = await levee(soloAlone());
      const created = withMeta(pod('fresh', solo), { annotations: { ...override, [AUTHORIZED_BY]: recordValue(admin, override) } });
      refusedFor(await judge(as(objectReview('CREATE', null, created), developer)), FORGED);
      const forgedNode = withMeta(node('od-9', onDemandLabel), { annotations: { [AUTHORIZED_BY]: forgedRecord } });
      refusedFor(await judge(review({ operation: 'CREATE', group: '', version: 'v1', kind: 'Node', resource: 'nodes', name: 'od-9', object: forgedNode, oldObject: null, username: 'system:node:od-9', groups: ['system:nodes', 'system:authenticated'] })), FORGED);
    });

    it('refuses a record written through nodes/status, also by the node\'s own kubelet', async () => {
      const judge = await levee(soloAlone());
      const before = node('od-1', onDemandLabel);
      const after = withMeta(before, { annotations: { [AUTHORIZED_BY]: forgedRecord } });
      refusedFor(await judge(through(nodeReview('UPDATE', before, after, 'system:node:od-1'), 'status')), FORGED);
    });

    it('a key in capitals, which the API server accepts, is no stamp: let through, and never read as the record (the developer\'s relabel stays refused)', async () => {
      const stored = { ...override, 'LEVEE.DEV/override-authorized-by': forgedRecord, 'Levee.dev/overridden-by': 'alice' };
      const judge = await levee(soloAlone(undefined, stored), 'Healthy', rbac);
      const before = withMeta(pod('solo', solo), { annotations: override });
      allowed(await judge(as(through(objectReview('UPDATE', before, withMeta(before, { annotations: stored })), 'status'), developer)));
      const withCapitals = withMeta(pod('solo', solo), { annotations: stored });
      const relabel = await judge(as(objectReview('UPDATE', withCapitals, withMeta(withCapitals, { labels: quarantined })), developer));
      relabelRefused(relabel);
      assert.match(relabel.status?.message ?? '', /override ignored: not authorized: levee has no record of who set this override/);
    });
  });

  describe('pod relabels: whoever sends them, through whichever path', () => {
    const { levee } = useWorkloadLevee();
    const kubelet = { username: 'system:node:od-1', groups: ['system:nodes', 'system:authenticated'] };
    const kubeSystem = { username: 'system:serviceaccount:kube-system:endpointslice-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] };

    it('refuses a bare pod\'s relabel through pods/status by the kubelet identity and by a kube-system service account (their exemption is for deletes)', async () => {
      const judge = await levee(soloAlone());
      for (const user of [kubelet, kubeSystem]) {
        relabelRefused(await judge(as(through(objectReview('UPDATE', pod('solo', solo), pod('solo', quarantined)), 'status'), user)));
        relabelRefused(await judge(as(objectReview('UPDATE', pod('solo', solo), pod('solo', quarantined)), user)));
      }
    });

    it('refuses, for a controller reference levee cannot vouch for: a CronJob (whose controller makes Jobs, not pods), a Job or ReplicationController it does not cache, or one with another uid', async () => {
      const cronJob = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'nightly', namespace: NS, uid: 'uid-CronJob-nightly' }, spec: {} } as KubeObject;
      for (const owner of [ref('CronJob', 'nightly', 'uid-CronJob-nightly', 'batch/v1'), ref('Job', 'report', 'uid-Job-report', 'batch/v1'), ref('ReplicationController', 'legacy', 'uid-rc', 'v1')]) {
        const judge = await levee(soloAlone([owner], undefined, [cronJob]));
        relabelRefused(await judge(objectReview('UPDATE', withMeta(pod('solo', solo), { ownerReferences: [owner] }), withMeta(pod('solo', quarantined), { ownerReferences: [owner] }))));
      }
    });

    it('takes the uid as the proof of a controller, whatever group the reference names, as the ReplicaSet controller does (it claims pods by uid)', async () => {
      const otherGroup = ref('ReplicaSet', 'web-1', 'uid-ReplicaSet-web-1', 'example.com/v1');
      const caches = soloAlone([otherGroup]).deploymentBehind('web', 'web');
      const judge = await levee(caches);
      const before = withMeta(pod('solo', solo), { ownerReferences: [otherGroup] });
      // Out of its ReplicaSet's selector too: the ReplicaSet lets it go and makes another.
      allowed(await judge(objectReview('UPDATE', before, withMeta(pod('solo', { app: 'web-released' }), { ownerReferences: [otherGroup] }))));
    });

    it('answers two relabels of one Service\'s two bare backends sent at once alike: each is allowed, as the README says ("not judged today")', async () => {
      const pair = new Caches().add(service('solo', solo), pod('solo', solo), pod('duo', solo)).endpoints('solo', ['solo', 'duo']);
      const judge = await levee(pair);
      const answers = await Promise.all(['solo', 'duo'].map((name) => judge(through(objectReview('UPDATE', pod(name, solo), pod(name, quarantined)), 'status'))));
      answers.forEach((answer) => allowed(answer));
    });
  });

  describe('node-update-of-a-node-taking-pods: what it leaves out changes no count', () => {
    const levee = useCapacityLevee();
    const cordoned = (name: string, labels: Labels) => node(name, labels, { unschedulable: true });
    const tainted = (name: string, labels: Labels, effect: string) => node(name, labels, { taints: [{ key: 'dedicated', value: 'infra', effect }] });

    it('on a node already cordoned or tainted NoSchedule/NoExecute, a taint, a relabel to spot or a cordon is neither refused nor warned', async () => {
      for (const before of [cordoned('od-1', onDemandLabel), tainted('od-1', onDemandLabel, 'NoSchedule'), tainted('od-1', onDemandLabel, 'NoExecute')]) {
        const fleet = [before, node('od-2', onDemandLabel), node('spot-1', spotLabel)];
        const judge = await levee(fleet);
        const spec = before.spec as Record<string, unknown>;
        for (const after of [
          { ...before, spec: { ...spec, unschedulable: true, taints: [...((spec.taints as unknown[]) ?? []), { key: 'maintenance', effect: 'NoExecute' }] } },
          withMeta(before, { labels: { ...before.metadata!.labels, ...spotLabel } }),
        ] as KubeObject[]) {
          const answer = await judge(nodeReview('UPDATE', before, after));
          allowed(answer);
          notWarnedFor(answer, /spot-capacity/);
        }
      }
    });

    it('a PreferNoSchedule taint leaves the node taking pods, so the condition lets its cordon through and levee judges it', async () => {
      const before = tainted('od-1', onDemandLabel, 'PreferNoSchedule');
      const judge = await levee([before, node('spot-1', spotLabel), node('spot-2', spotLabel)]);
      refusedFor(await judge(nodeReview('UPDATE', before, { ...before, spec: { ...(before.spec as object), unschedulable: true } } as KubeObject)), /spot-capacity/);
    });
  });
});
