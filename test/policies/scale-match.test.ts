import assert from 'node:assert/strict';
import type { AdmissionRequest, KubeObject } from '../../src/kube/types.js';
import { matchWebhooks, shippedWebhookConfigurations } from '../support/webhook-match.js';

/**
 * Which scales the API server sends levee, by kube-apiserver's own matcher (tools/webhook-match)
 * on the requests as the API server builds them for each way of scaling: the object (PUT, merge,
 * JSON or strategic merge patch, server-side apply: admission sees the object they end in) and
 * `/scale` (`kubectl scale`, `--current-replicas`, a PUT or patch of the Scale, a JSON patch
 * removing spec.replicas), every scalable kind, worker pools at v1beta1 and v1beta2, kube-system.
 * A drop to 0 reaches levee however it is spelled; a scale between counts above 0 of a workload
 * does not (no policy judges it: test/unit/policies/scale-to-zero.counts.test.ts); a worker pool's
 * always does (spot-capacity counts its replicas, and warns on any write to a pool it cannot tell:
 * test/unit/policies/spot-capacity.scales.test.ts).
 */

const VALIDATE = 'validate.levee.dev';
const KUBE_SYSTEM = 'validate-kube-system.levee.dev';

const admin = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };
const HPA_CONTROLLER = { username: 'system:serviceaccount:kube-system:horizontal-pod-autoscaler', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] };
const DEPLOYMENT_CONTROLLER = { username: 'system:serviceaccount:kube-system:deployment-controller', groups: HPA_CONTROLLER.groups };

type Workload = 'Deployment' | 'StatefulSet' | 'ReplicaSet' | 'ReplicationController';
const RESOURCE: Record<Workload, { group: string; resource: string }> = {
  Deployment: { group: 'apps', resource: 'deployments' },
  StatefulSet: { group: 'apps', resource: 'statefulsets' },
  ReplicaSet: { group: 'apps', resource: 'replicasets' },
  ReplicationController: { group: '', resource: 'replicationcontrollers' },
};

/** A workload as admission sees it: the API server has defaulted spec.replicas (a pointer: 0 is kept). */
function workload(kind: Workload, namespace: string, replicas: number, image = 'registry.example/web:1.0'): KubeObject {
  return {
    apiVersion: kind === 'ReplicationController' ? 'v1' : 'apps/v1',
    kind,
    metadata: { name: 'web', namespace, uid: 'uid-web', labels: { app: 'web' } },
    spec: {
      replicas,
      selector: kind === 'ReplicationController' ? { app: 'web' } : { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image }] } },
    },
  };
}

/** An autoscaling/v1 Scale as the API server encodes it: ScaleSpec.replicas is a plain int32 with omitempty, absent at 0. */
function scale(namespace: string, replicas: number, spelled = false): KubeObject {
  return { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'web', namespace }, spec: replicas === 0 && !spelled ? {} : { replicas } };
}

function update(group: string, version: string, kind: string, resource: string, namespace: string, object: KubeObject, oldObject: KubeObject, extra: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return {
    uid: `${resource}-${extra.subResource ?? ''}`,
    kind: extra.subResource === 'scale' ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : { group, version, kind },
    resource: { group, version, resource },
    name: 'web',
    namespace,
    operation: 'UPDATE',
    userInfo: admin,
    object,
    oldObject,
    dryRun: false,
    ...extra,
  };
}

const objectScale = (kind: Workload, namespace: string, from: number, to: number, extra: Partial<AdmissionRequest> = {}) =>
  update(RESOURCE[kind].group, 'v1', kind, RESOURCE[kind].resource, namespace, workload(kind, namespace, to), workload(kind, namespace, from), extra);

const subresourceScale = (group: string, version: string, resource: string, namespace: string, from: number, to: number, extra: Partial<AdmissionRequest> & { spelled?: boolean } = {}) => {
  const { spelled, ...rest } = extra;
  return update(group, version, '', resource, namespace, scale(namespace, to, spelled), scale(namespace, from, spelled), { subResource: 'scale', ...rest });
};

describe('webhook matchConditions: which scales reach levee', function () {
  this.timeout(120_000);
  const configurations = shippedWebhookConfigurations();

  /** The validating entries that call levee for each request, or the condition errors. */
  function sentTo(requests: AdmissionRequest[]): string[][] {
    return matchWebhooks(configurations, requests).map((calls) => {
      const errors = calls.filter((call) => call.conditions === 'error');
      assert.deepEqual(errors, [], 'no condition may fail to evaluate');
      return calls
        .filter((call) => call.type === 'validating' && call.rules && call.selected && call.conditions === 'match' && call.webhook !== 'validate-levee-annotations.levee.dev')
        .map((call) => call.webhook);
    });
  }

  function expectSent(cases: Array<[string, AdmissionRequest, string[]]>): void {
    const got = sentTo(cases.map(([, request]) => request));
    const wrong = cases.flatMap(([what, , expected], i) => (JSON.stringify(got[i]) === JSON.stringify(expected) ? [] : [`${what}: sent to [${got[i]!.join(', ')}], expected [${expected.join(', ')}]`]));
    assert.deepEqual(wrong, []);
  }

  const WORKLOADS: Workload[] = ['Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController'];
  const ABOVE_ZERO: Array<[number, number]> = [[3, 2], [2, 3], [1, 5], [0, 2], [0, 1]];
  const DROPS: Array<[number, number]> = [[2, 0], [1, 0], [100, 0]];
  const UNCHANGED: Array<[number, number]> = [[3, 3], [0, 0]];

  it('a drop to 0 through /scale reaches levee for every scalable kind, with the Scale at 0 encoded without replicas or spelled out, by anyone, dry-run too', () => {
    const cases: Array<[string, AdmissionRequest, string[]]> = [];
    for (const kind of WORKLOADS) {
      const { group, resource } = RESOURCE[kind];
      for (const [from, to] of DROPS) {
        cases.push([`${kind}/scale ${from} -> ${to}`, subresourceScale(group, 'v1', resource, 'shop', from, to), [VALIDATE]]);
        cases.push([`${kind}/scale ${from} -> ${to}, 0 spelled out`, subresourceScale(group, 'v1', resource, 'shop', from, to, { spelled: true }), [VALIDATE]]);
        cases.push([`${kind}/scale ${from} -> ${to} by the HPA controller`, subresourceScale(group, 'v1', resource, 'shop', from, to, { userInfo: HPA_CONTROLLER }), [VALIDATE]]);
        cases.push([`${kind}/scale ${from} -> ${to}, dry-run`, subresourceScale(group, 'v1', resource, 'shop', from, to, { dryRun: true }), [VALIDATE]]);
      }
    }
    expectSent(cases);
  });

  it('a drop to 0 through the object reaches levee for every scalable kind (a PUT, any patch and server-side apply end in the same object)', () => {
    const cases: Array<[string, AdmissionRequest, string[]]> = [];
    for (const kind of WORKLOADS) {
      for (const [from, to] of DROPS) cases.push([`${kind} ${from} -> ${to}`, objectScale(kind, 'shop', from, to), [VALIDATE]]);
      // The Deployment controller taking a ReplicaSet to 0 at the end of a rollout: judged (a rollout step levee lets through).
      if (kind === 'ReplicaSet') cases.push(['ReplicaSet 1 -> 0 by the Deployment controller', objectScale(kind, 'shop', 1, 0, { userInfo: DEPLOYMENT_CONTROLLER }), [VALIDATE]]);
    }
    expectSent(cases);
  });

  it('a scale between counts above 0, or none at all, stays away from levee, through /scale and through the apps objects', () => {
    const cases: Array<[string, AdmissionRequest, string[]]> = [];
    for (const kind of WORKLOADS) {
      const { group, resource } = RESOURCE[kind];
      for (const [from, to] of [...ABOVE_ZERO, ...UNCHANGED]) {
        cases.push([`${kind}/scale ${from} -> ${to}`, subresourceScale(group, 'v1', resource, 'shop', from, to), []]);
        cases.push([`${kind}/scale ${from} -> ${to}, 0 spelled out`, subresourceScale(group, 'v1', resource, 'shop', from, to, { spelled: true }), []]);
        cases.push([`${kind}/scale ${from} -> ${to} by the HPA controller`, subresourceScale(group, 'v1', resource, 'shop', from, to, { userInfo: HPA_CONTROLLER }), []]);
        // A ReplicationController's object is sent whatever changes: the condition on workload updates names only the apps and batch kinds.
        cases.push([`${kind} ${from} -> ${to}`, objectScale(kind, 'shop', from, to), kind === 'ReplicationController' ? [VALIDATE] : []]);
      }
      cases.push([`${kind} 2 -> 3 by the Deployment controller`, objectScale(kind, 'shop', 2, 3, { userInfo: DEPLOYMENT_CONTROLLER }), kind === 'ReplicationController' ? [VALIDATE] : []]);
    }
    expectSent(cases);
  });

  it('a scale above 0 that also changes the pod template still reaches levee (probe-gate, spot-capacity judge the template)', () => {
    const cases: Array<[string, AdmissionRequest, string[]]> = [];
    for (const kind of WORKLOADS) {
      for (const [from, to] of [[0, 2], [3, 1], [0, 0]] as Array<[number, number]>) {
        const request = update(RESOURCE[kind].group, 'v1', kind, RESOURCE[kind].resource, 'shop', workload(kind, 'shop', to, 'registry.example/web:2.0'), workload(kind, 'shop', from));
        cases.push([`${kind} ${from} -> ${to} with a new image`, request, [VALIDATE]]);
      }
    }
    expectSent(cases);
  });

  it("a worker pool's scale reaches levee at any count, one that changes nothing included, at v1beta1 and v1beta2", () => {
    const cases: Array<[string, AdmissionRequest, string[]]> = [];
    for (const resource of ['machinedeployments', 'machinepools']) {
      for (const version of ['v1beta1', 'v1beta2']) {
        for (const [from, to] of [...ABOVE_ZERO, ...DROPS]) {
          cases.push([`${resource}/scale ${version} ${from} -> ${to}`, subresourceScale('cluster.x-k8s.io', version, resource, 'capi', from, to), [VALIDATE]]);
          cases.push([`${resource}/scale ${version} ${from} -> ${to}, 0 spelled out`, subresourceScale('cluster.x-k8s.io', version, resource, 'capi', from, to, { spelled: true }), [VALIDATE]]);
        }
        // Even one that changes nothing: unknown-capacity warns on every write to a pool levee cannot tell.
        for (const [from, to] of UNCHANGED) cases.push([`${resource}/scale ${version} ${from} -> ${to}`, subresourceScale('cluster.x-k8s.io', version, resource, 'capi', from, to), [VALIDATE]]);
      }
    }
    expectSent(cases);
  });

  it('kube-system: a Deployment or StatefulSet taken to 0, through the object or its /scale, reaches the warn-only entry; a scale above 0 does not', () => {
    const cases: Array<[string, AdmissionRequest, string[]]> = [];
    for (const kind of ['Deployment', 'StatefulSet'] as const) {
      const { group, resource } = RESOURCE[kind];
      for (const [from, to] of DROPS) cases.push([`kube-system ${kind} ${from} -> ${to}`, objectScale(kind, 'kube-system', from, to), [KUBE_SYSTEM]]);
      for (const [from, to] of ABOVE_ZERO) cases.push([`kube-system ${kind} ${from} -> ${to}`, objectScale(kind, 'kube-system', from, to), []]);
      // Only a drop to 0 through /scale is sent: CoreDNS's autoscaler scales all day.
      for (const [from, to] of DROPS) cases.push([`kube-system ${kind}/scale ${from} -> ${to}`, subresourceScale(group, 'v1', resource, 'kube-system', from, to), [KUBE_SYSTEM]]);
      for (const [from, to] of ABOVE_ZERO) cases.push([`kube-system ${kind}/scale ${from} -> ${to}`, subresourceScale(group, 'v1', resource, 'kube-system', from, to), []]);
    }
    expectSent(cases);
  });
});
