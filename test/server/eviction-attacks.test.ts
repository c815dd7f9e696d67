// Attacks on how levee judges an Eviction (`pods/eviction` CREATE, what `kubectl drain` sends),
// through a levee over real HTTPS. The README's promise: evicting a pod no controller levee
// holds with the uid it names, when that pod is a Service's last ready endpoint, is warned
// (last-backend-deleted) and never refused, whatever the probe verdict or the caches' state;
// the cluster's machinery's evictions (kube-controller-manager, kube-system service accounts,
// kubelets) are judged by no policy; and of bare pods behind one Service evicted at once, the
// one judged last warns, once.
import assert from 'node:assert/strict';
import type { AdmissionResponse } from '../../src/admission/types.js';
import { ClusterState } from '../../src/cluster/state.js';
import { DEFAULT_CLUSTER_OPTIONS } from '../../src/cluster/options.js';
import { review } from '../support/capacity-reviews.js';
import {
  allowed,
  Caches,
  NS,
  pod,
  ref,
  service,
  useWorkloadLevee,
  warnedFor,
  workload,
  type Labels,
  type OwnerRef,
} from '../support/workload-reviews.js';

const EVICTED = /evicting Pod\/\S+ leaves Service/;

interface EvictionSpelling {
  username?: string;
  groups?: string[];
  /** The Eviction's version as the client wrote it (the API server converts it to policy/v1). */
  version?: 'v1' | 'v1beta1';
  /** The name in the Eviction body, when it differs from the URL's. */
  bodyName?: string;
  /** Leaves `request.name` out: levee falls back to the body's name. */
  noRequestName?: boolean;
  dryRun?: boolean;
  deleteOptions?: Record<string, unknown>;
  namespace?: string;
}

/** An Eviction of `podName` as the API server sends it to validate-pods: pods/eviction CREATE, kind policy/v1 Eviction. */
function evictionReview(podName: string, spelling: EvictionSpelling = {}): unknown {
  const version = spelling.version ?? 'v1';
  const namespace = spelling.namespace ?? NS;
  const username = spelling.username ?? 'alice';
  const body = review({
    operation: 'CREATE',
    group: '',
    version: 'v1',
    kind: 'Eviction',
    resource: 'pods',
    subResource: 'eviction',
    name: podName,
    namespace,
    object: {
      apiVersion: `policy/${version}`,
      kind: 'Eviction',
      metadata: { name: spelling.bodyName ?? podName, namespace },
      ...(spelling.deleteOptions ? { deleteOptions: spelling.deleteOptions } : {}),
    },
    username,
    groups: spelling.groups ?? (username.startsWith('system:serviceaccount:') ? ['system:serviceaccounts', 'system:authenticated'] : ['system:authenticated']),
    dryRun: spelling.dryRun ?? false,
  }) as { request: Record<string, unknown> };
  body.request.kind = { group: 'policy', version, kind: 'Eviction' };
  body.request.requestKind = { group: 'policy', version, kind: 'Eviction' };
  if (spelling.noRequestName) delete body.request.name;
  return body;
}

const evictionWarned = (response: AdmissionResponse, podName: string, services: string): void =>
  warnedFor(response, new RegExp(`evicting Pod/${podName} leaves Service ${services} in namespace ${NS} with no endpoints`));
const notEvictionWarned = (response: AdmissionResponse): void => {
  allowed(response);
  assert.ok(!(response.warnings ?? []).some((w) => EVICTED.test(w)), `expected no eviction warning, got ${JSON.stringify(response.warnings)}`);
};

/** Bare pods `names` (labels app=<svc>, these ownerReferences) behind Service `svc`, their endpoints ready (or not). */
function bareBehind(caches: Caches, svc: string, names: string[], options: { ready?: boolean; owner?: OwnerRef; labels?: Labels } = {}): Caches {
  const labels = options.labels ?? { app: svc };
  caches.add(service(svc, labels), ...names.map((name) => pod(name, labels, options.owner)));
  return caches.endpoints(svc, names, options.ready ?? true);
}

/** Bare pod `solo` alone behind Service `solo`, beside Deployment `web` behind Service `web`. */
const soloAlone = (owner?: OwnerRef): Caches => bareBehind(new Caches().add(service('web', { app: 'web' })).deploymentBehind('web', 'web'), 'solo', ['solo'], owner ? { owner } : {});

describe('server: attacks on the eviction of a bare pod that is a Service\'s last backend (pods/eviction)', function () {
  this.timeout(30_000);
  const { levee, judgeWith } = useWorkloadLevee();

  describe('how the Eviction is spelled', () => {
    it('warns for an Eviction written as policy/v1 and as policy/v1beta1, and for a request that names the pod only in its body', async () => {
      const judge = await levee(soloAlone());
      evictionWarned(await judge(evictionReview('solo')), 'solo', 'solo');
      evictionWarned(await judge(evictionReview('solo', { version: 'v1beta1' })), 'solo', 'solo');
      evictionWarned(await judge(evictionReview('solo', { noRequestName: true })), 'solo', 'solo');
    });

    it('judges the pod the URL names, not the one the body names (the API server refuses the two differing before any webhook)', async () => {
      const judge = await levee(soloAlone());
      evictionWarned(await judge(evictionReview('solo', { bodyName: 'web-1-0' })), 'solo', 'solo');
      notEvictionWarned(await judge(evictionReview('web-1-0', { bodyName: 'solo' })));
    });

    it('warns a dry-run eviction alike and remembers nothing of it: the real eviction of the other backend is not warned', async () => {
      const judge = await levee(bareBehind(new Caches(), 'pair', ['pair-a', 'pair-b']));
      notEvictionWarned(await judge(evictionReview('pair-a', { dryRun: true })));
      const lone = await levee(soloAlone());
      evictionWarned(await lone(evictionReview('solo', { dryRun: true })), 'solo', 'solo');
      // pair-a's dry run left no trace: pair-b's eviction still leaves pair-a behind Service pair.
      notEvictionWarned(await judge(evictionReview('pair-b')));
    });

    it('takes a dry run written in the Eviction\'s deleteOptions as one (the API server sends dryRun: false for it): warned alike, remembered by nobody', async () => {
      const judge = await levee(bareBehind(new Caches(), 'pair', ['pair-a', 'pair-b']));
      notEvictionWarned(await judge(evictionReview('pair-a', { deleteOptions: { dryRun: ['All'] } })));
      const lone = await levee(soloAlone());
      evictionWarned(await lone(evictionReview('solo', { deleteOptions: { dryRun: ['All'] } })), 'solo', 'solo');
      notEvictionWarned(await judge(evictionReview('pair-b')));
      // An empty list is no dry run: this eviction of pair-b is remembered, and pair-a is then the last backend.
      notEvictionWarned(await (await levee(bareBehind(new Caches(), 'pair', ['pair-a', 'pair-b'])))(evictionReview('pair-b', { deleteOptions: { dryRun: [] } })));
      const twice = await levee(bareBehind(new Caches(), 'pair', ['pair-a', 'pair-b']));
      notEvictionWarned(await twice(evictionReview('pair-b', { deleteOptions: { dryRun: [], gracePeriodSeconds: 0 } })));
      evictionWarned(await twice(evictionReview('pair-a')), 'pair-a', 'pair');
    });

    it('answers an Eviction in another namespace than the pod\'s, and one of a pod with an empty name, without a warning', async () => {
      const judge = await levee(soloAlone());
      notEvictionWarned(await judge(evictionReview('solo', { namespace: 'elsewhere' })));
      notEvictionWarned(await judge(evictionReview('', { noRequestName: true, bodyName: '' })));
    });
  });

  describe('who evicts', () => {
    it('warns evictions by an autoscaler outside kube-system (Karpenter, cluster-autoscaler) and by people, and allows them', async () => {
      const judge = await levee(soloAlone());
      for (const username of ['system:serviceaccount:karpenter:karpenter', 'system:serviceaccount:cluster-autoscaler:cluster-autoscaler', 'system:admin', 'bob']) {
        evictionWarned(await judge(evictionReview('solo', { username })), 'solo', 'solo');
      }
    });

    it("leaves the machinery's evictions alone: kubelets, kube-controller-manager, kube-system service accounts", async () => {
      const judge = await levee(soloAlone());
      for (const username of ['system:node:worker-1', 'system:kube-controller-manager', 'system:serviceaccount:kube-system:cluster-autoscaler', 'system:serviceaccount:kube-system:karpenter']) {
        notEvictionWarned(await judge(evictionReview('solo', { username, groups: username.startsWith('system:node:') ? ['system:nodes', 'system:authenticated'] : undefined })));
      }
    });

    it('does not take a look-alike name for the machinery: a service account named like a kubelet, a kube-system look-alike namespace', async () => {
      const judge = await levee(soloAlone());
      for (const username of ['system:serviceaccount:kube-system-extra:drainer', 'system:nodes', 'node:worker-1', 'system:serviceaccount:default:system:node:x']) {
        evictionWarned(await judge(evictionReview('solo', { username })), 'solo', 'solo');
      }
    });

    it('respects exemptions: exempt users and groups, scale-to-zero\'s own exempt users, exempt namespaces, exemptWorkloads by name and by `*`', async () => {
      const configs = [
        { exempt: { users: ['alice'] } },
        { exempt: { groups: ['drainers'] } },
        { exempt: { namespaces: [NS] } },
        { policies: { 'scale-to-zero': { exempt: { users: ['alice'] } } } },
        { policies: { 'scale-to-zero': { exemptWorkloads: [`${NS}/solo`] } } },
        { policies: { 'scale-to-zero': { exemptWorkloads: [`${NS}/*`] } } },
      ];
      for (const config of configs) {
        const judge = await judgeWith({ cluster: soloAlone().synced(), config });
        notEvictionWarned(await judge(evictionReview('solo', { groups: ['drainers', 'system:authenticated'] })));
      }
      const otherWorkload = await judgeWith({ cluster: soloAlone().synced(), config: { policies: { 'scale-to-zero': { exemptWorkloads: [`${NS}/web`, `other/solo`] } } } });
      evictionWarned(await otherWorkload(evictionReview('solo')), 'solo', 'solo');
    });
  });

  describe('which pod', () => {
    it('does not warn for a bare pod whose endpoint is not ready (it takes nothing away)', async () => {
      const judge = await levee(bareBehind(new Caches(), 'solo', ['solo'], { ready: false }));
      notEvictionWarned(await judge(evictionReview('solo')));
    });

    it('names only the Service the pod alone backs, of two it backs', async () => {
      const caches = soloAlone();
      // solo is also one of web's endpoints, beside web's two pods.
      caches.endpoints('web', ['solo']);
      const response = await (await levee(caches))(evictionReview('solo'));
      evictionWarned(response, 'solo', 'solo');
      assert.ok(!(response.warnings ?? []).some((w) => /Service web\b/.test(w)), JSON.stringify(response.warnings));
    });

    it('names both Services when the pod is the last endpoint of each', async () => {
      const caches = bareBehind(new Caches(), 'solo', ['solo']);
      caches.add(service('metrics', { app: 'solo' })).endpoints('metrics', ['solo']);
      evictionWarned(await (await levee(caches))(evictionReview('solo')), 'solo', 'metrics, solo');
    });

    it('judges a pod with a forged controller reference as bare: a ConfigMap, a ReplicaSet uid levee does not hold, a Deployment (no controller makes its pods)', async () => {
      for (const owner of [ref('ConfigMap', 'settings', 'uid-settings', 'v1'), ref('ReplicaSet', 'web-1', 'uid-forged'), ref('ReplicaSet', 'invented'), ref('Deployment', 'web')]) {
        const judge = await levee(soloAlone(owner));
        evictionWarned(await judge(evictionReview('solo')), 'solo', 'solo');
      }
    });

    it('does not warn for a pod of a StatefulSet, a Job or a ReplicaSet levee holds with the uid named (its controller replaces it; a PodDisruptionBudget guards it)', async () => {
      const judgeSts = await levee(new Caches().add(service('db', { app: 'db' })).workloadBehind('StatefulSet', 'db', 'db', 1));
      notEvictionWarned(await judgeSts(evictionReview('db-0')));
      const job = workload('Job', 'batch', undefined);
      const judgeJob = await levee(bareBehind(new Caches().add(job), 'batch', ['batch-x'], { owner: ref('Job', 'batch', 'uid-Job-batch', 'batch/v1') }));
      notEvictionWarned(await judgeJob(evictionReview('batch-x')));
      const judgeRs = await levee(soloAlone(ref('ReplicaSet', 'web-1')));
      notEvictionWarned(await judgeRs(evictionReview('solo')));
    });

    it('answers the eviction of a pod levee does not cache, or that does not exist, without a warning or an error', async () => {
      const judge = await levee(soloAlone());
      for (const name of ['ghost', 'solo-', 'SOLO', 'a'.repeat(300), 'solo/../web-1-0']) notEvictionWarned(await judge(evictionReview(name)));
    });
  });

  describe('never refused', () => {
    it('warns and allows while the probe verdict is Unhealthy', async () => {
      const judge = await levee(soloAlone(), 'Unhealthy');
      evictionWarned(await judge(evictionReview('solo')), 'solo', 'solo');
      notEvictionWarned(await judge(evictionReview('web-1-0')));
    });

    it('warns and allows with caches whose watches broke an hour ago, and with caches that never synced', async () => {
      const stale = soloAlone();
      const cluster = stale.synced();
      for (const store of cluster.allStores()) {
        cluster.freshness.current(store.name, 'watch');
        cluster.freshness.broken(store.name, 'watch', Date.now() - 3_600_000);
      }
      const judge = await judgeWith({ cluster, config: { server: { staleAfterSeconds: 60 } } });
      const response = await judge(evictionReview('solo'));
      evictionWarned(response, 'solo', 'solo');
      assert.ok((response.warnings ?? []).some((w) => /cluster state may be out of date/.test(w)), JSON.stringify(response.warnings));

      const unsynced = await judgeWith({ cluster: soloAlone().cluster });
      allowed(await unsynced(evictionReview('solo')));
      allowed(await unsynced(evictionReview('ghost')));
    });

    it('allows every eviction with the ledger of recent decisions full, dropping the oldest entry', async () => {
      const caches = bareBehind(new Caches(new ClusterState({ ...DEFAULT_CLUSTER_OPTIONS, recentDecisions: { expiryMs: 30_000, maxEntries: 2 } })), 'pair', ['pair-a', 'pair-b']);
      bareBehind(caches, 'other', ['other-a', 'other-b', 'other-c']);
      const judge = await levee(caches);
      notEvictionWarned(await judge(evictionReview('pair-a')));
      // The ledger holds 2: pair-a, then other-a; other-b pushes pair-a out.
      notEvictionWarned(await judge(evictionReview('other-a')));
      notEvictionWarned(await judge(evictionReview('other-b')));
      assert.equal(caches.cluster.recentDecisions.size, 2);
      assert.equal(caches.cluster.recentDecisions.evicted, 1);
      // other-a and other-b are still remembered: other-c is other's last backend.
      evictionWarned(await judge(evictionReview('other-c')), 'other-c', 'other');
      // pair-a was forgotten: its watch would show it gone; until then pair-b's eviction passes unwarned, allowed all the same.
      allowed(await judge(evictionReview('pair-b')));
    });
  });

  describe('a drain', () => {
    it('answers a burst of evictions across several Services over HTTPS with one warning per Service emptied, none refused', async () => {
      const caches = new Caches().add(service('web', { app: 'web' })).deploymentBehind('web', 'web', 3);
      const emptied = ['alpha', 'beta', 'gamma', 'delta'];
      for (const [i, svc] of emptied.entries()) bareBehind(caches, svc, Array.from({ length: 2 + i }, (_, n) => `${svc}-${n}`));
      // kept: a bare pod evicted beside one that is not; mixed: a bare pod beside web's pods.
      bareBehind(caches, 'kept', ['kept-0', 'kept-1']);
      caches.add(service('mixed', { tier: 'mixed' }), pod('mixed-0', { tier: 'mixed' })).endpoints('mixed', ['mixed-0', 'web-1-0', 'web-1-1']);
      const judge = await levee(caches);

      const evicted = [...emptied.flatMap((svc, i) => Array.from({ length: 2 + i }, (_, n) => `${svc}-${n}`)), 'kept-0', 'mixed-0', 'web-1-0', 'web-1-1', 'web-1-2', 'ghost-0'];
      const answers = await Promise.all(evicted.map((name) => judge(evictionReview(name, { username: 'system:serviceaccount:karpenter:karpenter' }))));
      answers.forEach((answer) => allowed(answer));

      const warnings = answers.flatMap((answer) => (answer.warnings ?? []).filter((w) => EVICTED.test(w)));
      const perService = emptied.map((svc) => warnings.filter((w) => new RegExp(`leaves Service ${svc} in`).test(w)).length);
      assert.deepEqual(perService, [1, 1, 1, 1], JSON.stringify(warnings));
      assert.equal(warnings.length, emptied.length, JSON.stringify(warnings));
    });

    it('answers the same drain twice at once (two drains of one node) with every eviction allowed and each emptied Service warned at least once', async () => {
      const caches = bareBehind(bareBehind(new Caches(), 'alpha', ['alpha-0', 'alpha-1', 'alpha-2']), 'beta', ['beta-0', 'beta-1']);
      const judge = await levee(caches);
      const names = ['alpha-0', 'alpha-1', 'alpha-2', 'beta-0', 'beta-1'];
      const answers = await Promise.all([...names, ...names].map((name) => judge(evictionReview(name))));
      answers.forEach((answer) => allowed(answer));
      const warnings = answers.flatMap((answer) => answer.warnings ?? []);
      for (const svc of ['alpha', 'beta']) assert.ok(warnings.some((w) => new RegExp(`leaves Service ${svc} in`).test(w)), `${svc}: ${JSON.stringify(warnings)}`);
    });
  });
});
