// scale-to-zero against ReplicaSets that borrow a Deployment's name: a stale uid, a Deployment
// levee does not cache, or a person scaling the Deployment's current ReplicaSet by hand. Each is
// judged like any workload: only the Deployment controller's own step is a rollout.
import {
  Caches,
  objectReview,
  pod,
  ref,
  refusedFor,
  scaleReview,
  service,
  STZ,
  useWorkloadLevee,
  withReplicas,
  workload,
} from '../support/workload-reviews.js';

describe('server: scale-to-zero and ReplicaSets that claim a Deployment', function () {
  this.timeout(20_000);
  const { levee } = useWorkloadLevee();

  it('refuses a ReplicaSet scaled to 0 whose controller reference names a cached Deployment with another uid', async () => {
    const labels = { app: 'web' };
    const rs = workload('ReplicaSet', 'web-1', 2, { labels, owner: ref('Deployment', 'web', 'uid-stale') });
    const caches = new Caches().add(service('web', labels), workload('Deployment', 'web', 2), rs, pod('web-1-0', labels, ref('ReplicaSet', 'web-1')), pod('web-1-1', labels, ref('ReplicaSet', 'web-1'))).endpoints('web', ['web-1-0', 'web-1-1']);
    const judge = await levee(caches);
    refusedFor(await judge(objectReview('UPDATE', rs, withReplicas(rs, 0))), STZ);
  });

  it("refuses alice scaling a Deployment's current ReplicaSet to 0, its true owner reference notwithstanding (not the controller's rollout step)", async () => {
    const judge = await levee(new Caches().add(service('web', { app: 'web' })).deploymentBehind('web', 'web'));
    refusedFor(await judge(scaleReview('ReplicaSet', 'web-1', 2, 0)), STZ);
  });

  it("refuses a ReplicaSet scaled to 0 that is its Service's only backend, whose controller reference names a Deployment name levee does not cache", async () => {
    const labels = { app: 'web' };
    const rs = workload('ReplicaSet', 'web', 2, { labels, owner: ref('Deployment', 'ghost', 'uid-ghost') });
    const caches = new Caches().add(service('web', labels), rs, pod('web-0', labels, ref('ReplicaSet', 'web')), pod('web-1', labels, ref('ReplicaSet', 'web'))).endpoints('web', ['web-0', 'web-1']);
    const judge = await levee(caches);
    refusedFor(await judge(scaleReview('ReplicaSet', 'web', 2, 0)), STZ);
    refusedFor(await judge(objectReview('UPDATE', rs, withReplicas(rs, 0))), STZ);
  });
});
