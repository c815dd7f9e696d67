// Attacks on how levee decides whose pod an endpoint is (ClusterState.podController), through a
// levee over real HTTPS: a pod is its controller's only when levee caches that controller, of
// the kind named, with the very uid named; otherwise it backs its Services as itself, or, when
// the owner it names may only be late into the cache, as the judged workload's own. However the
// reference is written (every PATCH spelling, JSON patch, strategic merge, server-side apply,
// reaches the webhook as the whole object before and after), whatever else the request does.
import assert from 'node:assert/strict';
import type { AdmissionResponse } from '../../src/admission/types.js';
import type { KubeObject } from '../../src/kube/types.js';
import {
  allowed,
  Caches,
  LAST_BACKEND_DELETED,
  notWarnedFor,
  objectReview,
  pod,
  ref,
  refusedFor,
  scaleReview,
  service,
  useWorkloadLevee,
  warnedFor,
  type Labels,
  type OwnerRef,
} from '../support/workload-reviews.js';

const solo: Labels = { app: 'solo' };
const quarantined: Labels = { app: 'quarantined' };
const relabelRefused = (response: AdmissionResponse): void => refusedFor(response, /\[scale-to-zero\] the new pod labels of Pod\/solo leave Service solo in namespace/);
const deleteWarned = (response: AdmissionResponse): void => warnedFor(response, /deleting Pod\/solo leaves Service solo/);

/** Pod `solo` with these labels and ownerReferences exactly as given (none when absent). */
function soloPod(labels: Labels, ownerReferences?: unknown[]): KubeObject {
  const object = pod('solo', labels);
  return ownerReferences ? ({ ...object, metadata: { ...object.metadata, ownerReferences } } as KubeObject) : object;
}

/** Service `solo` backed by pod `solo` alone, as cached (`cachedRefs` on it), beside Deployment `web` (ReplicaSet `web-1`, uid uid-ReplicaSet-web-1) behind Service `web`. */
function soloAlone(cachedRefs?: unknown[]): Caches {
  return new Caches().add(service('web', { app: 'web' }), service('solo', solo), soloPod(solo, cachedRefs)).deploymentBehind('web', 'web').endpoints('solo', ['solo']);
}

describe('server: attacks on whose pod an endpoint is (controller references and their uids)', function () {
  this.timeout(30_000);
  const { levee } = useWorkloadLevee();

  describe('how the reference is written', () => {
    it('refuses a relabel that adds, in the same request, a reference to a cached ReplicaSet with its very uid (a JSON patch on /metadata/ownerReferences; the old pod is bare)', async () => {
      const judge = await levee(soloAlone());
      relabelRefused(await judge(objectReview('UPDATE', soloPod(solo), soloPod(quarantined, [ref('ReplicaSet', 'web-1')]))));
    });

    it('refuses the relabel after an earlier update only forged the reference (the cache and the old object carry it)', async () => {
      for (const forged of [ref('ReplicaSet', 'web-1', 'uid-forged'), ref('StatefulSet', 'web-1', 'uid-ReplicaSet-web-1'), ref('ReplicaSet', 'web-1', '')]) {
        const judge = await levee(soloAlone([forged]));
        // The reference alone changes no label: nothing to judge.
        allowed(await judge(objectReview('UPDATE', soloPod(solo), soloPod(solo, [forged]))));
        relabelRefused(await judge(objectReview('UPDATE', soloPod(solo, [forged]), soloPod(quarantined, [forged]))));
        deleteWarned(await judge(objectReview('DELETE', soloPod(solo, [forged]), null)));
      }
    });

    it('treats `controller: false` and an absent `controller` as no controller: the pod is bare', async () => {
      const notController = { ...ref('ReplicaSet', 'web-1'), controller: false };
      const { controller: _dropped, ...absent } = ref('ReplicaSet', 'web-1');
      for (const refs of [[notController], [absent]]) {
        const judge = await levee(soloAlone(refs));
        relabelRefused(await judge(objectReview('UPDATE', soloPod(solo, refs), soloPod(quarantined, refs))));
        deleteWarned(await judge(objectReview('DELETE', soloPod(solo, refs), null)));
      }
    });

    it('reads the first of two controller references (the API server refuses such an object; levee never takes the second as proof)', async () => {
      const refs = [ref('ConfigMap', 'settings', 'uid-settings', 'v1'), ref('ReplicaSet', 'web-1')];
      const judge = await levee(soloAlone(refs));
      relabelRefused(await judge(objectReview('UPDATE', soloPod(solo, refs), soloPod(quarantined, refs))));
    });

    it('refuses for a reference with the uid of the cached ReplicaSet under another kind, and for one to a Deployment with its very uid (no controller makes a Deployment\'s pods)', async () => {
      for (const forged of [ref('DaemonSet', 'web-1', 'uid-ReplicaSet-web-1'), ref('Deployment', 'web', 'uid-Deployment-web')]) {
        const judge = await levee(soloAlone([forged]));
        relabelRefused(await judge(objectReview('UPDATE', soloPod(solo, [forged]), soloPod(quarantined, [forged]))));
      }
    });

    it('allows the relabel of a pod whose ReplicaSet is cached with that uid (its controller replaces it), and the same pod\'s delete without a warning', async () => {
      const owner = ref('ReplicaSet', 'web-1');
      const judge = await levee(soloAlone([owner]));
      allowed(await judge(objectReview('UPDATE', soloPod(solo, [owner]), soloPod(quarantined, [owner]))));
      notWarnedFor(await judge(objectReview('DELETE', soloPod(solo, [owner]), null)), LAST_BACKEND_DELETED);
    });
  });

  describe('a forged pod as another backend', () => {
    /** Service `web` backed by Deployment `web`'s two pods and by pod `solo` labelled app=web with these references. */
    function webWithSolo(refs?: OwnerRef[]): Caches {
      return new Caches().add(service('web', { app: 'web' }), soloPod({ app: 'web' }, refs)).deploymentBehind('web', 'web').endpoints('web', ['solo']);
    }

    it('does not let a pod naming web\'s ReplicaSet with another uid make web\'s scale to zero look safe', async () => {
      const judge = await levee(webWithSolo([ref('ReplicaSet', 'web-1', 'uid-forged')]));
      refusedFor(await judge(scaleReview('Deployment', 'web', 2, 0)), /scaling Deployment\/web to 0 replicas would leave Service web/);
    });

    it('counts a pod naming a ConfigMap as the backend it is (Pod/solo), and a bare pod the same', async () => {
      for (const refs of [[ref('ConfigMap', 'settings', 'uid-settings', 'v1')], undefined]) {
        const judge = await levee(webWithSolo(refs));
        allowed(await judge(scaleReview('Deployment', 'web', 2, 0)));
      }
    });

    it('a lagging cache: web\'s new ReplicaSet not cached yet, its ready pod never lets web go to zero', async () => {
      // The pod of ReplicaSet web-2 (a rollout in progress) is cached; web-2 itself is not yet.
      const caches = new Caches().add(service('web', { app: 'web' }), pod('web-2-0', { app: 'web' }, ref('ReplicaSet', 'web-2'))).deploymentBehind('web', 'other-service').endpoints('web', ['web-2-0']);
      const judge = await levee(caches);
      refusedFor(await judge(scaleReview('Deployment', 'web', 2, 0)), /scaling Deployment\/web to 0 replicas would leave Service web/);
    });
  });

  it('refuses a relabel sent through pods/status (the API server keeps the labels a status update writes), and lets a status update that keeps them through', async () => {
    const status = (review: unknown): unknown => {
      (review as { request: { subResource?: string } }).request.subResource = 'status';
      return review;
    };
    for (const refs of [undefined, [ref('ReplicaSet', 'web-1', 'uid-forged')], [ref('ConfigMap', 'settings', 'uid-settings', 'v1')]]) {
      const judge = await levee(soloAlone(refs));
      relabelRefused(await judge(status(objectReview('UPDATE', soloPod(solo, refs), soloPod(quarantined, refs)))));
      const running = { ...soloPod(solo, refs), status: { phase: 'Running' } } as KubeObject;
      allowed(await judge(status(objectReview('UPDATE', soloPod(solo, refs), running))));
    }
  });

  it('answers parallel relabels and deletes of pods with forged references alike, none let through', async () => {
    const forgeries = [ref('ReplicaSet', 'web-1', 'uid-forged'), ref('StatefulSet', 'ghost'), ref('ConfigMap', 'settings', 'uid-settings', 'v1')];
    const judges = await Promise.all(forgeries.map((forged) => levee(soloAlone([forged]))));
    const answers = await Promise.all(
      forgeries.flatMap((forged, i) => [
        judges[i]!(objectReview('UPDATE', soloPod(solo, [forged]), soloPod(quarantined, [forged]))),
        judges[i]!(objectReview('DELETE', soloPod(solo, [forged]), null)),
      ]),
    );
    answers.forEach((answer, i) => (i % 2 === 0 ? relabelRefused(answer) : deleteWarned(answer)));
    assert.equal(answers.length, 6);
  });
});
