// Attacks on scale-to-zero and probe-gate through levee's real HTTPS /validate, judged against
// caches filled the way informers fill them (views of real objects, uids included). The
// expected answers come from the README's promises for both rules.
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/kube/types.js';
import {
  allowed,
  AUTOSCALER_TO_ZERO,
  Caches,
  GATE,
  HPA,
  KCM_CRONJOB,
  KCM_DEPLOY,
  KCM_RS,
  KEDA,
  LAST_BACKEND_DELETED,
  NS,
  notWarnedFor,
  objectReview,
  pod,
  podTemplate,
  ref,
  refusedFor,
  scaleReview,
  service,
  STZ,
  useWorkloadLevee,
  warnedFor,
  withImage,
  withReplicas,
  workload,
} from '../support/workload-reviews.js';

describe('server: attacks on scale-to-zero and probe-gate', function () {
  this.timeout(20_000);
  const { levee } = useWorkloadLevee();

  // ------------------------------------------------------------ scale-to-zero
  describe('scale-to-zero', () => {

    it('refuses a Deployment update to 0 replicas behind its Service', async () => {
      const judge = await levee(new Caches().add(service('web', { app: 'web' })).deploymentBehind('web', 'web'));
      const before = workload('Deployment', 'web', 2);
      refusedFor(await judge(objectReview('UPDATE', before, withReplicas(before, 0))), STZ);
    });

    it('allows an update that drops spec.replicas (the API server defaults it to 1)', async () => {
      const judge = await levee(new Caches().add(service('web', { app: 'web' })).deploymentBehind('web', 'web'));
      const before = workload('Deployment', 'web', 2);
      notWarnedFor(await judge(objectReview('UPDATE', before, withReplicas(before, undefined))), STZ);
    });

    for (const kind of ['Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController']) {
      it(`refuses kubectl scale --replicas=0 of a ${kind} (the /scale subresource, spec.replicas omitted)`, async () => {
        const caches = new Caches().add(service('web', { app: 'web' }));
        if (kind === 'Deployment') caches.deploymentBehind('web', 'web');
        else caches.workloadBehind(kind, 'web', 'web');
        const judge = await levee(caches);
        refusedFor(await judge(scaleReview(kind, 'web', 2, 0)), STZ);
      });
    }

    it('refuses a ReplicationController update to 0 replicas (core/v1, never filtered by matchConditions)', async () => {
      const judge = await levee(new Caches().add(service('web', { app: 'web' })).workloadBehind('ReplicationController', 'web', 'web'));
      const before = workload('ReplicationController', 'web', 2);
      refusedFor(await judge(objectReview('UPDATE', before, withReplicas(before, 0))), STZ);
    });

    it('refuses scaling a StatefulSet to 0 through the extensions-era Scale kind (apps/v1beta2 Scale)', async () => {
      const judge = await levee(new Caches().add(service('db', { app: 'db' })).workloadBehind('StatefulSet', 'db', 'db'));
      refusedFor(await judge(scaleReview('StatefulSet', 'db', 2, 0, 'alice', 'apps', 'v1beta2')), STZ);
    });

    it('refuses a ReplicaSet scaled to 0 whose controller reference names a ConfigMap (forged owner)', async () => {
      const labels = { app: 'web' };
      const owner = ref('ConfigMap', 'anything', 'uid-cm', 'v1');
      const rs = workload('ReplicaSet', 'web', 2, { labels, owner });
      const caches = new Caches().add(service('web', { app: 'web' }), rs, pod('web-0', labels, ref('ReplicaSet', 'web')), pod('web-1', labels, ref('ReplicaSet', 'web'))).endpoints('web', ['web-0', 'web-1']);
      const judge = await levee(caches);
      refusedFor(await judge(objectReview('UPDATE', rs, withReplicas(rs, 0))), STZ);
      refusedFor(await judge(scaleReview('ReplicaSet', 'web', 2, 0)), STZ);
    });



    it("allows the Deployment controller's own scale-down of an old ReplicaSet during a rollout", async () => {
      const labels = { app: 'web' };
      const caches = new Caches().add(service('web', labels)).deploymentBehind('web', 'web');
      // The new ReplicaSet's pods are up and ready too.
      const rs2 = workload('ReplicaSet', 'web-2', 2, { labels, owner: ref('Deployment', 'web') });
      caches.add(rs2, pod('web-2-0', labels, ref('ReplicaSet', 'web-2')), pod('web-2-1', labels, ref('ReplicaSet', 'web-2'))).endpoints('web', ['web-1-0', 'web-1-1', 'web-2-0', 'web-2-1']);
      const judge = await levee(caches);
      const old = workload('ReplicaSet', 'web-1', 2, { labels, owner: ref('Deployment', 'web') });
      allowed(await judge(objectReview('UPDATE', old, withReplicas(old, 0), KCM_DEPLOY)));
    });


    it('warns when the last backend of a Service (a Deployment) is deleted', async () => {
      const judge = await levee(new Caches().add(service('web', { app: 'web' })).deploymentBehind('web', 'web'));
      warnedFor(await judge(objectReview('DELETE', workload('Deployment', 'web', 2), null)), LAST_BACKEND_DELETED);
    });

    it('warns when the last backend of a Service (a StatefulSet) is deleted', async () => {
      const judge = await levee(new Caches().add(service('db', { app: 'db' })).workloadBehind('StatefulSet', 'db', 'db'));
      warnedFor(await judge(objectReview('DELETE', workload('StatefulSet', 'db', 2), null)), LAST_BACKEND_DELETED);
    });

    it('allows scaling one of two Deployments behind a Service to 0', async () => {
      const shared = { tier: 'front' };
      const caches = new Caches().add(service('web', shared)).deploymentBehind('blue', 'web', 2, { ...shared, color: 'blue' }).deploymentBehind('green', 'web', 2, { ...shared, color: 'green' });
      caches.endpoints('web', ['blue-1-0', 'blue-1-1', 'green-1-0', 'green-1-1']);
      const judge = await levee(caches);
      notWarnedFor(await judge(scaleReview('Deployment', 'blue', 2, 0)), STZ);
    });

    it('allows scaling a Deployment to 0 while a bare pod still backs its Service', async () => {
      const labels = { app: 'web' };
      const caches = new Caches().add(service('web', labels)).deploymentBehind('web', 'web').add(pod('debug', labels)).endpoints('web', ['web-1-0', 'web-1-1', 'debug']);
      const judge = await levee(caches);
      notWarnedFor(await judge(scaleReview('Deployment', 'web', 2, 0)), STZ);
    });

    it('allows scaling a Deployment to 0 while a DaemonSet still backs its Service', async () => {
      const labels = { app: 'web' };
      const ds = workload('DaemonSet', 'agent', undefined, { labels });
      const caches = new Caches().add(service('web', labels)).deploymentBehind('web', 'web').add(ds, pod('agent-x', labels, ref('DaemonSet', 'agent'))).endpoints('web', ['web-1-0', 'web-1-1', 'agent-x']);
      const judge = await levee(caches);
      notWarnedFor(await judge(scaleReview('Deployment', 'web', 2, 0)), STZ);
    });

    it('refuses the second of two parallel scales to 0 of the two Deployments behind one Service', async () => {
      const shared = { tier: 'front' };
      const caches = new Caches().add(service('web', shared)).deploymentBehind('blue', 'web', 2, { ...shared, color: 'blue' }).deploymentBehind('green', 'web', 2, { ...shared, color: 'green' });
      caches.endpoints('web', ['blue-1-0', 'blue-1-1', 'green-1-0', 'green-1-1']);
      const judge = await levee(caches);
      const answers = await Promise.all([judge(scaleReview('Deployment', 'blue', 2, 0)), judge(scaleReview('Deployment', 'green', 2, 0))]);
      assert.deepEqual(answers.map((a) => a.allowed).sort(), [false, true], JSON.stringify(answers.map((a) => a.status?.message)));
    });

    it('refuses a scale to 0 after a parallel delete of the other backend of the same Service', async () => {
      const shared = { tier: 'front' };
      const caches = new Caches().add(service('web', shared)).deploymentBehind('blue', 'web', 2, { ...shared, color: 'blue' }).deploymentBehind('green', 'web', 2, { ...shared, color: 'green' });
      caches.endpoints('web', ['blue-1-0', 'blue-1-1', 'green-1-0', 'green-1-1']);
      const judge = await levee(caches);
      allowed(await judge(objectReview('DELETE', workload('Deployment', 'blue', 2, { labels: { ...shared, color: 'blue' } }), null)));
      refusedFor(await judge(scaleReview('Deployment', 'green', 2, 0)), STZ);
    });

    it('allows scaling to 0 a Deployment whose pods never became ready (idle backend: the Service had no ready endpoint of its own)', async () => {
      const labels = { app: 'web' };
      const caches = new Caches().add(service('web', labels), workload('Deployment', 'web', 2), pod('web-1-0', labels, ref('ReplicaSet', 'web-1')));
      caches.add({ ...workload('ReplicaSet', 'web-1', 2, { labels, owner: ref('Deployment', 'web') }) }).endpoints('web', ['web-1-0'], false);
      const judge = await levee(caches);
      notWarnedFor(await judge(scaleReview('Deployment', 'web', 2, 0)), STZ);
    });

    it('allows scaling to 0 a Deployment selected only by an ExternalName Service', async () => {
      const labels = { app: 'web' };
      const caches = new Caches().add(service('web', labels, 'ExternalName'), workload('Deployment', 'web', 2));
      const judge = await levee(caches);
      notWarnedFor(await judge(scaleReview('Deployment', 'web', 2, 0)), STZ);
    });

    for (const [what, owner, extra] of [
      ['a DaemonSet name levee does not cache', ref('DaemonSet', 'agent', 'uid-made-up'), [] as KubeObject[]],
      ['a cached DaemonSet with its true uid (DaemonSets never own ReplicaSets)', ref('DaemonSet', 'agent'), [workload('DaemonSet', 'agent', undefined, { labels: { app: 'agent' } })]],
      ['a Job (an owner levee does not scale)', ref('Job', 'batch', 'uid-batch', 'batch/v1'), [] as KubeObject[]],
    ] as const) {
      it(`refuses a ReplicaSet scaled to 0 that is its Service's only backend, whose controller reference names ${what}`, async () => {
        const labels = { app: 'web' };
        const rs = workload('ReplicaSet', 'web', 2, { labels, owner });
        const caches = new Caches().add(service('web', labels), ...extra, rs, pod('web-0', labels, ref('ReplicaSet', 'web')), pod('web-1', labels, ref('ReplicaSet', 'web'))).endpoints('web', ['web-0', 'web-1']);
        const judge = await levee(caches);
        refusedFor(await judge(scaleReview('ReplicaSet', 'web', 2, 0)), STZ);
        refusedFor(await judge(objectReview('UPDATE', rs, withReplicas(rs, 0))), STZ);
      });
    }

    it('refuses a StatefulSet update to 0 whose own controller reference names a cached Deployment (forged owner on a kind no Deployment owns)', async () => {
      const labels = { app: 'db' };
      const caches = new Caches().add(service('db', labels), workload('Deployment', 'web', 2)).workloadBehind('StatefulSet', 'db', 'db');
      const judge = await levee(caches);
      const sts = workload('StatefulSet', 'db', 2, { labels, owner: ref('Deployment', 'web') });
      refusedFor(await judge(objectReview('UPDATE', sts, withReplicas(sts, 0))), STZ);
    });

    it('refuses a /scale to 0 whose Scale carries spec.replicas: 0 explicitly', async () => {
      const judge = await levee(new Caches().add(service('web', { app: 'web' })).deploymentBehind('web', 'web'));
      const body = scaleReview('Deployment', 'web', 2, 0) as { request: { object: { spec: Record<string, unknown> } } };
      body.request.object.spec = { replicas: 0 };
      refusedFor(await judge(body), STZ);
    });

    it('refuses the second backend going to 0 after the first went through with dryRun (a dry run changes nothing)', async () => {
      const shared = { tier: 'front' };
      const caches = new Caches().add(service('web', shared)).deploymentBehind('blue', 'web', 2, { ...shared, color: 'blue' }).deploymentBehind('green', 'web', 2, { ...shared, color: 'green' });
      caches.endpoints('web', ['blue-1-0', 'blue-1-1', 'green-1-0', 'green-1-1']);
      const judge = await levee(caches);
      const dry = scaleReview('Deployment', 'blue', 2, 0) as { request: { dryRun: boolean } };
      dry.request.dryRun = true;
      allowed(await judge(dry));
      allowed(await judge(scaleReview('Deployment', 'green', 2, 0)));
    });




    it("warns (autoscaler-to-zero) when the HPA controller scales to 0 a Deployment whose cached HPA has minReplicas 0", async () => {
      const hpa = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', namespace: NS, uid: 'uid-hpa' }, spec: { minReplicas: 0, maxReplicas: 5, scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' } } } as KubeObject;
      const judge = await levee(new Caches().add(service('web', { app: 'web' }), hpa).deploymentBehind('web', 'web'));
      warnedFor(await judge(scaleReview('Deployment', 'web', 2, 0, HPA)), AUTOSCALER_TO_ZERO);
    });

    it("warns (autoscaler-to-zero) when the HPA controller's scale to 0 comes as system:kube-controller-manager (no per-controller credentials)", async () => {
      const hpa = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', namespace: NS, uid: 'uid-hpa' }, spec: { minReplicas: 0, maxReplicas: 5, scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' } } } as KubeObject;
      const judge = await levee(new Caches().add(service('web', { app: 'web' }), hpa).deploymentBehind('web', 'web'));
      warnedFor(await judge(scaleReview('Deployment', 'web', 2, 0, 'system:kube-controller-manager')), AUTOSCALER_TO_ZERO);
    });

    it('lets two of three backends of one Service go to 0 in parallel and refuses the third', async () => {
      const shared = { tier: 'front' };
      const caches = new Caches().add(service('web', shared));
      for (const color of ['blue', 'green', 'red']) caches.deploymentBehind(color, 'web', 2, { ...shared, color });
      caches.endpoints('web', ['blue', 'green', 'red'].flatMap((c) => [`${c}-1-0`, `${c}-1-1`]));
      const judge = await levee(caches);
      const answers = await Promise.all(['blue', 'green', 'red'].map((c) => judge(scaleReview('Deployment', c, 2, 0))));
      assert.deepEqual(answers.map((a) => a.allowed).sort(), [false, true, true], JSON.stringify(answers.map((a) => a.status?.message)));
    });

    it('counts a ReplicationController and a Deployment of the same name as two backends when both go to 0 in parallel', async () => {
      const shared = { tier: 'front' };
      const caches = new Caches().add(service('web', shared)).deploymentBehind('web', 'web', 2, { ...shared, kind: 'deploy' }).workloadBehind('ReplicationController', 'web', 'web', 2, { ...shared, kind: 'rc' });
      caches.endpoints('web', ['web-1-0', 'web-1-1', 'web-0', 'web-1']);
      const judge = await levee(caches);
      const answers = await Promise.all([judge(scaleReview('Deployment', 'web', 2, 0)), judge(scaleReview('ReplicationController', 'web', 2, 0))]);
      assert.deepEqual(answers.map((a) => a.allowed).sort(), [false, true], JSON.stringify(answers.map((a) => a.status?.message)));
    });

    it("allows the Deployment controller's Recreate rollout scaling the only ReplicaSet behind a Service to 0 (judged at the Deployment)", async () => {
      const judge = await levee(new Caches().add(service('web', { app: 'web' })).deploymentBehind('web', 'web'));
      const rs = workload('ReplicaSet', 'web-1', 2, { owner: ref('Deployment', 'web'), labels: { app: 'web' } });
      allowed(await judge(objectReview('UPDATE', rs, withReplicas(rs, 0), KCM_DEPLOY)));
    });

    it('allows (with a warning) creating a Deployment at 0 under a cached HTTPScaledObject that allows zero, as the KEDA HTTP add-on ships apps', async () => {
      const hso = { apiVersion: 'http.keda.sh/v1alpha1', kind: 'HTTPScaledObject', metadata: { name: 'web', namespace: NS, uid: 'uid-hso' }, spec: { hosts: ['web.example'], scaleTargetRef: { name: 'web', kind: 'Deployment', apiVersion: 'apps/v1', service: 'web', port: 80 }, replicas: { min: 0, max: 5 } } } as KubeObject;
      const judge = await levee(new Caches().add(service('web', { app: 'web' }), hso));
      warnedFor(await judge(objectReview('CREATE', null, workload('Deployment', 'web', 0))), AUTOSCALER_TO_ZERO);
    });

    it('refuses the HPA identity scaling to 0 when the cached HPA has minReplicas 1', async () => {
      const hpa = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', namespace: NS, uid: 'uid-hpa' }, spec: { minReplicas: 1, maxReplicas: 5, scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' } } } as KubeObject;
      const judge = await levee(new Caches().add(service('web', { app: 'web' }), hpa).deploymentBehind('web', 'web'));
      refusedFor(await judge(scaleReview('Deployment', 'web', 2, 0, HPA)), STZ);
    });

    it('refuses the HPA identity scaling to 0 a Deployment no cached HPA targets (its HPA with minReplicas 0 targets another)', async () => {
      const hpa = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'other', namespace: NS, uid: 'uid-hpa' }, spec: { minReplicas: 0, maxReplicas: 5, scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'other' } } } as KubeObject;
      const judge = await levee(new Caches().add(service('web', { app: 'web' }), hpa).deploymentBehind('web', 'web'));
      refusedFor(await judge(scaleReview('Deployment', 'web', 2, 0, HPA)), STZ);
    });

    it('refuses alice scaling to 0 even when a cached HPA allows zero (the autoscaler exemption is for the autoscaler only)', async () => {
      const hpa = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web', namespace: NS, uid: 'uid-hpa' }, spec: { minReplicas: 0, maxReplicas: 5, scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' } } } as KubeObject;
      const judge = await levee(new Caches().add(service('web', { app: 'web' }), hpa).deploymentBehind('web', 'web'));
      refusedFor(await judge(scaleReview('Deployment', 'web', 2, 0)), STZ);
    });

    it('refuses an HPA targeting a StatefulSet by the Deployment kind being used to let the StatefulSet go to zero', async () => {
      const hpa = { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'db', namespace: NS, uid: 'uid-hpa' }, spec: { minReplicas: 0, maxReplicas: 5, scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'db' } } } as KubeObject;
      const judge = await levee(new Caches().add(service('db', { app: 'db' }), hpa).workloadBehind('StatefulSet', 'db', 'db'));
      refusedFor(await judge(scaleReview('StatefulSet', 'db', 2, 0, HPA)), STZ);
    });

    it("warns (autoscaler-to-zero) when KEDA's operator scales to 0 a Deployment whose cached ScaledObject has minReplicaCount 0", async () => {
      const so = { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'web', namespace: NS, uid: 'uid-so' }, spec: { minReplicaCount: 0, scaleTargetRef: { name: 'web' }, triggers: [{ type: 'cpu', metadata: { value: '50' } }] } } as KubeObject;
      const judge = await levee(new Caches().add(service('web', { app: 'web' }), so).deploymentBehind('web', 'web'));
      warnedFor(await judge(scaleReview('Deployment', 'web', 2, 0, KEDA)), AUTOSCALER_TO_ZERO);
    });

    it("refuses KEDA's operator scaling to 0 when the cached ScaledObject has minReplicaCount 1", async () => {
      const so = { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'web', namespace: NS, uid: 'uid-so' }, spec: { minReplicaCount: 1, scaleTargetRef: { name: 'web' }, triggers: [{ type: 'cpu', metadata: { value: '50' } }] } } as KubeObject;
      const judge = await levee(new Caches().add(service('web', { app: 'web' }), so).deploymentBehind('web', 'web'));
      refusedFor(await judge(scaleReview('Deployment', 'web', 2, 0, KEDA)), STZ);
    });

    it("refuses KEDA's operator scaling a StatefulSet to 0 when the ScaledObject allowing zero targets the Deployment of that name (scaleTargetRef kind defaults to Deployment)", async () => {
      const so = { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'db', namespace: NS, uid: 'uid-so' }, spec: { minReplicaCount: 0, scaleTargetRef: { name: 'db' }, triggers: [{ type: 'cpu', metadata: { value: '50' } }] } } as KubeObject;
      const judge = await levee(new Caches().add(service('db', { app: 'db' }), so).workloadBehind('StatefulSet', 'db', 'db'));
      refusedFor(await judge(scaleReview('StatefulSet', 'db', 2, 0, KEDA)), STZ);
    });
  });

  // ------------------------------------------------------------ odd field spellings
  describe('odd field spellings never crash the webhook (200 with an answer)', () => {
    const spellings: Array<[string, (o: Record<string, any>) => void]> = [
      ['spec.replicas as the string "0"', (o) => (o.spec.replicas = '0')],
      ['spec.replicas null', (o) => (o.spec.replicas = null)],
      ['spec.replicas negative', (o) => (o.spec.replicas = -1)],
      ['spec.replicas a float', (o) => (o.spec.replicas = 0.5)],
      ['ownerReferences null', (o) => (o.metadata.ownerReferences = null)],
      ['ownerReferences an object', (o) => (o.metadata.ownerReferences = { kind: 'Deployment', name: 'web', uid: 'uid-Deployment-web', controller: true })],
      ['ownerReferences [null]', (o) => (o.metadata.ownerReferences = [null])],
      ['an owner reference without uid', (o) => (o.metadata.ownerReferences = [{ kind: 'Deployment', name: 'web', controller: true }])],
      ['metadata.labels null', (o) => (o.metadata.labels = null)],
      ['template labels with a number value', (o) => (o.spec.template.metadata.labels = { app: 7 })],
      ['spec.template null', (o) => (o.spec.template = null)],
      ['spec.template a string', (o) => (o.spec.template = 'x')],
      ['spec null', (o) => (o.spec = null)],
      ['metadata absent', (o) => delete o.metadata],
    ];
    for (const verdict of ['Healthy', 'Unhealthy'] as const) {
      for (const kind of ['Deployment', 'ReplicaSet', 'StatefulSet', 'ReplicationController']) {
        it(`${kind} updates with odd spellings, verdict ${verdict}`, async () => {
          const judge = await levee(new Caches().add(service('web', { app: 'web' })).deploymentBehind('web', 'web'), verdict);
          for (const [what, spoil] of spellings) {
            const before = workload(kind, 'web', 2, kind === 'ReplicaSet' ? { owner: ref('Deployment', 'web') } : {});
            const after = JSON.parse(JSON.stringify(before)) as Record<string, any>;
            spoil(after);
            const response = await judge(objectReview('UPDATE', before, after as KubeObject));
            assert.equal(typeof response.allowed, 'boolean', `${what}: ${JSON.stringify(response)}`);
          }
        });
      }
    }

    it("pods with spoiled owner references from the ReplicaSet controller's identity are refused while Unhealthy, never believed", async () => {
      const judge = await levee(new Caches().add(service('web', { app: 'web' })).deploymentBehind('web', 'web'), 'Unhealthy');
      const spoiled: unknown[] = [
        null,
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'uid-ReplicaSet-web-1', controller: true },
        [null],
        [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', controller: true }],
        [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'uid-ReplicaSet-web-1', controller: 'true' }],
        [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-1', uid: 'uid-ReplicaSet-web-1' }],
        [{ apiVersion: 'apps/v1', kind: 'replicaset', name: 'web-1', uid: 'uid-ReplicaSet-web-1', controller: true }],
      ];
      for (const references of spoiled) {
        const p = pod('spoiled', { app: 'web' }) as { metadata: Record<string, unknown> };
        p.metadata.ownerReferences = references;
        const response = await judge(objectReview('CREATE', null, p as KubeObject, KCM_RS));
        assert.equal(response.allowed, false, `${JSON.stringify(references)}: ${JSON.stringify(response)}`);
      }
    });

    it('odd Scale objects', async () => {
      const judge = await levee(new Caches().add(service('web', { app: 'web' })).deploymentBehind('web', 'web'));
      for (const spec of [{ replicas: '0' }, { replicas: null }, null, 'x', { replicas: -3 }]) {
        const body = scaleReview('Deployment', 'web', 2, 0) as { request: { object: Record<string, unknown>; oldObject: unknown } };
        body.request.object.spec = spec;
        const response = await judge(body);
        assert.equal(typeof response.allowed, 'boolean', `${JSON.stringify(spec)}: ${JSON.stringify(response)}`);
      }
      const noOld = scaleReview('Deployment', 'web', 2, 0) as { request: { oldObject: unknown } };
      noOld.request.oldObject = null;
      assert.equal(typeof (await judge(noOld)).allowed, 'boolean');
    });
  });

  // ------------------------------------------------------------ probe-gate
  describe('probe-gate while Unhealthy', () => {
    const webCaches = () => new Caches().add(service('web', { app: 'web' })).deploymentBehind('web', 'web');

    it('refuses a Deployment image change', async () => {
      const judge = await levee(webCaches(), 'Unhealthy');
      const before = workload('Deployment', 'web', 2);
      refusedFor(await judge(objectReview('UPDATE', before, withImage(before, 'registry.example/app:2.0'))), GATE);
    });

    it('allows a Deployment scale-up through spec.replicas and through /scale', async () => {
      const judge = await levee(webCaches(), 'Unhealthy');
      const before = workload('Deployment', 'web', 2);
      allowed(await judge(objectReview('UPDATE', before, withReplicas(before, 5))));
      allowed(await judge(scaleReview('Deployment', 'web', 2, 5)));
    });

    it('allows deleting a Deployment', async () => {
      const judge = await levee(webCaches(), 'Unhealthy');
      const response = await judge(objectReview('DELETE', workload('Deployment', 'web', 2), null));
      allowed(response);
    });

    it('allows a metadata-only change (labels and annotations of the Deployment itself)', async () => {
      const judge = await levee(webCaches(), 'Unhealthy');
      const before = workload('Deployment', 'web', 2);
      allowed(await judge(objectReview('UPDATE', before, workload('Deployment', 'web', 2, { metaLabels: { team: 'pay' }, annotations: { note: 'x' } }))));
    });

    it('refuses a scale-up that carries a template change with it', async () => {
      const judge = await levee(webCaches(), 'Unhealthy');
      const before = workload('Deployment', 'web', 2);
      refusedFor(await judge(objectReview('UPDATE', before, withImage(withReplicas(before, 4), 'registry.example/app:2.0'))), GATE);
    });

    it("allows kubectl rollout undo: the Deployment goes back to the template its previous ReplicaSet has (pod-template-hash label and all)", async () => {
      const labels = { app: 'web' };
      const caches = webCaches();
      const old = workload('ReplicaSet', 'web-0', 0, { labels, owner: ref('Deployment', 'web') });
      (old.spec as { template: unknown }).template = podTemplate(labels, 'registry.example/app:0.9', { 'pod-template-hash': '0' });
      caches.add(old);
      const judge = await levee(caches, 'Unhealthy');
      const before = workload('Deployment', 'web', 2);
      allowed(await judge(objectReview('UPDATE', before, withImage(before, 'registry.example/app:0.9'))));
    });

    it("refuses a 'rollback' to a template only another Deployment's ReplicaSet has", async () => {
      const caches = webCaches().deploymentBehind('api', 'api');
      const apiOld = workload('ReplicaSet', 'api-0', 0, { labels: { app: 'web' }, owner: ref('Deployment', 'api') });
      (apiOld.spec as { template: unknown }).template = podTemplate({ app: 'web' }, 'registry.example/app:evil', { 'pod-template-hash': '0' });
      caches.add(apiOld);
      const judge = await levee(caches, 'Unhealthy');
      const before = workload('Deployment', 'web', 2);
      refusedFor(await judge(objectReview('UPDATE', before, withImage(before, 'registry.example/app:evil'))), GATE);
    });

    it("refuses a 'rollback' to a template held by a ReplicaSet whose owner reference names the Deployment's name with a stale uid", async () => {
      const caches = webCaches();
      const stale = workload('ReplicaSet', 'web-old', 0, { labels: { app: 'web' }, owner: ref('Deployment', 'web', 'uid-previous-web') });
      (stale.spec as { template: unknown }).template = podTemplate({ app: 'web' }, 'registry.example/app:evil', { 'pod-template-hash': '9' });
      caches.add(stale);
      const judge = await levee(caches, 'Unhealthy');
      const before = workload('Deployment', 'web', 2);
      refusedFor(await judge(objectReview('UPDATE', before, withImage(before, 'registry.example/app:evil'))), GATE);
    });

    it('allows a DaemonSet rollback to a template its ControllerRevision has (stored with $patch: replace, as the controller writes it)', async () => {
      const labels = { app: 'agent' };
      const ds = workload('DaemonSet', 'agent', undefined, { labels, image: 'registry.example/agent:2.0' });
      const revision = {
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: { name: 'agent-1', namespace: NS, uid: 'uid-cr-1', ownerReferences: [ref('DaemonSet', 'agent')] },
        revision: 1,
        data: { spec: { template: { ...podTemplate(labels, 'registry.example/agent:1.0'), $patch: 'replace' } } },
      } as KubeObject;
      const judge = await levee(new Caches().add(ds, revision), 'Unhealthy');
      allowed(await judge(objectReview('UPDATE', ds, withImage(ds, 'registry.example/agent:1.0'))));
    });

    it('allows a StatefulSet rollback to a template its ControllerRevision has', async () => {
      const labels = { app: 'db' };
      const sts = workload('StatefulSet', 'db', 2, { labels, image: 'registry.example/db:2.0' });
      const revision = {
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: { name: 'db-1', namespace: NS, uid: 'uid-cr-db', ownerReferences: [ref('StatefulSet', 'db')] },
        revision: 1,
        data: { spec: { template: { ...podTemplate(labels, 'registry.example/db:1.0'), $patch: 'replace' } } },
      } as KubeObject;
      const judge = await levee(new Caches().add(sts, revision), 'Unhealthy');
      allowed(await judge(objectReview('UPDATE', sts, withImage(sts, 'registry.example/db:1.0'))));
    });

    it('refuses creating a Deployment, a StatefulSet, a DaemonSet and a CronJob', async () => {
      const judge = await levee(new Caches(), 'Unhealthy');
      for (const kind of ['Deployment', 'StatefulSet', 'DaemonSet']) refusedFor(await judge(objectReview('CREATE', null, workload(kind, `new-${kind.toLowerCase()}`, 1))), GATE);
      const cron = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'nightly', namespace: NS }, spec: { schedule: '@daily', jobTemplate: { spec: { template: podTemplate({ app: 'n' }) } } } } as KubeObject;
      refusedFor(await judge(objectReview('CREATE', null, cron)), GATE);
    });

    it("allows the ReplicaSet controller's pod for a cached ReplicaSet (true uid)", async () => {
      const judge = await levee(webCaches(), 'Unhealthy');
      allowed(await judge(objectReview('CREATE', null, pod('web-1-new', { app: 'web' }, ref('ReplicaSet', 'web-1')), KCM_RS)));
    });

    it('refuses a pod alice creates with the true controller reference of a cached ReplicaSet', async () => {
      const judge = await levee(webCaches(), 'Unhealthy');
      refusedFor(await judge(objectReview('CREATE', null, pod('web-1-new', { app: 'web' }, ref('ReplicaSet', 'web-1')))), GATE);
    });

    it('refuses a pod the ReplicaSet controller identity creates with a reference whose uid levee does not hold', async () => {
      const judge = await levee(webCaches(), 'Unhealthy');
      refusedFor(await judge(objectReview('CREATE', null, pod('web-1-new', { app: 'web' }, ref('ReplicaSet', 'web-1', 'uid-forged')), KCM_RS)), GATE);
    });

    it('refuses a pod whose controller reference names a ConfigMap, even from a controller identity', async () => {
      const judge = await levee(webCaches().add({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: NS, uid: 'uid-cm' } } as KubeObject), 'Unhealthy');
      refusedFor(await judge(objectReview('CREATE', null, pod('evil', { app: 'x' }, ref('ConfigMap', 'cm', 'uid-cm', 'v1')), KCM_RS)), GATE);
    });

    it("refuses a pod in another namespace whose reference copies a cached ReplicaSet's name and uid (owner references are namespace-local)", async () => {
      const judge = await levee(webCaches(), 'Unhealthy');
      refusedFor(await judge(objectReview('CREATE', null, pod('web-1-new', { app: 'web' }, ref('ReplicaSet', 'web-1'), 'elsewhere'), KCM_RS)), GATE);
    });

    it("refuses a pod whose reference names a cached Deployment directly (the Deployment controller never makes pods)", async () => {
      const judge = await levee(webCaches(), 'Unhealthy');
      refusedFor(await judge(objectReview('CREATE', null, pod('web-direct', { app: 'web' }, ref('Deployment', 'web')), KCM_RS)), GATE);
    });

    it("allows the Deployment controller's new ReplicaSet for a cached Deployment, and refuses the same from alice", async () => {
      const judge = await levee(webCaches(), 'Unhealthy');
      const rs = workload('ReplicaSet', 'web-2', 2, { labels: { app: 'web' }, owner: ref('Deployment', 'web') });
      allowed(await judge(objectReview('CREATE', null, rs, KCM_DEPLOY)));
      refusedFor(await judge(objectReview('CREATE', null, rs)), GATE);
    });

    it("allows the CronJob controller's Job for a cached CronJob, and refuses a Job alice creates with that reference", async () => {
      const cron = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'nightly', namespace: NS, uid: 'uid-CronJob-nightly' }, spec: {} } as KubeObject;
      const judge = await levee(webCaches().add(cron), 'Unhealthy');
      const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'nightly-1', namespace: NS, ownerReferences: [ref('CronJob', 'nightly', 'uid-CronJob-nightly', 'batch/v1')] }, spec: { template: podTemplate({ app: 'n' }) } } as KubeObject;
      allowed(await judge(objectReview('CREATE', null, job, KCM_CRONJOB)));
      refusedFor(await judge(objectReview('CREATE', null, job)), GATE);
    });

    it('refuses a Job the CronJob controller identity creates for a CronJob name whose uid levee does not hold', async () => {
      const judge = await levee(webCaches(), 'Unhealthy');
      const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'nightly-1', namespace: NS, ownerReferences: [ref('CronJob', 'nightly', 'uid-nope', 'batch/v1')] }, spec: { template: podTemplate({ app: 'n' }) } } as KubeObject;
      refusedFor(await judge(objectReview('CREATE', null, job, KCM_CRONJOB)), GATE);
    });

    it('refuses kubectl rollout restart (a template annotation)', async () => {
      const judge = await levee(webCaches(), 'Unhealthy');
      const before = workload('Deployment', 'web', 2);
      const spec = before.spec as { template: { metadata: Record<string, unknown>; spec: unknown } };
      const after = { ...before, spec: { ...spec, template: { ...spec.template, metadata: { ...spec.template.metadata, annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-30T04:50:00Z' } } } } } as KubeObject;
      refusedFor(await judge(objectReview('UPDATE', before, after)), GATE);
    });

    it('refuses a pod whose controller reference names an ownerless ConfigMap while a second, non-controller reference names the true ReplicaSet', async () => {
      const judge = await levee(webCaches(), 'Unhealthy');
      const p = pod('mixed', { app: 'web' }, ref('ConfigMap', 'cm', 'uid-cm', 'v1'));
      p.metadata!.ownerReferences!.push({ ...ref('ReplicaSet', 'web-1'), controller: false });
      refusedFor(await judge(objectReview('CREATE', null, p, KCM_RS)), GATE);
    });

    it("refuses a pod whose DaemonSet reference carries the uid of a cached StatefulSet of the same name", async () => {
      const caches = webCaches().add(workload('StatefulSet', 'db', 2, { labels: { app: 'db' } }));
      const judge = await levee(caches, 'Unhealthy');
      refusedFor(await judge(objectReview('CREATE', null, pod('db-x', { app: 'db' }, ref('DaemonSet', 'db', 'uid-StatefulSet-db')), 'system:serviceaccount:kube-system:daemon-set-controller')), GATE);
    });

    it("allows the StatefulSet controller's pod for a cached StatefulSet, and kube-controller-manager's own identity's pod for a cached DaemonSet", async () => {
      const caches = webCaches().add(workload('StatefulSet', 'db', 2, { labels: { app: 'db' } }), workload('DaemonSet', 'agent', undefined, { labels: { app: 'agent' } }));
      const judge = await levee(caches, 'Unhealthy');
      allowed(await judge(objectReview('CREATE', null, pod('db-2', { app: 'db' }, ref('StatefulSet', 'db')), 'system:serviceaccount:kube-system:statefulset-controller')));
      allowed(await judge(objectReview('CREATE', null, pod('agent-y', { app: 'agent' }, ref('DaemonSet', 'agent')), 'system:kube-controller-manager')));
    });

    it('refuses a bare pod and a bare Job alice creates', async () => {
      const judge = await levee(webCaches(), 'Unhealthy');
      refusedFor(await judge(objectReview('CREATE', null, pod('bare', { app: 'x' }))), GATE);
      const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'once', namespace: NS }, spec: { template: podTemplate({ app: 'once' }) } } as KubeObject;
      refusedFor(await judge(objectReview('CREATE', null, job)), GATE);
    });

    it("refuses Argo CD's application controller rolling out a new image (automation is not a controller making a cached owner's pods)", async () => {
      const judge = await levee(webCaches(), 'Unhealthy');
      const before = workload('Deployment', 'web', 2);
      refusedFor(await judge(objectReview('UPDATE', before, withImage(before, 'registry.example/app:2.0'), 'system:serviceaccount:argocd:argocd-application-controller')), GATE);
    });

    it('refuses a CronJob jobTemplate change', async () => {
      const cron = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'nightly', namespace: NS, uid: 'uid-CronJob-nightly' }, spec: { schedule: '@daily', jobTemplate: { spec: { template: podTemplate({ app: 'n' }) } } } } as KubeObject;
      const judge = await levee(webCaches().add(cron), 'Unhealthy');
      const after = { ...cron, spec: { schedule: '@daily', jobTemplate: { spec: { template: podTemplate({ app: 'n' }, 'registry.example/app:2.0') } } } } as KubeObject;
      refusedFor(await judge(objectReview('UPDATE', cron, after)), GATE);
    });

    it('allows a StatefulSet scale-down and a DaemonSet update-strategy change (template untouched)', async () => {
      const sts = workload('StatefulSet', 'db', 3, { labels: { app: 'db' } });
      const ds = workload('DaemonSet', 'agent', undefined, { labels: { app: 'agent' } });
      const judge = await levee(webCaches().add(sts, ds), 'Unhealthy');
      allowed(await judge(objectReview('UPDATE', sts, withReplicas(sts, 1))));
      allowed(await judge(objectReview('UPDATE', ds, { ...ds, spec: { ...(ds.spec as object), updateStrategy: { type: 'OnDelete' } } } as KubeObject)));
    });

    it('allows a rollback that also scales up (back to the previous ReplicaSet template, more replicas)', async () => {
      const labels = { app: 'web' };
      const caches = webCaches();
      const old = workload('ReplicaSet', 'web-0', 0, { labels, owner: ref('Deployment', 'web') });
      (old.spec as { template: unknown }).template = podTemplate(labels, 'registry.example/app:0.9', { 'pod-template-hash': '0' });
      const judge = await levee(caches.add(old), 'Unhealthy');
      const before = workload('Deployment', 'web', 2);
      allowed(await judge(objectReview('UPDATE', before, withImage(withReplicas(before, 6), 'registry.example/app:0.9'))));
    });

    it("allows the replication controller's pod for a cached ReplicationController and the Job controller's pod for a cached Job", async () => {
      const job = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'once', namespace: NS, uid: 'uid-Job-once' }, spec: {} } as KubeObject;
      const caches = webCaches().workloadBehind('ReplicationController', 'legacy', 'legacy').add(job);
      const judge = await levee(caches, 'Unhealthy');
      allowed(await judge(objectReview('CREATE', null, pod('legacy-new', { app: 'legacy' }, ref('ReplicationController', 'legacy', 'uid-ReplicationController-legacy', 'v1')), 'system:serviceaccount:kube-system:replication-controller')));
      allowed(await judge(objectReview('CREATE', null, pod('once-x', { app: 'once' }, ref('Job', 'once', 'uid-Job-once', 'batch/v1')), 'system:serviceaccount:kube-system:job-controller')));
    });

    it('refuses a StatefulSet "rollback" to a template only another StatefulSet\'s ControllerRevision has', async () => {
      const sts = workload('StatefulSet', 'db', 2, { labels: { app: 'db' }, image: 'registry.example/db:2.0' });
      const other = workload('StatefulSet', 'cache', 2, { labels: { app: 'db' } });
      const revision = {
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: { name: 'cache-1', namespace: NS, uid: 'uid-cr-cache', ownerReferences: [ref('StatefulSet', 'cache')] },
        revision: 1,
        data: { spec: { template: { ...podTemplate({ app: 'db' }, 'registry.example/db:evil'), $patch: 'replace' } } },
      } as KubeObject;
      const judge = await levee(new Caches().add(sts, other, revision), 'Unhealthy');
      refusedFor(await judge(objectReview('UPDATE', sts, withImage(sts, 'registry.example/db:evil'))), GATE);
    });

    it('refuses a DaemonSet "rollback" to a ControllerRevision whose owner reference carries a stale uid', async () => {
      const ds = workload('DaemonSet', 'agent', undefined, { labels: { app: 'agent' }, image: 'registry.example/agent:2.0' });
      const revision = {
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: { name: 'agent-old', namespace: NS, uid: 'uid-cr-old', ownerReferences: [ref('DaemonSet', 'agent', 'uid-previous-agent')] },
        revision: 1,
        data: { spec: { template: { ...podTemplate({ app: 'agent' }, 'registry.example/agent:evil'), $patch: 'replace' } } },
      } as KubeObject;
      const judge = await levee(new Caches().add(ds, revision), 'Unhealthy');
      refusedFor(await judge(objectReview('UPDATE', ds, withImage(ds, 'registry.example/agent:evil'))), GATE);
    });

    it('refuses a Deployment outside levee\'s namespace that carries the probe label levee.dev/probe: "true"', async () => {
      const judge = await levee(webCaches(), 'Unhealthy');
      const before = workload('Deployment', 'web', 2, { metaLabels: { 'levee.dev/probe': 'true' } });
      refusedFor(await judge(objectReview('UPDATE', before, withImage(before, 'registry.example/app:2.0'))), GATE);
      refusedFor(await judge(objectReview('CREATE', null, workload('Deployment', 'sneaky', 1, { labels: { 'levee.dev/probe': 'true' }, metaLabels: { 'levee.dev/probe': 'true' } }))), GATE);
    });

    it('allows everything while Healthy (control)', async () => {
      const judge = await levee(webCaches(), 'Healthy');
      const before = workload('Deployment', 'web', 2);
      allowed(await judge(objectReview('UPDATE', before, withImage(before, 'registry.example/app:2.0'))));
    });
  });
});
