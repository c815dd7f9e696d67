import assert from 'node:assert/strict';
import type { AdmissionRequest, KubeObject } from '../../src/kube/types.js';
import { matchWebhooks, shippedWebhookConfigurations } from '../support/webhook-match.js';

/**
 * Which of levee's entries the API server evaluates matchConditions for (their rules and
 * selectors take the request), by kube-apiserver's own matcher (tools/webhook-match), on the
 * writes of the API-server bench's mix (bench/e2e/mix.mjs) and on writes of kinds levee reads
 * no stamp from. Each such entry costs the API server one CEL activation: the object and the
 * old object converted to unstructured. validate-levee-annotations takes only the kinds levee
 * reads a stamp or record from (test/unit/manifests/webhook-stamps.test.ts), so a ConfigMap,
 * Secret, Event or Service write costs levee nothing, even one that carries a levee.dev/ key.
 */

const BACKSTOP = 'validate-levee-annotations.levee.dev';
const RECORD = 'levee.dev/override-authorized-by';

const admin = { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };

function update(group: string, version: string, kind: string, resource: string, object: KubeObject, oldObject: KubeObject, subResource?: string): AdmissionRequest {
  const namespace = object.metadata?.namespace;
  return {
    uid: `${resource}-${object.metadata?.name ?? ''}`,
    kind: subResource === 'scale' ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : { group, version, kind },
    resource: { group, version, resource },
    ...(subResource ? { subResource } : {}),
    name: object.metadata?.name ?? '',
    ...(namespace ? { namespace } : {}),
    operation: 'UPDATE',
    userInfo: admin,
    object,
    oldObject,
    dryRun: false,
  };
}

const namespace = 'bench';
const template = (image: string) => ({ metadata: { labels: { app: 'writer-0' } }, spec: { containers: [{ name: 'app', image }] } });
const deployment = (image: string, annotations: Record<string, string> = {}, replicas = 1): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'writer-0', namespace, labels: { app: 'writer-0' }, annotations },
  spec: { replicas, paused: true, selector: { matchLabels: { app: 'writer-0' } }, template: template(image) },
});
const scale = (replicas: number): KubeObject => ({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'writer-0', namespace }, spec: { replicas } });
const node = (unschedulable: boolean): KubeObject => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'bench-node-0' }, spec: unschedulable ? { unschedulable } : {} });
const configMap = (value: string, annotations: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'writer-0', namespace, annotations }, data: { value } });

/** The mix's five writes, as the API server hands them to admission. */
const MIX: Array<[string, AdmissionRequest]> = [
  ['apply', update('apps', 'v1', 'Deployment', 'deployments', deployment('registry.example/shop/checkout:4.12.1'), deployment('registry.example/shop/checkout:4.12.0'))],
  ['scale', update('apps', 'v1', 'Deployment', 'deployments', scale(2), scale(1), 'scale')],
  ['cordon', update('', 'v1', 'Node', 'nodes', node(true), node(false))],
  ['annotate', update('apps', 'v1', 'Deployment', 'deployments', deployment('registry.example/shop/checkout:4.12.0', { 'team.example.com/last-deploy-check': '2' }), deployment('registry.example/shop/checkout:4.12.0', { 'team.example.com/last-deploy-check': '1' }))],
  ['configmap', update('', 'v1', 'ConfigMap', 'configmaps', configMap('2'), configMap('1'))],
];

/** Writes of kinds no policy judges, each adding a levee record: what the backstop used to take (every update in levee's groups, the core group included). */
const UNJUDGED: Array<[string, AdmissionRequest]> = [
  ['configmaps', update('', 'v1', 'ConfigMap', 'configmaps', configMap('1', { [RECORD]: '{}' }), configMap('1'))],
  ...([['', 'v1', 'Secret', 'secrets'], ['', 'v1', 'Event', 'events'], ['', 'v1', 'Service', 'services'], ['', 'v1', 'Endpoints', 'endpoints'], ['', 'v1', 'ServiceAccount', 'serviceaccounts'], ['', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims'], ['apps', 'v1', 'ControllerRevision', 'controllerrevisions'], ['keda.sh', 'v1alpha1', 'ScaledJob', 'scaledjobs'], ['karpenter.sh', 'v1', 'NodeClaim', 'nodeclaims'], ['cluster.x-k8s.io', 'v1beta2', 'MachineHealthCheck', 'machinehealthchecks']] as const)
    .flatMap(([group, version, kind, resource]) => {
      const object = (annotations: Record<string, string>): KubeObject => ({ apiVersion: group ? `${group}/${version}` : version, kind, metadata: { name: 'x', namespace, annotations } });
      return [
        [resource, update(group, version, kind, resource, object({ [RECORD]: '{}' }), object({}))],
        [`${resource}/status`, update(group, version, kind, resource, object({ [RECORD]: '{}' }), object({}), 'status')],
      ] as Array<[string, AdmissionRequest]>;
    }),
];

describe('what levee costs the API server: entries whose rules take a write (tools/webhook-match)', function () {
  this.timeout(10 * 60_000);
  let evaluated: (requests: AdmissionRequest[]) => string[][];

  before(() => {
    const configurations = shippedWebhookConfigurations();
    evaluated = (requests) => matchWebhooks(configurations, requests).map((calls) => calls.filter((call) => call.rules && call.selected).map((call) => call.webhook));
  });

  it("the bench's mix: the backstop is evaluated for the writes of kinds levee stamps (apply, scale, cordon, annotate), never for the ConfigMap write", () => {
    const entries = evaluated(MIX.map(([, request]) => request));
    const byWrite = Object.fromEntries(MIX.map(([name], i) => [name, entries[i]!]));
    assert.deepEqual(byWrite.configmap, []);
    assert.deepEqual(MIX.filter((_, i) => entries[i]!.includes(BACKSTOP)).map(([name]) => name), ['apply', 'scale', 'cordon', 'annotate']);
  });

  it('a write of a kind levee reads no stamp from reaches no entry of levee, even one adding levee.dev/override-authorized-by, and also through its status', () => {
    const entries = evaluated(UNJUDGED.map(([, request]) => request));
    assert.ok(UNJUDGED.length >= 20);
    assert.deepEqual(UNJUDGED.flatMap(([name], i) => entries[i]!.map((webhook) => `${name}: ${webhook}`)), []);
  });
});
