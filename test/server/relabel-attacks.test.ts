// Attacks on `labels-leave-service` and on `last-backend-deleted` for DaemonSets and bare Pods,
// through a levee over real HTTPS, with the answers the README promises:
// - new pod labels (template labels of a Deployment, StatefulSet or DaemonSet; a bare Pod's own)
//   that a Service the target alone backs no longer selects are refused, however the new
//   labels are spelled (a key removed, set to another value or to "", the template's metadata
//   gone) and whatever else the same update changes;
// - a pod counts as bare unless a controller levee caches with the very uid it names owns it,
//   and a bare pod's endpoints are its own, whatever its ownerReferences claim;
// - Services with no selector, ExternalName Services and endpoints that are not ready count
//   for nothing; kube-system answers through /validate/warn-only as warnings;
// - two relabels of a Service's two backends at the same moment are not judged together (the
//   README's "Not judged today").
import assert from 'node:assert/strict';
import type { AdmissionResponse, AdmissionReview } from '../../src/admission/types.js';
import type { PolicyId } from '../../src/config.js';
import { objectKey, toEndpointSliceView } from '../../src/cluster/views.js';
import { AUTHORIZED_BY, recordValue } from '../../src/engine/authorship.js';
import type { Authorization, OverrideAuthorizer } from '../../src/engine/overrides.js';
import type { KubeObject, UserInfo } from '../../src/kube/types.js';
import { call, makeTestCerts, type TestCerts } from '../support/https.js';
import { startTestServer, type TestServer } from '../support/server.js';
import {
  allowed,
  Caches,
  LAST_BACKEND_DELETED,
  notWarnedFor,
  objectReview,
  pod,
  podTemplate,
  ref,
  refusedFor,
  scaleReview,
  service,
  useWorkloadLevee,
  warnedFor,
  withReplicas,
  withTemplateLabels,
  workload,
  type Labels,
  as,
  dryRun,
} from '../support/workload-reviews.js';

const RELABEL = /new pod labels of/;
const relabelRefused = (response: AdmissionResponse, target: string, services: string): void =>
  refusedFor(response, new RegExp(`\\[scale-to-zero\\] the new pod labels of ${target} leave Service ${services} in namespace`));
const noRelabelRefusal = (response: AdmissionResponse): void => {
  allowed(response);
  notWarnedFor(response, RELABEL);
};


/** A Deployment's template with `labels`, its selector as given (the API server insists the two agree). */
function deployment(name: string, replicas: number, labels: Labels, selector: Labels = labels, annotations?: Labels): KubeObject {
  const object = workload('Deployment', name, replicas, { labels, ...(annotations ? { annotations } : {}) });
  return { ...object, spec: { ...(object.spec as object), selector: { matchLabels: selector } } } as KubeObject;
}

/** Deployment `web` (pods labelled app=web, tier=front) alone behind Service `front` (tier=front). */
function frontAlone(annotations?: Labels): Caches {
  const caches = new Caches().add(service('front', { tier: 'front' })).deploymentBehind('web', 'front', 2, { app: 'web', tier: 'front' });
  if (annotations) caches.add(deployment('web', 2, { app: 'web', tier: 'front' }, { app: 'web' }, annotations));
  return caches;
}

describe('server: attacks on labels-leave-service and on last-backend-deleted for DaemonSets and bare Pods', function () {
  this.timeout(20_000);
  const { levee } = useWorkloadLevee();

  describe('how the new labels are spelled', () => {
    const before = deployment('web', 2, { app: 'web', tier: 'front' }, { app: 'web' });

    it('refuses the Service label removed from the template (a JSON patch `remove`)', async () => {
      const judge = await levee(frontAlone());
      relabelRefused(await judge(objectReview('UPDATE', before, withTemplateLabels(before, { app: 'web' }))), 'Deployment/web', 'front');
    });

    it('refuses the Service label set to another value, and set to the empty string', async () => {
      const judge = await levee(frontAlone());
      relabelRefused(await judge(objectReview('UPDATE', before, withTemplateLabels(before, { app: 'web', tier: 'back' }))), 'Deployment/web', 'front');
      relabelRefused(await judge(objectReview('UPDATE', before, withTemplateLabels(before, { app: 'web', tier: '' }))), 'Deployment/web', 'front');
    });

    it("refuses a template whose metadata is gone, or whose labels are null (an apply that drops the template's labels)", async () => {
      const judge = await levee(frontAlone());
      const spec = before.spec as { template: { spec: unknown } };
      const noMetadata = { ...before, spec: { ...spec, template: { spec: spec.template.spec } } } as KubeObject;
      relabelRefused(await judge(objectReview('UPDATE', before, noMetadata)), 'Deployment/web', 'front');
      const nullLabels = { ...before, spec: { ...spec, template: { metadata: { labels: null }, spec: spec.template.spec } } } as unknown as KubeObject;
      relabelRefused(await judge(objectReview('UPDATE', before, nullLabels)), 'Deployment/web', 'front');
    });

    it('allows the same labels in another key order, and an unrelated label changed', async () => {
      const judge = await levee(frontAlone());
      noRelabelRefusal(await judge(objectReview('UPDATE', before, withTemplateLabels(before, { tier: 'front', app: 'web' }))));
      const withTrack = deployment('web', 2, { app: 'web', tier: 'front', track: 'a' }, { app: 'web' });
      noRelabelRefusal(await judge(objectReview('UPDATE', withTrack, withTemplateLabels(withTrack, { app: 'web', tier: 'front', track: 'b' }))));
    });
  });

  describe('what else the update does', () => {
    const before = deployment('web', 2, { app: 'web', tier: 'front' }, { app: 'web' });

    it('refuses a relabel sent together with a scale up (2 to 3)', async () => {
      const judge = await levee(frontAlone());
      relabelRefused(await judge(objectReview('UPDATE', before, withReplicas(withTemplateLabels(before, { app: 'web' }), 3))), 'Deployment/web', 'front');
    });

    it('refuses a relabel sent together with a scale to 0 (as the scale to zero it is)', async () => {
      const judge = await levee(frontAlone());
      refusedFor(await judge(objectReview('UPDATE', before, withReplicas(withTemplateLabels(before, { app: 'web' }), 0))), /scaling Deployment\/web to 0 replicas would leave Service front/);
    });

    it('allows a relabel of a Deployment at 0 replicas (no pod is replaced), and one that scales it up from 0', async () => {
      const judge = await levee(frontAlone());
      const atZero = withReplicas(before, 0);
      noRelabelRefusal(await judge(objectReview('UPDATE', atZero, withTemplateLabels(atZero, { app: 'web' }))));
      noRelabelRefusal(await judge(objectReview('UPDATE', atZero, withReplicas(withTemplateLabels(atZero, { app: 'web' }), 2))));
    });

    it('allows a scale up through /scale (a Scale carries no labels)', async () => {
      const judge = await levee(frontAlone());
      noRelabelRefusal(await judge(scaleReview('Deployment', 'web', 2, 3)));
      noRelabelRefusal(await judge(scaleReview('StatefulSet', 'store', 1, 2)));
    });

    it('answers a dry run as the real request (refused), and a refused dry run leaves the next request judged the same', async () => {
      const judge = await levee(frontAlone());
      const after = withTemplateLabels(before, { app: 'web' });
      relabelRefused(await judge(dryRun(objectReview('UPDATE', before, after))), 'Deployment/web', 'front');
      relabelRefused(await judge(objectReview('UPDATE', before, after)), 'Deployment/web', 'front');
    });
  });

  describe('StatefulSets and DaemonSets', () => {
    it('refuses a StatefulSet whose template drops the label its only Service selects, and allows one that keeps it', async () => {
      const labels = { app: 'store', tier: 'data' };
      const judge = await levee(new Caches().add(service('data', { tier: 'data' })).workloadBehind('StatefulSet', 'store', 'data', 3, labels));
      const sts = workload('StatefulSet', 'store', 3, { labels });
      relabelRefused(await judge(objectReview('UPDATE', sts, withTemplateLabels(sts, { app: 'store', tier: 'cache' }))), 'StatefulSet/store', 'data');
      noRelabelRefusal(await judge(objectReview('UPDATE', sts, withTemplateLabels(sts, { app: 'store', tier: 'data', zone: 'a' }))));
    });

    const agentLabels = { app: 'agent', tier: 'node' };
    function daemonSet(status?: Record<string, unknown>): KubeObject {
      const ds = workload('DaemonSet', 'agent', undefined, { labels: agentLabels });
      return (status ? { ...ds, status } : ds) as KubeObject;
    }
    function agentBehind(ds: KubeObject, ready = true): Caches {
      return new Caches().add(service('agent', { tier: 'node' }), ds, pod('agent-x', agentLabels, ref('DaemonSet', 'agent')), pod('agent-y', agentLabels, ref('DaemonSet', 'agent'))).endpoints('agent', ['agent-x', 'agent-y'], ready);
    }

    it('refuses a DaemonSet relabel whether its status is missing, written, or says 0 pods scheduled', async () => {
      for (const status of [undefined, { desiredNumberScheduled: 2, numberReady: 2 }, { desiredNumberScheduled: 0 }]) {
        const ds = daemonSet(status);
        const judge = await levee(agentBehind(ds));
        relabelRefused(await judge(objectReview('UPDATE', ds, withTemplateLabels(ds, { app: 'agent' }))), 'DaemonSet/agent', 'agent');
      }
    });

    it('warns when a DaemonSet whose status was never written is deleted as the last backend', async () => {
      const ds = daemonSet();
      const judge = await levee(agentBehind(ds));
      warnedFor(await judge(objectReview('DELETE', ds, null)), /deleting DaemonSet\/agent leaves Service agent/);
    });

    it('allows a DaemonSet relabel and delete when its pods were never ready', async () => {
      const ds = daemonSet({ desiredNumberScheduled: 2 });
      const judge = await levee(agentBehind(ds, false));
      noRelabelRefusal(await judge(objectReview('UPDATE', ds, withTemplateLabels(ds, { app: 'agent' }))));
      notWarnedFor(await judge(objectReview('DELETE', ds, null)), LAST_BACKEND_DELETED);
    });

    it('refuses a DaemonSet or bare Pod relabel sent by a kube-system service account that is no controller (the machinery exemption is for deletes)', async () => {
      const ds = daemonSet();
      const judge = await levee(agentBehind(ds));
      const addonInstaller = 'system:serviceaccount:kube-system:addon-installer';
      relabelRefused(await judge(objectReview('UPDATE', ds, withTemplateLabels(ds, { app: 'agent' }), addonInstaller)), 'DaemonSet/agent', 'agent');
      // The same identity relabelling a Deployment is refused today: the two must agree.
      const before = deployment('web', 2, { app: 'web', tier: 'front' }, { app: 'web' });
      const web = await levee(frontAlone());
      relabelRefused(await web(objectReview('UPDATE', before, withTemplateLabels(before, { app: 'web' }), addonInstaller)), 'Deployment/web', 'front');
      // And a bare Pod relabelled by it (the webhook sends pod updates from every identity).
      const bare = await levee(new Caches().add(service('solo', { app: 'solo' }), pod('solo', { app: 'solo' })).endpoints('solo', ['solo']));
      relabelRefused(await bare(objectReview('UPDATE', pod('solo', { app: 'solo' }), pod('solo', { app: 'quarantined' }), addonInstaller)), 'Pod/solo', 'solo');
    });
  });

  describe('bare Pods and the owners they claim', () => {
    const solo = { app: 'solo' };

    it('refuses a bare Pod whose labels are removed altogether', async () => {
      const bare = pod('solo', solo);
      const judge = await levee(new Caches().add(service('solo', solo), bare).endpoints('solo', ['solo']));
      const unlabelled = { ...bare, metadata: { ...bare.metadata, labels: undefined } } as KubeObject;
      relabelRefused(await judge(objectReview('UPDATE', bare, unlabelled)), 'Pod/solo', 'solo');
    });

    it('allows a bare Pod relabel while another bare pod keeps backing the Service, and when the pod was never ready', async () => {
      const both = await levee(new Caches().add(service('solo', solo), pod('solo', solo), pod('solo-2', solo)).endpoints('solo', ['solo', 'solo-2']));
      noRelabelRefusal(await both(objectReview('UPDATE', pod('solo', solo), pod('solo', { app: 'quarantined' }))));
      const unready = await levee(new Caches().add(service('solo', solo), pod('solo', solo)).endpoints('solo', ['solo'], false));
      noRelabelRefusal(await unready(objectReview('UPDATE', pod('solo', solo), pod('solo', { app: 'quarantined' }))));
    });

    it('refuses relabelling, and warns deleting, a pod whose controller reference names a cached ReplicaSet with another uid (its endpoints are its own)', async () => {
      const forgedOwner = ref('ReplicaSet', 'web-1', 'uid-forged');
      const forged = pod('solo', solo, forgedOwner);
      const caches = new Caches().add(service('web', { app: 'web' }), service('solo', solo), forged).deploymentBehind('web', 'web').endpoints('solo', ['solo']);
      const judge = await levee(caches);
      relabelRefused(await judge(objectReview('UPDATE', forged, pod('solo', { app: 'quarantined' }, forgedOwner))), 'Pod/solo', 'solo');
      warnedFor(await judge(objectReview('DELETE', forged, null)), /deleting Pod\/solo leaves Service solo/);
    });

    it('refuses relabelling, and warns deleting, a pod whose controller reference names a StatefulSet or DaemonSet levee does not cache, or a ConfigMap', async () => {
      for (const forgedOwner of [ref('StatefulSet', 'ghost'), ref('DaemonSet', 'ghost'), ref('ConfigMap', 'settings', 'uid-settings', 'v1')]) {
        const forged = pod('solo', solo, forgedOwner);
        const judge = await levee(new Caches().add(service('solo', solo), forged).endpoints('solo', ['solo']));
        relabelRefused(await judge(objectReview('UPDATE', forged, pod('solo', { app: 'quarantined' }, forgedOwner))), 'Pod/solo', 'solo');
        warnedFor(await judge(objectReview('DELETE', forged, null)), /deleting Pod\/solo leaves Service solo/);
      }
    });

    it('allows relabelling a StatefulSet pod and a DaemonSet pod whose controllers levee caches with that uid', async () => {
      const labels = { app: 'store' };
      const sts = await levee(new Caches().add(service('store', labels)).workloadBehind('StatefulSet', 'store', 'store', 1, labels));
      const stsPod = pod('store-0', labels, ref('StatefulSet', 'store'));
      noRelabelRefusal(await sts(objectReview('UPDATE', stsPod, pod('store-0', { app: 'quarantined' }, ref('StatefulSet', 'store')))));
      const agent = { app: 'agent' };
      const ds = workload('DaemonSet', 'agent', undefined, { labels: agent });
      const dsJudge = await levee(new Caches().add(service('agent', agent), ds, pod('agent-x', agent, ref('DaemonSet', 'agent'))).endpoints('agent', ['agent-x']));
      noRelabelRefusal(await dsJudge(objectReview('UPDATE', pod('agent-x', agent, ref('DaemonSet', 'agent')), pod('agent-x', { app: 'quarantined' }, ref('DaemonSet', 'agent')))));
    });
  });

  describe('which Services count', () => {
    it('refuses when one of two labels a Service selects changes, naming only the Service that loses its pods', async () => {
      const labels = { app: 'web', tier: 'front' };
      const caches = new Caches().add(service('front', labels), service('all', { app: 'web' })).deploymentBehind('web', 'front', 2, labels).endpoints('all', ['web-1-0', 'web-1-1']);
      const judge = await levee(caches);
      const before = deployment('web', 2, labels, { app: 'web' });
      const answer = await judge(objectReview('UPDATE', before, withTemplateLabels(before, { app: 'web', tier: 'back' })));
      relabelRefused(answer, 'Deployment/web', 'front');
      assert.doesNotMatch(answer.status?.message ?? '', /Service all|, all/);
    });

    it('does not count an ExternalName Service whose (ignored) selector matched the old labels, nor a Service without a selector', async () => {
      const labels = { app: 'web' };
      const external = service('alias', labels, 'ExternalName');
      // A selectorless Service whose endpoints someone wrote by hand, naming the pods: a relabel does not take them away.
      const manual = service('manual', undefined);
      const caches = new Caches().add(external, manual).deploymentBehind('web', 'manual', 2, labels);
      const judge = await levee(caches);
      const before = deployment('web', 2, labels);
      noRelabelRefusal(await judge(objectReview('UPDATE', before, { ...withTemplateLabels(before, { app: 'web-v2' }), spec: { ...(withTemplateLabels(before, { app: 'web-v2' }).spec as object), selector: { matchLabels: { app: 'web-v2' } } } } as KubeObject)));
    });
  });

  describe('overrides', () => {
    const admin: UserInfo = { username: 'alice', uid: 'alice-full', groups: ['system:masters', 'system:authenticated'] };
    const developer: UserInfo = { username: 'dev', uid: 'dev-1', groups: ['system:authenticated'] };
    const rbac: OverrideAuthorizer = {
      async mayOverride(user: UserInfo, _policy: PolicyId): Promise<Authorization> {
        return user.groups.includes('system:masters') ? { allowed: true } : { allowed: false, reason: 'no RBAC rule' };
      },
    };
    function overrideBy(author: UserInfo): Labels {
      const annotations = {
        'levee.dev/override': 'scale-to-zero',
        'levee.dev/override-reason': 'INC-2: moving the Service to the new tier label',
        'levee.dev/override-expires': new Date(Date.now() + 2 * 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      };
      return { ...annotations, [AUTHORIZED_BY]: recordValue(author, annotations) };
    }

    it("allows a relabel under an authorized admin's override, and refuses it under a developer's", async () => {
      const granted = overrideBy(admin);
      const before = deployment('web', 2, { app: 'web', tier: 'front' }, { app: 'web' }, granted);
      const judge = await levee(frontAlone(granted), 'Healthy', rbac);
      allowed(await judge(as(objectReview('UPDATE', before, withTemplateLabels(before, { app: 'web' })), admin)));

      const own = overrideBy(developer);
      const devBefore = deployment('web', 2, { app: 'web', tier: 'front' }, { app: 'web' }, own);
      const devJudge = await levee(frontAlone(own), 'Healthy', rbac);
      refusedFor(await devJudge(as(objectReview('UPDATE', devBefore, withTemplateLabels(devBefore, { app: 'web' })), developer)), /override ignored/);
    });

    it("allows a bare Pod relabel under an authorized admin's override", async () => {
      const annotations = overrideBy(admin);
      const bare = { ...pod('solo', { app: 'solo' }), metadata: { ...pod('solo', { app: 'solo' }).metadata, annotations } } as KubeObject;
      const judge = await levee(new Caches().add(service('solo', { app: 'solo' }), bare).endpoints('solo', ['solo']), 'Healthy', rbac);
      const after = { ...bare, metadata: { ...bare.metadata, labels: { app: 'quarantined' } } } as KubeObject;
      allowed(await judge(as(objectReview('UPDATE', bare, after), admin)));
    });
  });

  describe('two relabels at the same moment (README: not judged today)', () => {
    it('allows relabelling both backends of a Service in parallel: neither counts the other', async () => {
      const caches = new Caches().add(service('front', { tier: 'front' })).deploymentBehind('web', 'front', 2, { app: 'web', tier: 'front' }).deploymentBehind('api', 'front', 2, { app: 'api', tier: 'front' });
      caches.endpoints('front', ['web-1-0', 'web-1-1', 'api-1-0', 'api-1-1']);
      const judge = await levee(caches);
      const web = deployment('web', 2, { app: 'web', tier: 'front' }, { app: 'web' });
      const api = deployment('api', 2, { app: 'api', tier: 'front' }, { app: 'api' });
      const answers = await Promise.all([judge(objectReview('UPDATE', web, withTemplateLabels(web, { app: 'web' }))), judge(objectReview('UPDATE', api, withTemplateLabels(api, { app: 'api' })))]);
      for (const answer of answers) noRelabelRefusal(answer);
    });
  });

  describe('kube-system through /validate/warn-only', () => {
    let certs: TestCerts;
    let server: TestServer | undefined;
    before(async () => {
      certs = await makeTestCerts();
    });
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    const SYSTEM = 'kube-system';
    const inKubeSystem = <T extends KubeObject>(object: T): T => ({ ...object, metadata: { ...object.metadata, namespace: SYSTEM } });

    async function warnOnly(body: unknown): Promise<AdmissionResponse> {
      const answer = await call(server!.port, certs.ca, { path: '/validate/warn-only', body: JSON.stringify(body) });
      assert.equal(answer.status, 200, answer.text);
      return (answer.json() as AdmissionReview).response!;
    }

    it('warns, without refusing, when a kube-system DaemonSet relabel leaves its only Service', async () => {
      const labels = { 'k8s-app': 'dns-agent' };
      const ds = inKubeSystem(workload('DaemonSet', 'dns-agent', undefined, { labels }));
      const caches = new Caches().add(inKubeSystem(service('dns-agent', labels)), ds, inKubeSystem(pod('dns-agent-x', labels, ref('DaemonSet', 'dns-agent'))));
      caches.cluster.endpointSlices.upsert(objectKey(SYSTEM, 'dns-agent-x'), toEndpointSliceView({
        kind: 'EndpointSlice',
        metadata: { name: 'dns-agent-x', namespace: SYSTEM, labels: { 'kubernetes.io/service-name': 'dns-agent' } },
        endpoints: [{ addresses: ['10.2.0.9'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'dns-agent-x', namespace: SYSTEM } }],
      } as KubeObject));
      server = await startTestServer({ cluster: caches.synced(), certs });
      const after = { ...ds, spec: { selector: { matchLabels: { 'k8s-app': 'dns-agent-v2' } }, template: podTemplate({ 'k8s-app': 'dns-agent-v2' }) } } as KubeObject;
      const response = await warnOnly(objectReview('UPDATE', ds, after));
      assert.equal(response.allowed, true, JSON.stringify(response));
      assert.ok((response.warnings ?? []).some((w) => /^levee \(warn-only\) \[scale-to-zero\] the new pod labels of DaemonSet\/dns-agent leave Service dns-agent in namespace kube-system/.test(w)), JSON.stringify(response.warnings));
    });
  });
});
