/**
 * Workloads, their pods, Services and autoscalers as informers cache them (views of real
 * objects, uids included), the reviews the API server sends about them, and a levee over real
 * HTTPS that judges them with a given probe verdict: for attacking scale-to-zero and probe-gate.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdmissionResponse } from '../../src/admission/types.js';
import { toControllerRevisionView } from '../../src/cluster/controller-revisions.js';
import { ClusterState, ownerKey } from '../../src/cluster/state.js';
import { objectKey, toEndpointSliceView, toPodView, toReplicaSetView, toServiceView, toWorkloadView } from '../../src/cluster/views.js';
import type { GroupVersionResource, KubeObject, UserInfo } from '../../src/kube/types.js';
import { workloadKey } from '../../src/kube/workload.js';
import type { VerdictDocument } from '../../src/probe-verdict.js';
import { review, scaleSubresourceReview, type Operation } from './capacity-reviews.js';
import { GVR } from './requests.js';
import type { OverrideAuthorizer } from '../../src/engine/overrides.js';
import { allowed, refusedFor, useJudgingServers, type Judge, type TestServerOptions } from './server.js';

export const NS = 'shop';
export const KCM_RS = 'system:serviceaccount:kube-system:replicaset-controller';
export const KCM_DEPLOY = 'system:serviceaccount:kube-system:deployment-controller';
export const KCM_CRONJOB = 'system:serviceaccount:kube-system:cronjob-controller';
export const HPA = 'system:serviceaccount:kube-system:horizontal-pod-autoscaler';
export const KEDA = 'system:serviceaccount:keda:keda-operator';

// ---------------------------------------------------------------- objects

export type Labels = Record<string, string>;
export const podTemplate = (labels: Labels, image = 'registry.example/app:1.0', extraLabels: Labels = {}) => ({
  metadata: { labels: { ...labels, ...extraLabels } },
  spec: { containers: [{ name: 'app', image }] },
});

export function workload(kind: string, name: string, replicas: number | undefined, options: { labels?: Labels; image?: string; apiVersion?: string; owner?: OwnerRef; annotations?: Labels; metaLabels?: Labels } = {}): KubeObject {
  const labels = options.labels ?? { app: name };
  const apiVersion = options.apiVersion ?? (kind === 'ReplicationController' ? 'v1' : 'apps/v1');
  const selector = kind === 'ReplicationController' ? labels : { matchLabels: labels };
  return {
    apiVersion,
    kind,
    metadata: {
      name,
      namespace: NS,
      uid: `uid-${kind}-${name}`,
      ...(options.metaLabels ? { labels: options.metaLabels } : {}),
      ...(options.annotations ? { annotations: options.annotations } : {}),
      ...(options.owner ? { ownerReferences: [options.owner] } : {}),
    },
    spec: { ...(replicas === undefined || kind === 'DaemonSet' ? {} : { replicas }), selector, template: podTemplate(labels, options.image) },
  } as KubeObject;
}

export interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
}
export const ref = (kind: string, name: string, uid = `uid-${kind}-${name}`, apiVersion = 'apps/v1'): OwnerRef => ({ apiVersion, kind, name, uid, controller: true });

export function pod(name: string, labels: Labels, owner?: OwnerRef, namespace = NS): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, uid: `uid-pod-${name}`, labels, ...(owner ? { ownerReferences: [owner] } : {}) },
    spec: { containers: [{ name: 'app', image: 'registry.example/app:1.0' }] },
  } as KubeObject;
}

export function service(name: string, selector: Labels | undefined, type?: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: { ...(selector ? { selector } : {}), ...(type ? { type } : {}), ...(type === 'ExternalName' ? { externalName: 'example.com' } : {}) },
  } as KubeObject;
}

/** Caches as informers fill them: every object given exists, with the endpoints listed ready (or not). */
export class Caches {
  constructor(readonly cluster: ClusterState = new ClusterState()) {}

  add(...objects: KubeObject[]): this {
    const { cluster } = this;
    for (const object of objects) {
      const key = objectKey(object.metadata?.namespace, object.metadata?.name ?? '');
      switch (object.kind) {
        case 'Service':
          cluster.services.upsert(key, toServiceView(object));
          break;
        case 'Pod':
          cluster.pods.upsert(key, toPodView(object));
          break;
        case 'ReplicaSet':
          cluster.replicaSets.upsert(key, toReplicaSetView(object));
          break;
        case 'ControllerRevision':
          cluster.controllerRevisions.upsert(key, toControllerRevisionView(object));
          break;
        case 'DaemonSet':
        case 'Job':
        case 'CronJob':
          cluster.owners.upsert(ownerKey(object.kind, object.metadata!.namespace!, object.metadata!.name!), object.metadata!.uid!);
          break;
        case 'HorizontalPodAutoscaler': {
          const projected = cluster.hpas.project(object, 'autoscaling');
          if (projected) cluster.hpas.upsert(...projected);
          break;
        }
        case 'ScaledObject':
        case 'HTTPScaledObject': {
          const projected = cluster.kedaScalers.project(object, object.apiVersion!.split('/')[0]!);
          if (projected) cluster.kedaScalers.upsert(...projected);
          break;
        }
      }
      const view = object.kind === 'Pod' ? undefined : toWorkloadView(object);
      if (view) cluster.workloads.upsert(workloadKey(view.ref), view);
    }
    return this;
  }

  /** An EndpointSlice of `serviceName` with these pods' endpoints. */
  endpoints(serviceName: string, pods: string[], ready = true): this {
    this.cluster.endpointSlices.upsert(objectKey(NS, `${serviceName}-${pods.join('-')}`.slice(0, 60)), toEndpointSliceView({
      kind: 'EndpointSlice',
      metadata: { name: `${serviceName}-x`, namespace: NS, labels: { 'kubernetes.io/service-name': serviceName } },
      endpoints: pods.map((name, i) => ({ addresses: [`10.2.0.${i + 1}`], conditions: { ready }, targetRef: { kind: 'Pod', name, namespace: NS } })),
    } as KubeObject));
    return this;
  }

  /** A Deployment `name` running `pods` ready pods through ReplicaSet `name-1` behind Service `svc`. */
  deploymentBehind(name: string, svc: string, pods = 2, labels: Labels = { app: name }): this {
    const deployment = workload('Deployment', name, pods, { labels });
    const rs = { ...workload('ReplicaSet', `${name}-1`, pods, { labels, owner: ref('Deployment', name) }) } as KubeObject;
    (rs.spec as { template: unknown }).template = podTemplate(labels, 'registry.example/app:1.0', { 'pod-template-hash': '1' });
    const podNames = Array.from({ length: pods }, (_, i) => `${name}-1-${i}`);
    this.add(deployment, rs, ...podNames.map((p) => pod(p, labels, ref('ReplicaSet', `${name}-1`))));
    return this.endpoints(svc, podNames);
  }

  /** A workload of `kind` (StatefulSet, ReplicationController, bare ReplicaSet) with ready pods behind `svc`. */
  workloadBehind(kind: string, name: string, svc: string, pods = 2, labels: Labels = { app: name }): this {
    const apiVersion = kind === 'ReplicationController' ? 'v1' : 'apps/v1';
    const podNames = Array.from({ length: pods }, (_, i) => `${name}-${i}`);
    this.add(workload(kind, name, pods, { labels }), ...podNames.map((p) => pod(p, labels, ref(kind, name, `uid-${kind}-${name}`, apiVersion))));
    return this.endpoints(svc, podNames);
  }

  synced(): ClusterState {
    for (const store of this.cluster.allStores()) store.markSynced();
    return this.cluster;
  }
}

// ---------------------------------------------------------------- reviews

const resourceOf: Record<string, GroupVersionResource> = {
  Deployment: GVR.deployments,
  StatefulSet: GVR.statefulsets,
  ReplicaSet: GVR.replicasets,
  DaemonSet: GVR.daemonSets,
  ReplicationController: GVR.replicationControllers,
  Pod: GVR.pods,
  Job: GVR.jobs,
  CronJob: GVR.cronJobs,
};

export function objectReview(operation: Operation, before: KubeObject | null, after: KubeObject | null, username = 'alice'): unknown {
  // Named by whichever side has metadata: a spoiled object may have none.
  const object = (after?.metadata ? after : (before ?? after))!;
  const kind = object.kind!;
  const { group, version, resource } = resourceOf[kind]!;
  return review({
    operation,
    group,
    version,
    kind,
    resource,
    name: object.metadata!.name!,
    namespace: object.metadata!.namespace ?? NS,
    object: after,
    oldObject: before,
    username,
    groups: username.startsWith('system:serviceaccount:') ? ['system:serviceaccounts', 'system:authenticated'] : ['system:authenticated'],
  });
}

/** A `/scale` UPDATE as the API server sends it: ScaleSpec.replicas is omitempty, so 0 is absent. */
export function scaleReview(kind: string, name: string, from: number, to: number, username = 'alice', scaleGroup = 'autoscaling', scaleVersion = 'v1'): unknown {
  return scaleSubresourceReview(resourceOf[kind]!, name, NS, from, to, {
    selector: `app=${name}`,
    username,
    groups: username.startsWith('system:') ? ['system:serviceaccounts', 'system:authenticated'] : ['system:authenticated'],
    scaleKind: { group: scaleGroup, version: scaleVersion, kind: 'Scale' },
  });
}

type ReviewBody = { request: { userInfo: UserInfo; dryRun?: boolean } };

/** Sets the whole userInfo of a review, as the API server would have authenticated it. */
export function as<T>(body: T, user: UserInfo): T {
  (body as ReviewBody).request.userInfo = user;
  return body;
}

/** Marks a review as a server-side dry run. */
export function dryRun<T>(body: T): T {
  (body as ReviewBody).request.dryRun = true;
  return body;
}

export function withReplicas(object: KubeObject, replicas: number | undefined): KubeObject {
  const spec = { ...(object.spec as Record<string, unknown>) };
  if (replicas === undefined) delete spec.replicas;
  else spec.replicas = replicas;
  return { ...object, spec };
}

export function withImage(object: KubeObject, image: string): KubeObject {
  const spec = object.spec as { template: { metadata: unknown; spec: { containers: Array<Record<string, unknown>> } } };
  return { ...object, spec: { ...spec, template: { ...spec.template, spec: { ...spec.template.spec, containers: [{ ...spec.template.spec.containers[0], image }] } } } } as KubeObject;
}

export function withTemplateLabels(object: KubeObject, labels: Labels): KubeObject {
  const spec = object.spec as { template: { metadata: unknown; spec: unknown } };
  return { ...object, spec: { ...spec, template: { ...spec.template, metadata: { labels } } } } as KubeObject;
}

// ---------------------------------------------------------------- harness

/**
 * Registers mocha hooks in the calling describe. `levee(caches, verdict, authorizer)` starts a
 * server judging from them; `judgeWith` one from any options (a cluster read from manifests).
 */
export function useWorkloadLevee(): {
  levee: (caches: Caches, verdict?: 'Healthy' | 'Unhealthy', authorizer?: OverrideAuthorizer) => Promise<Judge>;
  judgeWith: (options: Omit<TestServerOptions, 'certs'>) => Promise<Judge>;
} {
  const judgeWith = useJudgingServers();
  let dir: string;
  let verdictFiles = 0;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'levee-workload-attacks-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function verdictFile(verdict: 'Healthy' | 'Unhealthy'): string {
    const now = new Date().toISOString();
    const document: VerdictDocument = {
      verdict,
      since: now,
      generatedAt: now,
      reporter: 'attack-test',
      leader: true,
      run: 3,
      failing: verdict === 'Unhealthy' ? ['workload-lifecycle'] : [],
      probes: [],
    };
    const file = join(dir, `verdict-${++verdictFiles}.json`);
    writeFileSync(file, JSON.stringify(document));
    return file;
  }

  function levee(caches: Caches, verdict: 'Healthy' | 'Unhealthy' = 'Healthy', authorizer?: OverrideAuthorizer): Promise<Judge> {
    return judgeWith({ cluster: caches.synced(), config: { probe: { verdictFile: verdictFile(verdict) } }, ...(authorizer ? { authorizer } : {}) });
  }
  return { levee, judgeWith };
}

export { allowed, refusedFor, type Judge };
/** A warning names its policy, not its rule: each scale-to-zero rule is told by what its message says. */
export const warnedFor = (response: AdmissionResponse, message: RegExp): void => {
  allowed(response);
  assert.ok((response.warnings ?? []).some((w) => /\[scale-to-zero\]/.test(w) && message.test(w)), `expected a warning matching ${message}, got ${JSON.stringify(response.warnings)}`);
};
export const notWarnedFor = (response: AdmissionResponse, rule: RegExp): void => {
  allowed(response);
  assert.ok(!(response.warnings ?? []).some((w) => rule.test(w)), `expected no warning matching ${rule}, got ${JSON.stringify(response.warnings)}`);
};
export const LAST_BACKEND_DELETED = /deleting \w+\/\S+ leaves Service/;
export const AUTOSCALER_TO_ZERO = /lets reach zero/;
export const STZ = /scale-to-zero/;
export const GATE = /probe-gate/;
