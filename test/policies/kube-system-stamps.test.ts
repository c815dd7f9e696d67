import assert from 'node:assert/strict';
import type { AdmissionRequest, KubeObject, UserInfo } from '../../src/kube/types.js';
import { failClosedValidatingEntries, matcherReview as review, matchWebhooks, reachesFailClosedValidate, shippedWebhookConfigurations, type WebhookMatchCall } from '../support/webhook-match.js';

/**
 * The stamp backstop in and around kube-system, by kube-apiserver's own matcher
 * (tools/webhook-match): validate-kube-system-annotations.levee.dev, and the annotation test that
 * validate.levee.dev's conditions carry outside kube-system. Writes the other matcher tests do not
 * make: the ones kube-controller-manager makes from a workload carrying an override, server-side
 * apply next to an update, annotations emptied, nulled or dropped, the `scale` of kinds whose
 * replicas no policy judges, status-only writes, deletes, namespaces named like kube-system, and a
 * cluster-scoped object that names a namespace.
 */

const RECORD = 'levee.dev/override-authorized-by';
const OVERRIDE = { 'levee.dev/override': 'scale-to-zero', 'levee.dev/override-reason': 'INC-7', 'levee.dev/override-expires': '2099-01-01T00:00:00Z' };
const FORGED = { ...OVERRIDE, [RECORD]: '{"user":"alice","groups":["system:masters"]}' };

const controller = (name: string): UserInfo => ({ username: `system:serviceaccount:kube-system:${name}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] });
const kcm: UserInfo = { username: 'system:kube-controller-manager', groups: ['system:authenticated'] };

type Kind = readonly [group: string, version: string, kind: string, resource: string];
const DEPLOYMENT: Kind = ['apps', 'v1', 'Deployment', 'deployments'];
const REPLICASET: Kind = ['apps', 'v1', 'ReplicaSet', 'replicasets'];
const STATEFULSET: Kind = ['apps', 'v1', 'StatefulSet', 'statefulsets'];
const DAEMONSET: Kind = ['apps', 'v1', 'DaemonSet', 'daemonsets'];
const RC: Kind = ['', 'v1', 'ReplicationController', 'replicationcontrollers'];
const JOB: Kind = ['batch', 'v1', 'Job', 'jobs'];
const CRONJOB: Kind = ['batch', 'v1', 'CronJob', 'cronjobs'];
const POD: Kind = ['', 'v1', 'Pod', 'pods'];
const HPA: Kind = ['autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers'];
const SCALEDOBJECT: Kind = ['keda.sh', 'v1alpha1', 'ScaledObject', 'scaledobjects'];
const MACHINEDEPLOYMENT: Kind = ['cluster.x-k8s.io', 'v1beta2', 'MachineDeployment', 'machinedeployments'];
const MACHINEPOOL: Kind = ['cluster.x-k8s.io', 'v1beta2', 'MachinePool', 'machinepools'];
const MACHINESET: Kind = ['cluster.x-k8s.io', 'v1beta2', 'MachineSet', 'machinesets'];
const KCP: Kind = ['controlplane.cluster.x-k8s.io', 'v1beta2', 'KubeadmControlPlane', 'kubeadmcontrolplanes'];
const TALOS: Kind = ['controlplane.cluster.x-k8s.io', 'v1alpha3', 'TalosControlPlane', 'taloscontrolplanes'];
const AWSMP: Kind = ['infrastructure.cluster.x-k8s.io', 'v1beta2', 'AWSMachinePool', 'awsmachinepools'];
const NODEPOOL: Kind = ['karpenter.sh', 'v1', 'NodePool', 'nodepools'];

/** The namespaced kinds levee judges, one or more per rule group of validate-kube-system-annotations. */
const NAMESPACED: readonly Kind[] = [DEPLOYMENT, REPLICASET, STATEFULSET, DAEMONSET, RC, JOB, CRONJOB, HPA, SCALEDOBJECT, ['http.keda.sh', 'v1alpha1', 'HTTPScaledObject', 'httpscaledobjects'], ['cluster.x-k8s.io', 'v1beta2', 'Cluster', 'clusters'], MACHINEDEPLOYMENT, MACHINEPOOL, MACHINESET, ['cluster.x-k8s.io', 'v1beta2', 'Machine', 'machines'], KCP, TALOS, AWSMP, ['infrastructure.cluster.x-k8s.io', 'v1beta1', 'AzureManagedControlPlane', 'azuremanagedcontrolplanes']];

interface Write {
  name: string;
  request: AdmissionRequest;
}

/** An object of `kind`; `metadata` merged over its name and namespace (undefined values dropped: an absent field). */
function objectOf([group, version, kind]: Kind, namespace: string, metadata: Record<string, unknown> = {}, rest: Record<string, unknown> = { spec: { replicas: 2 } }): KubeObject {
  const merged = Object.fromEntries(Object.entries({ name: 'x', ...(namespace ? { namespace } : {}), ...metadata }).filter(([, value]) => value !== undefined));
  return { apiVersion: group ? `${group}/${version}` : version, kind, metadata: merged, ...rest } as KubeObject;
}

const scaleOf = (namespace: string, replicas: number): KubeObject =>
  ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'x', namespace, uid: 'u', resourceVersion: '7' }, spec: replicas === 0 ? {} : { replicas }, status: { replicas: 2 } }) as KubeObject;

const failClosed = failClosedValidatingEntries(shippedWebhookConfigurations());

/** The entries the API server calls for a write: rules and selectors take it, and every condition holds. */
const called = (calls: WebhookMatchCall[]): string[] => calls.filter((call) => call.rules && call.selected && call.conditions === 'match').map((call) => call.webhook);
/** The validating entries called, the mutating ones left out. */
const validated = (calls: WebhookMatchCall[]): string[] => calls.filter((call) => call.type === 'validating' && call.rules && call.selected && call.conditions === 'match').map((call) => call.webhook);
const reachesGuard = (calls: WebhookMatchCall[]): boolean => reachesFailClosedValidate(calls, failClosed);
const errorsOf = (calls: WebhookMatchCall[][]): string[] => [...new Set(calls.flat().filter((call) => call.conditions === 'error').map((call) => `${call.webhook}: ${call.failedCondition ?? ''} ${call.error ?? ''}`))];

function run(writes: Write[]): Record<string, WebhookMatchCall[]> {
  const calls = matchWebhooks(shippedWebhookConfigurations(), writes.map((write) => write.request));
  assert.deepEqual(errorsOf(calls), [], 'no condition errors');
  return Object.fromEntries(writes.map((write, i) => [write.name, calls[i]!]));
}
const tableOf = (results: Record<string, WebhookMatchCall[]>, of: (calls: WebhookMatchCall[]) => unknown): Record<string, unknown> =>
  Object.fromEntries(Object.entries(results).map(([name, calls]) => [name, of(calls)]));

describe('the stamp backstop in and around kube-system (tools/webhook-match)', function () {
  this.timeout(10 * 60_000);

  describe("kube-controller-manager's writes from a workload that carries an override", () => {
    // The Deployment controller copies a Deployment's annotations onto the ReplicaSets it creates
    // (all but kubectl's last-applied configuration and its own revision keys); the CronJob
    // controller gives a Job the annotations of spec.jobTemplate.metadata, never the CronJob's own;
    // a ReplicaSet's or a Job's pods get spec.template.metadata's.
    const copied = { ...OVERRIDE, 'deployment.kubernetes.io/revision': '1', 'deployment.kubernetes.io/desired-replicas': '2', 'deployment.kubernetes.io/max-replicas': '3' };
    const owned = (kind: string) => [{ apiVersion: kind === 'CronJob' ? 'batch/v1' : 'apps/v1', kind, name: 'x', uid: 'owner', controller: true, blockOwnerDeletion: true }];
    const rs = (namespace: string, annotations: Record<string, string> | undefined, replicas = 2) => objectOf(REPLICASET, namespace, { annotations, ownerReferences: owned('Deployment') }, { spec: { replicas } });
    const job = (namespace: string, annotations: Record<string, string> | undefined) => objectOf(JOB, namespace, { annotations, ownerReferences: owned('CronJob') }, { spec: { template: {} } });
    const pod = (namespace: string, annotations: Record<string, string> | undefined) => objectOf(POD, namespace, { annotations, ownerReferences: owned('ReplicaSet') }, { spec: { containers: [] } });

    const writes = (namespace: string, who: UserInfo): Write[] => [
      { name: 'ReplicaSet created carrying the override', request: review('CREATE', REPLICASET, namespace, rs(namespace, copied), null, { userInfo: who }) },
      { name: 'ReplicaSet created carrying a copied record', request: review('CREATE', REPLICASET, namespace, rs(namespace, { ...copied, [RECORD]: FORGED[RECORD] }), null, { userInfo: who }) },
      { name: 'ReplicaSet created from a Deployment without levee keys', request: review('CREATE', REPLICASET, namespace, rs(namespace, { 'deployment.kubernetes.io/revision': '1' }), null, { userInfo: who }) },
      { name: 'ReplicaSet scaled by the rollout, override kept', request: review('UPDATE', REPLICASET, namespace, rs(namespace, copied, 3), rs(namespace, copied, 2), { userInfo: who }) },
      { name: 'ReplicaSet annotations synced after the override left the Deployment', request: review('UPDATE', REPLICASET, namespace, rs(namespace, { 'deployment.kubernetes.io/revision': '2' }), rs(namespace, copied), { userInfo: who }) },
      { name: 'ReplicaSet status update, override kept', request: review('UPDATE', REPLICASET, namespace, { ...rs(namespace, copied), status: { replicas: 2 } }, { ...rs(namespace, copied), status: { replicas: 1 } }, { subResource: 'status', userInfo: who }) },
      { name: 'Job created from a CronJob whose own metadata carries the override', request: review('CREATE', JOB, namespace, job(namespace, { 'batch.kubernetes.io/cronjob-scheduled-timestamp': '2026-12-01T00:00:00Z' }), null, { userInfo: who }) },
      { name: 'Job created from a jobTemplate carrying the override', request: review('CREATE', JOB, namespace, job(namespace, OVERRIDE), null, { userInfo: who }) },
      { name: 'Pod created from a template without levee keys', request: review('CREATE', POD, namespace, pod(namespace, undefined), null, { userInfo: who }) },
      { name: 'Pod created from a template carrying a record', request: review('CREATE', POD, namespace, pod(namespace, { [RECORD]: FORGED[RECORD] }), null, { userInfo: who }) },
    ];

    it('in kube-system: each write that carries or drops a levee.dev/ key is called on a stamp entry that fails closed, and only there; the rest reach no entry of levee at all', () => {
      for (const who of [kcm, controller('deployment-controller')]) {
        const results = run(writes('kube-system', who));
        assert.deepEqual(tableOf(results, called), {
          'ReplicaSet created carrying the override': ['validate-kube-system-annotations.levee.dev'],
          'ReplicaSet created carrying a copied record': ['validate-kube-system-annotations.levee.dev'],
          'ReplicaSet created from a Deployment without levee keys': [],
          'ReplicaSet scaled by the rollout, override kept': [],
          'ReplicaSet annotations synced after the override left the Deployment': ['validate-kube-system-annotations.levee.dev'],
          'ReplicaSet status update, override kept': [],
          'Job created from a CronJob whose own metadata carries the override': [],
          'Job created from a jobTemplate carrying the override': ['validate-kube-system-annotations.levee.dev'],
          'Pod created from a template without levee keys': [],
          'Pod created from a template carrying a record': ['validate-levee-annotations.levee.dev'],
        }, who.username);
        // Each one called fails closed: the controller's identity buys nothing.
        for (const [name, calls] of Object.entries(results)) assert.equal(reachesGuard(calls), called(calls).length > 0, name);
      }
    });

    it('outside kube-system the same writes of the judged kinds are judged by validate.levee.dev (a ReplicaSet create always, a rollout step never), /mutate seeing every levee.dev/ key', () => {
      const results = run(writes('shop', kcm));
      assert.deepEqual(tableOf(results, called), {
        'ReplicaSet created carrying the override': ['validate.levee.dev', 'mutate.levee.dev'],
        'ReplicaSet created carrying a copied record': ['validate.levee.dev', 'mutate.levee.dev'],
        'ReplicaSet created from a Deployment without levee keys': ['validate.levee.dev'],
        'ReplicaSet scaled by the rollout, override kept': ['mutate.levee.dev'],
        'ReplicaSet annotations synced after the override left the Deployment': ['validate.levee.dev', 'mutate.levee.dev'],
        'ReplicaSet status update, override kept': [],
        'Job created from a CronJob whose own metadata carries the override': ['validate.levee.dev'],
        'Job created from a jobTemplate carrying the override': ['validate.levee.dev', 'mutate.levee.dev'],
        // validate-pods.levee.dev takes every pod create (probe-gate); it is Ignore, and the record on a pod is the stamp entry's.
        'Pod created from a template without levee keys': ['validate-pods.levee.dev'],
        'Pod created from a template carrying a record': ['validate-pods.levee.dev', 'validate-levee-annotations.levee.dev', 'mutate-pods.levee.dev'],
      });
    });
  });

  it('server-side apply and update: the same review but for managedFields; a condition reads the annotations, so both are taken alike, and moving ownership of a levee.dev/ key alone is taken nowhere', () => {
    const managed = (operation: 'Apply' | 'Update', manager: string, keys: string[]) => [{ manager, operation, apiVersion: 'apps/v1', time: '2026-12-01T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:annotations': Object.fromEntries(keys.map((key) => [`f:${key}`, {}])) } } }];
    const deployment = (namespace: string, annotations: Record<string, string>, managedFields: unknown[]) => objectOf(DEPLOYMENT, namespace, { annotations, managedFields }, { spec: { replicas: 2, template: { spec: {} } } });
    const writes: Write[] = ['kube-system', 'shop'].flatMap((namespace) => [
      { name: `${namespace}: apply adds the override`, request: review('UPDATE', DEPLOYMENT, namespace, deployment(namespace, OVERRIDE, managed('Apply', 'kubectl', Object.keys(OVERRIDE))), deployment(namespace, {}, managed('Update', 'kubectl-create', []))) },
      { name: `${namespace}: update adds the override`, request: review('UPDATE', DEPLOYMENT, namespace, deployment(namespace, OVERRIDE, managed('Update', 'kubectl-annotate', Object.keys(OVERRIDE))), deployment(namespace, {}, managed('Update', 'kubectl-create', []))) },
      { name: `${namespace}: apply takes ownership of the override, values as they were`, request: review('UPDATE', DEPLOYMENT, namespace, deployment(namespace, OVERRIDE, managed('Apply', 'gitops', Object.keys(OVERRIDE))), deployment(namespace, OVERRIDE, managed('Update', 'kubectl-annotate', Object.keys(OVERRIDE)))) },
      { name: `${namespace}: apply drops the override it owned`, request: review('UPDATE', DEPLOYMENT, namespace, deployment(namespace, {}, managed('Apply', 'gitops', [])), deployment(namespace, OVERRIDE, managed('Apply', 'gitops', Object.keys(OVERRIDE)))) },
    ]);
    const results = run(writes);
    assert.deepEqual(tableOf(results, validated), {
      'kube-system: apply adds the override': ['validate-kube-system-annotations.levee.dev'],
      'kube-system: update adds the override': ['validate-kube-system-annotations.levee.dev'],
      'kube-system: apply takes ownership of the override, values as they were': [],
      'kube-system: apply drops the override it owned': ['validate-kube-system-annotations.levee.dev'],
      'shop: apply adds the override': ['validate.levee.dev'],
      'shop: update adds the override': ['validate.levee.dev'],
      'shop: apply takes ownership of the override, values as they were': [],
      'shop: apply drops the override it owned': ['validate.levee.dev'],
    });
  });

  it('an update that empties, nulls or drops the annotations, taking the only levee.dev/ key away, reaches a stamp entry that fails closed, in kube-system and elsewhere, through the object and its status; one that takes none away reaches none', () => {
    const shapes: Array<[string, Record<string, unknown>]> = [['{}', { annotations: {} }], ['absent', {}], ['no metadata but the name', { namespace: undefined }]];
    const writes: Write[] = [];
    for (const namespace of ['kube-system', 'shop']) {
      for (const kind of [DEPLOYMENT, CRONJOB, KCP, MACHINEDEPLOYMENT, HPA]) {
        for (const subResource of [undefined, 'status']) {
          for (const [shape, metadata] of shapes) {
            const where = `${namespace} ${kind[3]}${subResource ? '/status' : ''} annotations ${shape}`;
            writes.push({ name: `${where}, old had only the record`, request: review('UPDATE', kind, namespace, objectOf(kind, namespace, metadata), objectOf(kind, namespace, { annotations: { [RECORD]: FORGED[RECORD] } }), { subResource }) });
            writes.push({ name: `${where}, old had none`, request: review('UPDATE', kind, namespace, objectOf(kind, namespace, metadata, { spec: { replicas: 2 }, status: { observedGeneration: 2 } }), objectOf(kind, namespace, { annotations: { 'team.example/owner': 'shop' } }), { subResource }) });
          }
        }
      }
    }
    const results = run(writes);
    const taken = Object.entries(results).filter(([name]) => name.endsWith('old had only the record'));
    assert.equal(taken.length, 60);
    assert.deepEqual(taken.filter(([, calls]) => !reachesGuard(calls)).map(([name]) => name), []);
    // In kube-system on its own entry (validate-kube-system's refusal is only a warning), elsewhere on validate.levee.dev.
    assert.deepEqual([...new Set(taken.map(([name, calls]) => `${name.split(' ')[0]}: ${validated(calls).join()}`))].sort(), ['kube-system: validate-kube-system-annotations.levee.dev', 'shop: validate.levee.dev']);
    const untouched = Object.entries(results).filter(([name]) => name.endsWith('old had none') && name.includes('/status'));
    assert.deepEqual(untouched.filter(([, calls]) => called(calls).length > 0).map(([name, calls]) => `${name}: ${called(calls).join()}`), []);
  });

  it('metadata.annotations null (which the API server never hands admission: a built-in kind is converted from its typed object, which drops a nil map, and a custom resource\'s metadata is coerced to ObjectMeta on decode) errors the annotation test, and every entry that errors fails closed: the write is refused, never let through unseen', () => {
    const policies = new Map(shippedWebhookConfigurations<{ webhooks: Array<{ name: string; failurePolicy: string }> }>().flatMap((configuration) => configuration.webhooks.map((webhook) => [webhook.name, webhook.failurePolicy] as const)));
    const writes: Write[] = [];
    for (const namespace of ['kube-system', 'shop']) {
      for (const kind of [DEPLOYMENT, KCP]) {
        writes.push({ name: `${namespace} ${kind[3]}: null after the record`, request: review('UPDATE', kind, namespace, objectOf(kind, namespace, { annotations: null }), objectOf(kind, namespace, { annotations: { [RECORD]: '{}' } })) });
        writes.push({ name: `${namespace} ${kind[3]}: record after null`, request: review('UPDATE', kind, namespace, objectOf(kind, namespace, { annotations: { [RECORD]: '{}' } }), objectOf(kind, namespace, { annotations: null })) });
        writes.push({ name: `${namespace} ${kind[3]}/status: record after null`, request: review('UPDATE', kind, namespace, objectOf(kind, namespace, { annotations: { [RECORD]: '{}' } }), objectOf(kind, namespace, { annotations: null }), { subResource: 'status' }) });
      }
    }
    const calls = matchWebhooks(shippedWebhookConfigurations(), writes.map((write) => write.request));
    const outcome = (each: WebhookMatchCall[]): string => {
      const erring = each.filter((call) => call.rules && call.selected && call.conditions === 'error');
      const failOpen = erring.filter((call) => policies.get(call.webhook) !== 'Fail').map((call) => call.webhook);
      if (failOpen.length > 0) return `skipped on error: ${failOpen.join()}`;
      if (erring.some((call) => call.type === 'validating' && failClosed.has(call.webhook))) return 'refused';
      return reachesGuard(each) ? 'called' : 'not called';
    };
    const outcomes = Object.fromEntries(writes.map((write, i) => [write.name, outcome(calls[i]!)]));
    // A control plane outside kube-system is judged on every update (validate.levee.dev's first
    // condition holds before it reads the annotations); every other write errors and is refused.
    assert.deepEqual(outcomes, Object.fromEntries(writes.map((write) => [write.name, write.name.startsWith('shop kubeadmcontrolplanes:') ? 'called' : 'refused'])));
  });

  it('the scale of a kind whose replicas no policy judges (a control plane, a MachineSet) is taken by validate.levee.dev for its annotations only: never called, even to 0; a workload\'s or worker pool\'s scale still is', () => {
    const writes: Write[] = [];
    for (const namespace of ['shop', 'kube-system']) {
      for (const kind of [KCP, TALOS, MACHINESET, MACHINEDEPLOYMENT, MACHINEPOOL, DEPLOYMENT]) {
        for (const [to, from] of [[0, 3], [5, 3]] as const) {
          writes.push({ name: `${namespace} ${kind[3]}/scale ${from}->${to}`, request: review('UPDATE', kind, namespace, scaleOf(namespace, to), scaleOf(namespace, from), { subResource: 'scale' }) });
        }
      }
    }
    const results = run(writes);
    assert.deepEqual(tableOf(results, called), {
      'shop kubeadmcontrolplanes/scale 3->0': [],
      'shop kubeadmcontrolplanes/scale 3->5': [],
      'shop taloscontrolplanes/scale 3->0': [],
      'shop taloscontrolplanes/scale 3->5': [],
      'shop machinesets/scale 3->0': [],
      'shop machinesets/scale 3->5': [],
      'shop machinedeployments/scale 3->0': ['validate.levee.dev'],
      'shop machinedeployments/scale 3->5': ['validate.levee.dev'],
      'shop machinepools/scale 3->0': ['validate.levee.dev'],
      'shop machinepools/scale 3->5': ['validate.levee.dev'],
      'shop deployments/scale 3->0': ['validate.levee.dev'],
      'shop deployments/scale 3->5': [],
      // kube-system: nothing but validate-kube-system's own drop to 0 of a Deployment.
      'kube-system kubeadmcontrolplanes/scale 3->0': [],
      'kube-system kubeadmcontrolplanes/scale 3->5': [],
      'kube-system taloscontrolplanes/scale 3->0': [],
      'kube-system taloscontrolplanes/scale 3->5': [],
      'kube-system machinesets/scale 3->0': [],
      'kube-system machinesets/scale 3->5': [],
      'kube-system machinedeployments/scale 3->0': [],
      'kube-system machinedeployments/scale 3->5': [],
      'kube-system machinepools/scale 3->0': [],
      'kube-system machinepools/scale 3->5': [],
      'kube-system deployments/scale 3->0': ['validate-kube-system.levee.dev'],
      'kube-system deployments/scale 3->5': [],
    });
    // The control plane's and the MachineSet's scale is evaluated, and left out by the first condition: not for judging.
    for (const name of ['shop kubeadmcontrolplanes/scale 3->0', 'shop taloscontrolplanes/scale 3->0', 'shop machinesets/scale 3->0']) {
      const entry = results[name]!.find((call) => call.webhook === 'validate.levee.dev')!;
      assert.deepEqual([entry.rules, entry.selected, entry.failedCondition], [true, true, 'judged-request-or-levee-annotation-change'], name);
    }
  });

  it('a status write that changes only status reaches no entry of levee, in any namespace, for every namespaced kind levee judges', () => {
    const writes: Write[] = NAMESPACED.flatMap((kind) =>
      ['shop', 'kube-system', 'kube-public'].map((namespace) => {
        const object = (generation: number, ready: number) =>
          objectOf(kind, namespace, { generation, annotations: { ...FORGED, 'deployment.kubernetes.io/revision': '4' }, labels: { app: 'x' } }, { spec: { replicas: 3, template: { spec: {} } }, status: { observedGeneration: generation, readyReplicas: ready } });
        return { name: `${namespace} ${kind[3]}/status`, request: review('UPDATE', kind, namespace, object(4, 3), object(3, 1), { subResource: 'status', userInfo: kcm }) };
      }));
    const results = run(writes);
    assert.deepEqual(Object.entries(results).filter(([, calls]) => called(calls).length > 0).map(([name, calls]) => `${name}: ${called(calls).join()}`), []);
    // ... and each is evaluated by exactly one stamp entry: validate.levee.dev outside kube-system, its own entry inside.
    assert.deepEqual([...new Set(Object.entries(results).map(([name, calls]) => `${name.split(' ')[0]}: ${calls.filter((call) => call.rules && call.selected).map((call) => call.webhook).join()}`))].sort(), [
      'kube-public: validate.levee.dev',
      'kube-system: validate-kube-system-annotations.levee.dev',
      'shop: validate.levee.dev',
    ]);
  });

  it('a delete in kube-system, even of an object carrying a record, reaches no stamp entry (they take no delete) and errors no condition; validate-kube-system takes its own', () => {
    const writes: Write[] = NAMESPACED.map((kind) => ({ name: kind[3], request: review('DELETE', kind, 'kube-system', null, objectOf(kind, 'kube-system', { annotations: FORGED }), { userInfo: kcm }) }));
    const results = run(writes);
    const evaluatedBy = tableOf(results, (calls) => calls.filter((call) => call.rules && call.selected).map((call) => call.webhook));
    assert.deepEqual(Object.entries(evaluatedBy).filter(([, entries]) => (entries as string[]).length > 0), [
      ['deployments', ['validate-kube-system.levee.dev']],
      ['statefulsets', ['validate-kube-system.levee.dev']],
      ['daemonsets', ['validate-kube-system.levee.dev']],
    ]);
  });

  it('namespaces named like kube-system are not kube-system: a forged record there reaches validate.levee.dev, never the kube-system entry; levee-system reaches neither', () => {
    const namespaces = ['kube-system-x', 'x-kube-system', 'kube-public', 'kube-node-lease', 'kubesystem', 'levee-system'];
    const writes: Write[] = namespaces.flatMap((namespace) => [DEPLOYMENT, CRONJOB, KCP].flatMap((kind) => [
      { name: `${namespace} ${kind[3]} create`, request: review('CREATE', kind, namespace, objectOf(kind, namespace, { annotations: FORGED }), null) },
      { name: `${namespace} ${kind[3]}/status`, request: review('UPDATE', kind, namespace, objectOf(kind, namespace, { annotations: FORGED }), objectOf(kind, namespace, { annotations: OVERRIDE }), { subResource: 'status' }) },
    ]));
    const results = run(writes);
    const stampEntries = (calls: WebhookMatchCall[]) => validated(calls).filter((webhook) => failClosed.has(webhook)).join();
    assert.deepEqual([...new Set(Object.entries(results).map(([name, calls]) => `${name.split(' ')[0]}: ${stampEntries(calls)}`))], [
      'kube-system-x: validate.levee.dev',
      'x-kube-system: validate.levee.dev',
      'kube-public: validate.levee.dev',
      'kube-node-lease: validate.levee.dev',
      'kubesystem: validate.levee.dev',
      // levee's own namespace is never sent to levee, so levee can always be repaired.
      'levee-system: ',
    ]);
  });

  it('a cluster-scoped kind whose object names a namespace (the API server clears it) is taken by validate.levee.dev whatever the name: kube-system\'s entry takes only namespaced kinds', () => {
    const writes: Write[] = ['kube-system', 'levee-system', ''].flatMap((objectNamespace) => [
      { name: `create naming ${objectNamespace || 'none'}`, request: review('CREATE', NODEPOOL, '', objectOf(NODEPOOL, objectNamespace, { annotations: FORGED }), null) },
      { name: `status naming ${objectNamespace || 'none'}`, request: review('UPDATE', NODEPOOL, '', objectOf(NODEPOOL, objectNamespace, { annotations: FORGED }), objectOf(NODEPOOL, objectNamespace, {}), { subResource: 'status' }) },
      { name: `status only, naming ${objectNamespace || 'none'}`, request: review('UPDATE', NODEPOOL, '', objectOf(NODEPOOL, objectNamespace, { annotations: FORGED }, { status: { a: 2 } }), objectOf(NODEPOOL, objectNamespace, { annotations: FORGED }, { status: { a: 1 } }), { subResource: 'status' }) },
    ]);
    const results = run(writes);
    assert.deepEqual(tableOf(results, validated), Object.fromEntries(writes.map((write) => [write.name, write.name.startsWith('status only') ? [] : ['validate.levee.dev']])));
    assert.ok(Object.values(results).every((calls) => !calls.some((call) => call.webhook === 'validate-kube-system-annotations.levee.dev' && call.rules)));
  });

  it("kube-system's entry takes every namespaced judged kind and each of its subresources, creates and updates: no levee.dev/ change there reaches only validate-kube-system's warn-only route", () => {
    const writes: Write[] = NAMESPACED.flatMap((kind) =>
      [undefined, 'status', 'scale', 'finalize'].flatMap((subResource) =>
        (['CREATE', 'UPDATE'] as const).map((operation) => ({
          name: `${operation} ${kind[3]}${subResource ? `/${subResource}` : ''}`,
          request: review(operation, kind, 'kube-system', objectOf(kind, 'kube-system', { annotations: { 'levee.dev/overridden-by': 'mallory' } }), operation === 'UPDATE' ? objectOf(kind, 'kube-system', {}) : null, { subResource }),
        }))));
    const results = run(writes);
    assert.deepEqual(Object.entries(results).filter(([, calls]) => !validated(calls).includes('validate-kube-system-annotations.levee.dev')).map(([name]) => name), []);
  });
});
