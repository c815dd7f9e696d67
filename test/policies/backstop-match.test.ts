import assert from 'node:assert/strict';
import type { AdmissionRequest, KubeObject } from '../../src/kube/types.js';
import { STAMPED_KINDS as STAMPED } from '../support/stamped-kinds.js';
import { failClosedValidatingEntries, matcherReview, matchWebhooks, reachesFailClosedValidate, shippedWebhookConfigurations } from '../support/webhook-match.js';

/**
 * Which of levee's entries the API server evaluates matchConditions for (their rules and
 * selectors take the request), by kube-apiserver's own matcher (tools/webhook-match), on the
 * writes of the API-server bench's mix (bench/e2e/mix.mjs) and on writes of kinds levee reads
 * no stamp from. Each such entry costs the API server one CEL activation: the object and the
 * old object converted to unstructured. validate.levee.dev carries the stamp backstop for the
 * kinds it judges, so a Deployment's write is converted once for /validate, not twice; the
 * stamp-only entries take Pods, Nodes, Bindings and kube-system, and only kinds levee reads a
 * stamp or record from (test/unit/manifests/webhook-stamps.test.ts), so a ConfigMap, Secret,
 * Event or Service write costs levee nothing, even one that carries a levee.dev/ key. And
 * every write that changes a levee.dev/ annotation on a kind levee reads one from still reaches
 * /validate on an entry that fails closed.
 */

const RECORD = 'levee.dev/override-authorized-by';

/** An update of `object` (in its own namespace) as the API server hands it to admission. */
const update = (group: string, version: string, kind: string, resource: string, object: KubeObject, oldObject: KubeObject, subResource?: string): AdmissionRequest =>
  matcherReview('UPDATE', [group, version, kind, resource], object.metadata?.namespace ?? '', object, oldObject, { subResource });

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

  it("the bench's mix: each write is evaluated by one /validate entry at most (and its /mutate entry), the ConfigMap write by none", () => {
    const entries = evaluated(MIX.map(([, request]) => request));
    assert.deepEqual(Object.fromEntries(MIX.map(([name], i) => [name, entries[i]!])), {
      apply: ['validate.levee.dev', 'mutate.levee.dev'],
      scale: ['validate.levee.dev'],
      cordon: ['validate-nodes.levee.dev', 'validate-levee-annotations.levee.dev', 'mutate-nodes.levee.dev'],
      annotate: ['validate.levee.dev', 'mutate.levee.dev'],
      configmap: [],
    });
  });

  it('a write of a kind levee reads no stamp from reaches no entry of levee, even one adding levee.dev/override-authorized-by, and also through its status', () => {
    const entries = evaluated(UNJUDGED.map(([, request]) => request));
    assert.ok(UNJUDGED.length >= 20);
    assert.deepEqual(UNJUDGED.flatMap(([name], i) => entries[i]!.map((webhook) => `${name}: ${webhook}`)), []);
  });
});

describe('every write that changes a levee.dev/ annotation reaches /validate on an entry that fails closed (tools/webhook-match)', function () {
  this.timeout(10 * 60_000);
  const failClosed = failClosedValidatingEntries(shippedWebhookConfigurations());
  const forged = { [RECORD]: '{"user":"alice","groups":["system:masters"]}' };
  const changes: Array<[string, Record<string, string>, Record<string, string>]> = [
    ['adds a record', { ...forged, team: 'shop' }, { team: 'shop' }],
    ['changes a record', { [RECORD]: '{"user":"mallory"}' }, forged],
    ['removes a record', { team: 'shop' }, { ...forged, team: 'shop' }],
    ['adds an override', { 'levee.dev/override': 'scale-to-zero' }, {}],
    ['adds a stamp', { 'levee.dev/overridden-by': 'alice' }, {}],
  ];
  const writes: Array<[string, AdmissionRequest]> = STAMPED.flatMap(([group, version, kind, resource, namespaced]) =>
    (namespaced ? ['shop', 'kube-system'] : ['']).flatMap((ns) =>
      ['', 'status', 'scale', 'resize', 'ephemeralcontainers'].flatMap((subresource) =>
        changes.map(([change, annotations, oldAnnotations]): [string, AdmissionRequest] => {
          const object = (values: Record<string, string>): KubeObject => ({
            apiVersion: group ? `${group}/${version}` : version,
            kind,
            metadata: { name: 'x', ...(ns ? { namespace: ns } : {}), annotations: values },
            spec: { replicas: 2 },
          });
          const request = update(group, version, kind, resource, object(annotations), object(oldAnnotations), subresource || undefined);
          // A scale's review names the Scale kind, but its object here carries the parent's metadata: the matcher reads only metadata.
          return [`${resource}${subresource ? `/${subresource}` : ''} in ${ns || 'no namespace'} ${change}`, request];
        }))));

  it('through the object and every subresource, in kube-system and elsewhere, whichever levee.dev/ key', () => {
    assert.ok(writes.length >= 500, `${writes.length} writes`);
    const calls = matchWebhooks(shippedWebhookConfigurations(), writes.map(([, request]) => request));
    const missed = writes.flatMap(([name], i) =>
      reachesFailClosedValidate(calls[i]!, failClosed) ? [] : [name]);
    assert.deepEqual(missed, []);
    const errors = calls.flat().filter((call) => call.conditions === 'error').map((call) => `${call.webhook}: ${call.error}`);
    assert.deepEqual([...new Set(errors)], []);
  });

  it('a status write that changes no levee.dev/ annotation reaches no entry of levee at all', () => {
    const statusWrites = STAMPED.flatMap(([group, version, kind, resource, namespaced]) =>
      (namespaced ? ['shop', 'kube-system'] : ['']).map((ns) => {
        const object = (generation: string, status: string): KubeObject => ({
          apiVersion: group ? `${group}/${version}` : version,
          kind,
          metadata: { name: 'x', ...(ns ? { namespace: ns } : {}), annotations: { 'levee.dev/override': 'scale-to-zero', 'team.example.com/seen': generation } },
          status: { observed: status },
        });
        return [`${resource}/status in ${ns || 'no namespace'}`, update(group, version, kind, resource, object('2', 'b'), object('1', 'a'), 'status')] as [string, AdmissionRequest];
      }));
    const calls = matchWebhooks(shippedWebhookConfigurations(), statusWrites.map(([, request]) => request));
    assert.deepEqual(statusWrites.flatMap(([name], i) => calls[i]!.filter((call) => call.rules && call.selected && call.conditions === 'match').map((call) => `${name}: ${call.webhook}`)), []);
    // ... yet they are evaluated: the guards' rules take them.
    assert.ok(calls.every((each) => each.some((call) => call.rules && call.selected && failClosed.has(call.webhook))), 'every status write is evaluated by a guard');
  });
});
