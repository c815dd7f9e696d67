// Attacks on scale-to-zero and probe-gate from outside the rules' own tests, each with the
// answer the README promises (ReplicaSets that claim a Deployment: workload-owner-attacks.test.ts):
// - new pod labels that leave the only Service a workload backs are refused (Deployment,
//   DaemonSet), and deleting a DaemonSet or a bare Pod that is a Service's last backend warns;
// - probe-gate gates ReplicationControllers as any workload.
import type { KubeObject } from '../../src/kube/types.js';
import {
  Caches,
  KCM_RS,
  LAST_BACKEND_DELETED,
  objectReview,
  pod,
  podTemplate,
  ref,
  refusedFor,
  service,
  STZ,
  useWorkloadLevee,
  GATE,
  withImage,
  warnedFor,
  notWarnedFor,
  allowed,
  withTemplateLabels,
  workload,
} from '../support/workload-reviews.js';

describe('server: scale-to-zero and probe-gate against relabels, bare backends and ReplicationControllers', function () {
  this.timeout(20_000);
  const { levee } = useWorkloadLevee();

    it('refuses a Deployment whose new pod template labels no longer match the Service that only it backs', async () => {
      const judge = await levee(new Caches().add(service('web', { app: 'web' })).deploymentBehind('web', 'web'));
      const before = workload('Deployment', 'web', 2);
      const after = { ...withTemplateLabels(before, { app: 'web-v2' }), spec: { ...(before.spec as object), selector: { matchLabels: { app: 'web-v2' } }, template: podTemplate({ app: 'web-v2' }) } } as KubeObject;
      refusedFor(await judge(objectReview('UPDATE', before, after)), STZ);
    });

    it('warns when a DaemonSet that is the last backend of a Service is deleted', async () => {
      const labels = { app: 'agent' };
      const ds = workload('DaemonSet', 'agent', undefined, { labels });
      const judge = await levee(new Caches().add(service('agent', labels), ds, pod('agent-x', labels, ref('DaemonSet', 'agent'))).endpoints('agent', ['agent-x']));
      warnedFor(await judge(objectReview('DELETE', ds, null)), LAST_BACKEND_DELETED);
    });

    it('warns when a bare Pod that is the last backend of a Service is deleted', async () => {
      const labels = { app: 'solo' };
      const bare = pod('solo', labels);
      const judge = await levee(new Caches().add(service('solo', labels), bare).endpoints('solo', ['solo']));
      warnedFor(await judge(objectReview('DELETE', bare, null)), LAST_BACKEND_DELETED);
    });

    it('refuses a DaemonSet whose new pod template labels no longer match the Service that only it backs', async () => {
      const labels = { app: 'agent' };
      const ds = workload('DaemonSet', 'agent', undefined, { labels });
      const judge = await levee(new Caches().add(service('agent', labels), ds, pod('agent-x', labels, ref('DaemonSet', 'agent'))).endpoints('agent', ['agent-x']));
      const after = { ...ds, spec: { selector: { matchLabels: { app: 'agent2' } }, template: podTemplate({ app: 'agent2' }) } } as KubeObject;
      refusedFor(await judge(objectReview('UPDATE', ds, after)), STZ);
    });

  it('refuses creating a ReplicationController while Unhealthy (a rollout like any workload create)', async () => {
    const judge = await levee(new Caches(), 'Unhealthy');
    refusedFor(await judge(objectReview('CREATE', null, workload('ReplicationController', 'legacy', 2))), GATE);
  });

  it("refuses a ReplicationController pod template change while Unhealthy", async () => {
    const rc = workload('ReplicationController', 'legacy', 2);
    const judge = await levee(new Caches().add(rc), 'Unhealthy');
    refusedFor(await judge(objectReview('UPDATE', rc, withImage(rc, 'registry.example/app:2.0'))), GATE);
  });

  describe('what a relabel or a bare backend still may do', () => {
    const RELABEL = /new pod labels of/;
    const noRelabelRefusal = (response: Parameters<typeof allowed>[0]): void => {
      allowed(response);
      notWarnedFor(response, RELABEL);
    };

    it('allows new pod labels the Service still selects (a label added)', async () => {
      const judge = await levee(new Caches().add(service('web', { app: 'web' })).deploymentBehind('web', 'web'));
      const before = workload('Deployment', 'web', 2);
      noRelabelRefusal(await judge(objectReview('UPDATE', before, withTemplateLabels(before, { app: 'web', track: 'stable' }))));
    });

    it('allows new pod labels while another workload keeps backing the Service', async () => {
      const caches = new Caches().add(service('web', { tier: 'front' })).deploymentBehind('web', 'web', 2, { app: 'web', tier: 'front' }).workloadBehind('StatefulSet', 'web-store', 'web', 1, { app: 'web-store', tier: 'front' });
      const judge = await levee(caches);
      const before = workload('Deployment', 'web', 2, { labels: { app: 'web', tier: 'front' } });
      noRelabelRefusal(await judge(objectReview('UPDATE', before, withTemplateLabels(before, { app: 'web' }))));
    });

    it('refuses dropping the one label the Service selects while the Deployment selector stays (the realistic spelling)', async () => {
      const judge = await levee(new Caches().add(service('web', { tier: 'front' })).deploymentBehind('web', 'web', 2, { app: 'web', tier: 'front' }));
      const before = workload('Deployment', 'web', 2, { labels: { app: 'web', tier: 'front' } });
      const after = { ...before, spec: { ...(before.spec as object), selector: { matchLabels: { app: 'web' } }, template: podTemplate({ app: 'web' }) } } as KubeObject;
      refusedFor(await judge(objectReview('UPDATE', { ...before, spec: { ...(before.spec as object), selector: { matchLabels: { app: 'web' } } } } as KubeObject, after)), /new pod labels of Deployment\/web leave Service web/);
    });

    it('allows new pod labels of a Deployment whose pods were never ready behind the Service', async () => {
      const labels = { app: 'web' };
      const judge = await levee(new Caches().add(service('web', labels), workload('Deployment', 'web', 2)));
      const before = workload('Deployment', 'web', 2);
      noRelabelRefusal(await judge(objectReview('UPDATE', before, withTemplateLabels(before, { app: 'web-v2' }))));
    });

    it("lets a ReplicaSet's template labels change (it replaces no running pod)", async () => {
      const judge = await levee(new Caches().add(service('web', { app: 'web' })).workloadBehind('ReplicaSet', 'web', 'web'));
      const before = workload('ReplicaSet', 'web', 2);
      noRelabelRefusal(await judge(objectReview('UPDATE', before, withTemplateLabels(before, { app: 'web-v2' }))));
    });

    it("does not warn when a ReplicaSet's pod, its controller cached, is deleted (the ReplicaSet replaces it)", async () => {
      const judge = await levee(new Caches().add(service('web', { app: 'web' })).workloadBehind('ReplicaSet', 'web', 'web', 1));
      const owned = pod('web-0', { app: 'web' }, ref('ReplicaSet', 'web'));
      notWarnedFor(await judge(objectReview('DELETE', owned, null, KCM_RS)), LAST_BACKEND_DELETED);
      notWarnedFor(await judge(objectReview('DELETE', owned, null)), LAST_BACKEND_DELETED);
    });

    it('warns when a pod whose controller reference names nothing levee caches is deleted as the last backend (judged as bare)', async () => {
      const labels = { app: 'solo' };
      const forged = pod('solo', labels, ref('ReplicaSet', 'ghost'));
      const judge = await levee(new Caches().add(service('solo', labels), forged).endpoints('solo', ['solo']));
      warnedFor(await judge(objectReview('DELETE', forged, null)), LAST_BACKEND_DELETED);
    });

    it("does not judge the cluster's own machinery deleting a last backend (a cascade, a namespace teardown, a kubelet)", async () => {
      const labels = { app: 'solo' };
      const bare = pod('solo', labels);
      const ds = workload('DaemonSet', 'agent', undefined, { labels: { app: 'agent' } });
      const judge = await levee(
        new Caches().add(service('solo', labels), bare, service('agent', { app: 'agent' }), ds, pod('agent-x', { app: 'agent' }, ref('DaemonSet', 'agent'))).endpoints('solo', ['solo']).endpoints('agent', ['agent-x']),
      );
      for (const machinery of ['system:serviceaccount:kube-system:generic-garbage-collector', 'system:serviceaccount:kube-system:namespace-controller', 'system:node:worker-1', 'system:kube-controller-manager']) {
        notWarnedFor(await judge(objectReview('DELETE', bare, null, machinery)), LAST_BACKEND_DELETED);
        notWarnedFor(await judge(objectReview('DELETE', ds, null, machinery)), LAST_BACKEND_DELETED);
      }
      // A service account of another namespace is someone's automation, judged as a person.
      warnedFor(await judge(objectReview('DELETE', bare, null, 'system:serviceaccount:argocd:argocd-application-controller')), LAST_BACKEND_DELETED);
    });

    it('does not warn when a bare Pod is deleted while another pod backs the Service', async () => {
      const labels = { app: 'solo' };
      const judge = await levee(new Caches().add(service('solo', labels), pod('solo', labels), pod('solo-2', labels)).endpoints('solo', ['solo', 'solo-2']));
      notWarnedFor(await judge(objectReview('DELETE', pod('solo', labels), null)), LAST_BACKEND_DELETED);
    });

    it("refuses relabelling a bare Pod out of the only Service it backs, and allows it for a controller's pod", async () => {
      const labels = { app: 'solo' };
      const bare = pod('solo', labels);
      const judge = await levee(new Caches().add(service('solo', labels), bare).endpoints('solo', ['solo']));
      refusedFor(await judge(objectReview('UPDATE', bare, pod('solo', { app: 'quarantined' }))), /new pod labels of Pod\/solo leave Service solo/);

      const owned = await levee(new Caches().add(service('web', { app: 'web' })).workloadBehind('ReplicaSet', 'web', 'web', 1));
      const replicaPod = pod('web-0', { app: 'web' }, ref('ReplicaSet', 'web'));
      allowed(await owned(objectReview('UPDATE', replicaPod, pod('web-0', { app: 'quarantined' }, ref('ReplicaSet', 'web')))));
    });

    it('does not warn when a DaemonSet is deleted while a Deployment keeps backing the Service', async () => {
      const labels = { tier: 'agent' };
      const ds = workload('DaemonSet', 'agent', undefined, { labels: { ...labels, app: 'agent' } });
      const caches = new Caches().add(service('agent', labels), ds, pod('agent-x', { ...labels, app: 'agent' }, ref('DaemonSet', 'agent'))).deploymentBehind('helper', 'agent', 1, { ...labels, app: 'helper' });
      caches.endpoints('agent', ['agent-x', 'helper-1-0']);
      const judge = await levee(caches);
      notWarnedFor(await judge(objectReview('DELETE', ds, null)), LAST_BACKEND_DELETED);
    });
  });
});
