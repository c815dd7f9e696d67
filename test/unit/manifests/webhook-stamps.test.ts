import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import { manifestObjects } from '../../../src/manifests/read.js';
import { POLICIES } from '../../../src/policies/registry.js';

interface Rule {
  apiGroups: string[];
  apiVersions: string[];
  resources: string[];
  operations: string[];
  scope?: string;
}
interface Webhook {
  name: string;
  failurePolicy: string;
  clientConfig: { service?: { path?: string } };
  namespaceSelector?: { matchExpressions?: Array<{ key: string; operator: string; values: string[] }> };
  rules: Rule[];
}
interface WebhookConfiguration {
  kind: string;
  webhooks: Webhook[];
}

const STAMPS_BACKSTOP = 'validate-levee-annotations.levee.dev';

function registrations(): { validating: Webhook[]; mutating: Webhook[] } {
  const documents = manifestObjects(readFileSync('manifests/components/webhooks/webhooks.yaml', 'utf8'), 'webhooks.yaml') as unknown as WebhookConfiguration[];
  const of = (kind: string) => documents.find((doc) => doc.kind === kind)?.webhooks ?? [];
  return { validating: of('ValidatingWebhookConfiguration'), mutating: of('MutatingWebhookConfiguration') };
}

/** Every (group, version, resource, operation) a set of webhooks sends, with the failure policy it is sent under. */
function sent(webhooks: Webhook[], path: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const webhook of webhooks.filter((w) => w.clientConfig.service?.path === path)) {
    for (const rule of webhook.rules) {
      for (const group of rule.apiGroups) for (const version of rule.apiVersions) for (const resource of rule.resources) for (const operation of rule.operations) {
        out.set(`${operation} ${resource}.${group || 'core'}/${version}`, webhook.failurePolicy);
      }
    }
  }
  return out;
}

/** A kind levee reads a stamp or an override record from: its group, main resource and the versions it is read in. */
interface StampedKind {
  group: string;
  resource: string;
  versions: Set<string>;
  /** Which entry or policy makes levee read it. */
  from: Set<string>;
}

/**
 * Where levee reads a stamp or the record of who set an override (engine/pipeline.ts authorOf,
 * levee audit --cluster): on an object of a kind a policy judges, since an override counts
 * only against a policy's denial. That is every resource the judging entries send levee (a
 * subresource's parent: for `scale`, the record is read from the parent, cached), and every
 * kind a policy declares (`levee audit` reads the record from the live object).
 */
function stampedKinds(): Map<string, StampedKind> {
  const { validating, mutating } = registrations();
  const kinds = new Map<string, StampedKind>();
  const add = (group: string, resource: string, version: string, from: string) => {
    const key = `${resource}.${group}`;
    const kind = kinds.get(key) ?? { group, resource, versions: new Set<string>(), from: new Set<string>() };
    kind.versions.add(version);
    kind.from.add(from);
    kinds.set(key, kind);
  };
  for (const webhook of [...validating.filter((w) => w.name !== STAMPS_BACKSTOP), ...mutating]) {
    for (const rule of webhook.rules) {
      for (const group of rule.apiGroups) for (const version of rule.apiVersions) for (const resource of rule.resources) add(group, resource.split('/')[0]!, version, webhook.name);
    }
  }
  for (const policy of POLICIES) for (const kind of policy.kinds) add(kind.group, kind.resource, kind.version, policy.id);
  return kinds;
}

/** The API server's rule matching (k8s.io/apiserver rules.Matcher) for one group, version, resource and subresource. */
function ruleMatches(rule: Rule, operation: string, group: string, version: string, resource: string, subresource: string): boolean {
  const has = (values: string[], value: string) => values.includes('*') || values.includes(value);
  const full = subresource ? `${resource}/${subresource}` : resource;
  const resourceMatches = rule.resources.some((pattern) =>
    pattern === '*/*' || pattern === full || (pattern === '*' && !subresource) || (pattern === `${resource}/*` && subresource !== '') || (pattern === `*/${subresource}` && subresource !== ''));
  return has(rule.operations, operation) && has(rule.apiGroups, group) && has(rule.apiVersions, version) && resourceMatches;
}

/** A resource name and a version no rule names: a wildcard in the stamped set must be matched by a wildcard. */
const ANY_RESOURCE = 'levee-any-kind';
const ANY_VERSION = 'v9alpha9';
const SUBRESOURCES = ['status', 'scale', 'ephemeralcontainers', 'resize', 'binding', 'eviction', 'approval', 'levee-any-subresource'];

describe('manifests/components/webhooks: stamps', () => {
  it('sends /mutate every create and update of a kind /validate judges that can carry a stamp, under the same failure policy', () => {
    const { validating, mutating } = registrations();
    const judged = sent(validating.filter((webhook) => webhook.name !== STAMPS_BACKSTOP), '/validate');
    const mutated = sent(mutating, '/mutate');
    const missing: string[] = [];
    for (const [key, failurePolicy] of judged) {
      const [operation, resource] = key.split(' ') as [string, string];
      // A Scale object carries no annotations; a DELETE has no object to stamp.
      if (operation === 'DELETE' || resource.split('.')[0]!.includes('/')) continue;
      if (mutated.get(key) !== failurePolicy) missing.push(`${key} (${failurePolicy}; /mutate: ${mutated.get(key) ?? 'not sent'})`);
    }
    assert.deepEqual(missing, []);
  });

  it('fails closed on every write that changes a levee.dev/ annotation where /mutate is skipped or may be: Pods, Nodes, subresources, Bindings', () => {
    const backstop = registrations().validating.find((webhook) => webhook.name === STAMPS_BACKSTOP);
    assert.ok(backstop, `${STAMPS_BACKSTOP} is registered`);
    assert.equal(backstop.failurePolicy, 'Fail');
    const keys = [...sent([backstop], '/validate').keys()];
    for (const expected of ['CREATE pods.core/v1', 'UPDATE pods.core/v1', 'CREATE pods/binding.core/v1', 'CREATE bindings.core/v1', 'CREATE nodes.core/v1', 'UPDATE nodes.core/v1', 'UPDATE pods/*.core/*', 'UPDATE deployments/*.apps/*']) {
      assert.ok(keys.includes(expected), `${expected} in ${keys.join(', ')}`);
    }
  });

  it('takes kube-system: no /mutate entry does, so there the backstop alone stands between a forged record and levee', () => {
    const backstop = registrations().validating.find((webhook) => webhook.name === STAMPS_BACKSTOP)!;
    const excluded = (backstop.namespaceSelector?.matchExpressions ?? []).filter((e) => e.key === 'kubernetes.io/metadata.name' && e.operator === 'NotIn').flatMap((e) => e.values);
    assert.deepEqual(excluded, ['levee-system']);
    assert.ok((backstop.namespaceSelector?.matchExpressions ?? []).every((e) => e.operator === 'NotIn'), 'no other selector narrows it');
  });

  it('takes the creates of every kind levee judges in kube-system, where no /mutate entry drops a forged stamp and a refusal is only a warning', () => {
    const { validating, mutating } = registrations();
    const backstop = validating.find((webhook) => webhook.name === STAMPS_BACKSTOP)!;
    const inKubeSystem = (webhook: Webhook) => !(webhook.namespaceSelector?.matchExpressions ?? []).some((e) => e.key === 'kubernetes.io/metadata.name' && (e.operator === 'NotIn' ? e.values.includes('kube-system') : !e.values.includes('kube-system')));
    assert.ok(!mutating.some((webhook) => inKubeSystem(webhook) && webhook.rules.some((rule) => rule.scope !== 'Cluster')), 'a /mutate entry takes kube-system: then the backstop may not be alone there');
    const missing: string[] = [];
    for (const webhook of validating.filter((w) => w.name !== STAMPS_BACKSTOP && inKubeSystem(w))) {
      for (const rule of webhook.rules.filter((r) => r.operations.includes('CREATE') && r.scope !== 'Cluster')) {
        for (const group of rule.apiGroups) for (const version of rule.apiVersions) for (const resource of rule.resources) {
          const [parent, subresource = ''] = resource.split('/');
          if (!backstop.rules.some((each) => ruleMatches(each, 'CREATE', group, version, parent!, subresource))) missing.push(`CREATE ${resource}.${group || 'core'}/${version} (${webhook.name})`);
        }
      }
    }
    assert.ok(validating.some((webhook) => webhook.name !== STAMPS_BACKSTOP && inKubeSystem(webhook)), 'some entry judges kube-system');
    assert.deepEqual(missing, []);
  });

  it('takes every update of every kind levee reads a stamp or record from, its own writes and every subresource, in every version levee reads it in', () => {
    const backstop = registrations().validating.find((webhook) => webhook.name === STAMPS_BACKSTOP)!;
    const kinds = stampedKinds();
    // The list is derived, not restated: it holds the kinds the incidents are about.
    for (const key of ['pods.', 'nodes.', 'deployments.apps', 'statefulsets.apps', 'replicationcontrollers.', 'cronjobs.batch', 'horizontalpodautoscalers.autoscaling', 'nodepools.karpenter.sh', 'machinedeployments.cluster.x-k8s.io', '*.controlplane.cluster.x-k8s.io', 'azuremanagedcontrolplanes.infrastructure.cluster.x-k8s.io']) {
      assert.ok(kinds.has(key), `${key} is a kind levee reads stamps from (${[...kinds.keys()].join(', ')})`);
    }
    const missing: string[] = [];
    for (const kind of kinds.values()) {
      const resource = kind.resource === '*' ? ANY_RESOURCE : kind.resource;
      for (const declared of kind.versions) {
        const version = declared === '*' ? ANY_VERSION : declared;
        for (const subresource of ['', ...SUBRESOURCES]) {
          if (!backstop.rules.some((rule) => ruleMatches(rule, 'UPDATE', kind.group, version, resource, subresource))) {
            missing.push(`UPDATE ${kind.resource}${subresource ? `/${subresource}` : ''}.${kind.group || 'core'}/${declared} (read for ${[...kind.from].join(', ')})`);
          }
        }
      }
    }
    assert.deepEqual(missing, []);
  });

  it('takes nothing else: a levee.dev/ annotation on a kind no policy judges is nobody\'s record, so its writes cost the API server no condition', () => {
    const backstop = registrations().validating.find((webhook) => webhook.name === STAMPS_BACKSTOP)!;
    const kinds = stampedKinds();
    const stray: string[] = [];
    for (const rule of backstop.rules) {
      for (const group of rule.apiGroups) for (const resource of rule.resources) {
        if (group === '' && ['pods/binding', 'bindings'].includes(resource) && rule.operations.join() === 'CREATE') continue;
        const parent = resource.split('/')[0]!;
        const stamped = parent === '*' ? kinds.has(`*.${group}`) : kinds.has(`${parent}.${group}`) || kinds.has(`*.${group}`);
        if (group === '*' || !stamped) stray.push(`${resource}.${group || 'core'}`);
      }
    }
    assert.deepEqual(stray, []);
    for (const [group, resource] of [['', 'configmaps'], ['', 'secrets'], ['', 'events'], ['events.k8s.io', 'events'], ['', 'services'], ['', 'endpoints'], ['discovery.k8s.io', 'endpointslices'], ['', 'serviceaccounts'], ['', 'persistentvolumeclaims'], ['coordination.k8s.io', 'leases'], ['keda.sh', 'scaledjobs'], ['karpenter.sh', 'nodeclaims'], ['cluster.x-k8s.io', 'machinehealthchecks']] as const) {
      for (const subresource of ['', 'status']) {
        assert.ok(!backstop.rules.some((rule) => ruleMatches(rule, 'UPDATE', group, 'v1', resource, subresource)), `${resource}${subresource ? '/' + subresource : ''}.${group || 'core'} is sent to the backstop`);
      }
    }
  });

  it('sends /mutate nothing /validate does not judge', () => {
    const { validating, mutating } = registrations();
    const judged = sent(validating, '/validate');
    assert.deepEqual([...sent(mutating, '/mutate').keys()].filter((key) => !judged.has(key)), []);
  });

  it('the dev overlay (npm start, e2e) points every entry at levee on the host, on the entry\'s own path', () => {
    interface Patch { target: { kind: string }; patch: string }
    const overlay = yaml.load(readFileSync('manifests/overlays/dev/kustomization.yaml', 'utf8')) as { patches: Patch[] };
    const urls = new Map<string, string>();
    for (const { target, patch } of overlay.patches) {
      for (const op of yaml.load(patch) as Array<{ path: string; value: { url?: string } }>) {
        const index = /^\/webhooks\/(\d+)\/clientConfig$/.exec(op.path)?.[1];
        if (index !== undefined && op.value.url) urls.set(`${target.kind}/${index}`, new URL(op.value.url).pathname);
      }
    }
    const { validating, mutating } = registrations();
    const missing: string[] = [];
    for (const [kind, webhooks] of [['ValidatingWebhookConfiguration', validating], ['MutatingWebhookConfiguration', mutating]] as const) {
      webhooks.forEach((webhook, index) => {
        if (urls.get(`${kind}/${index}`) !== webhook.clientConfig.service?.path) missing.push(`${webhook.name}: ${urls.get(`${kind}/${index}`) ?? 'no URL'}`);
      });
    }
    assert.deepEqual(missing, []);
  });
});
