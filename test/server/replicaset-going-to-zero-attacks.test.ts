/**
 * A Deployment's ReplicaSet that a person takes to 0 (allowed moments ago, or already at 0 in the
 * cache while its endpoints still read ready) backs nothing, though its pods are credited to the
 * Deployment: "Two backends of one Service scaled to zero at the same moment count each other"
 * holds for it too.
 */
import assert from 'node:assert/strict';
import { Caches, pod, ref, refusedFor, scaleReview, service, useWorkloadLevee, workload, STZ } from '../support/workload-reviews.js';

describe('attacks: a Deployment\'s ReplicaSet on its way to zero still counted as a backend', function () {
  this.timeout(30_000);
  const { levee } = useWorkloadLevee();

  describe('scale-to-zero: a ReplicaSet going to zero backs nothing', () => {
    it('two ReplicaSets of one Deployment taken to 0 by a person at the same moment: one is refused', async () => {
      const labels = { app: 'web' };
      const caches = new Caches()
        .add(
          service('web', labels),
          workload('Deployment', 'web', 2, { labels }),
          workload('ReplicaSet', 'web-1', 1, { labels, owner: ref('Deployment', 'web') }),
          workload('ReplicaSet', 'web-2', 1, { labels, owner: ref('Deployment', 'web') }),
          pod('web-1-a', labels, ref('ReplicaSet', 'web-1')),
          pod('web-2-a', labels, ref('ReplicaSet', 'web-2')),
        )
        .endpoints('web', ['web-1-a', 'web-2-a']);
      const judge = await levee(caches);
      const answers = await Promise.all([judge(scaleReview('ReplicaSet', 'web-1', 1, 0, 'alice')), judge(scaleReview('ReplicaSet', 'web-2', 1, 0, 'bob'))]);
      assert.deepEqual(answers.map((a) => a.allowed).sort(), [false, true], JSON.stringify(answers.map((a) => a.status?.message)));
    });

    it('a person\'s ReplicaSet scale and another Deployment\'s scale at the same moment count each other', async () => {
      const labels = { tier: 'shop' };
      const caches = new Caches()
        .add(
          service('shop', labels),
          workload('Deployment', 'a', 1, { labels }),
          workload('ReplicaSet', 'a-1', 1, { labels, owner: ref('Deployment', 'a') }),
          workload('Deployment', 'b', 1, { labels }),
          workload('ReplicaSet', 'b-1', 1, { labels, owner: ref('Deployment', 'b') }),
          pod('a-1-x', labels, ref('ReplicaSet', 'a-1')),
          pod('b-1-x', labels, ref('ReplicaSet', 'b-1')),
        )
        .endpoints('shop', ['a-1-x', 'b-1-x']);
      const judge = await levee(caches);
      const answers = await Promise.all([judge(scaleReview('ReplicaSet', 'a-1', 1, 0, 'alice')), judge(scaleReview('Deployment', 'b', 1, 0, 'bob'))]);
      assert.deepEqual(answers.map((a) => a.allowed).sort(), [false, true], JSON.stringify(answers.map((a) => a.status?.message)));
    });

    it('a Deployment\'s ReplicaSet the cache already shows at 0, its endpoint still ready, backs nothing for another Deployment\'s scale to 0', async () => {
      const labels = { tier: 'shop' };
      const caches = new Caches()
        .add(
          service('shop', labels),
          workload('Deployment', 'a', 1, { labels }),
          workload('ReplicaSet', 'a-1', 0, { labels, owner: ref('Deployment', 'a') }),
          workload('Deployment', 'b', 1, { labels }),
          workload('ReplicaSet', 'b-1', 1, { labels, owner: ref('Deployment', 'b') }),
          pod('a-1-x', labels, ref('ReplicaSet', 'a-1')),
          pod('b-1-x', labels, ref('ReplicaSet', 'b-1')),
        )
        .endpoints('shop', ['a-1-x', 'b-1-x']);
      const judge = await levee(caches);
      refusedFor(await judge(scaleReview('Deployment', 'b', 1, 0, 'bob')), STZ);
    });
  });
});
