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
  matchConditions?: Array<{ name: string; expression: string }>;
  rules: Rule[];
}
interface WebhookConfiguration {
  kind: string;
  webhooks: Webhook[];
}

/** The entries that take writes for their levee.dev/ annotations alone (Pods, Nodes, Bindings; kube-system). */
const STAMP_ONLY = ['validate-levee-annotations.levee.dev', 'validate-kube-system-annotations.levee.dev'];
const isJudging = (webhook: Webhook): boolean => !STAMP_ONLY.includes(webhook.name);

/** The test for a write that adds, changes or removes a levee.dev/ annotation, as validate-levee-annotations carries it. */
function annotationTest(validating: Webhook[]): string {
  const expression = validating.find((webhook) => webhook.name === STAMP_ONLY[0])?.matchConditions?.find((condition) => condition.name === 'levee-annotation-changes')?.expression;
  assert.ok(expression, `${STAMP_ONLY[0]} carries levee-annotation-changes`);
  return expression;
}

/**
 * The entries that stand between a forged stamp and levee: they fail closed, send /validate,
 * and every one of their conditions lets through a write that changes a levee.dev/ annotation
 * (the test is OR-ed last into each; test/policies/backstop-match.test.ts runs the API
 * server's matcher over such writes).
 */
function stampGuards(validating: Webhook[]): Webhook[] {
  const test = annotationTest(validating).replace(/\s+/g, ' ');
  return validating.filter((webhook) =>
    webhook.failurePolicy === 'Fail' && webhook.clientConfig.service?.path === '/validate' &&
    (webhook.matchConditions ?? []).length > 0 &&
    (webhook.matchConditions ?? []).every((condition) => {
      const expression = condition.expression.replace(/\s+/g, ' ').trim();
      return expression === test || expression.endsWith(`|| ${test}`);
    }));
}

/** Whether an entry's namespaceSelector takes `namespace` (the API server labels each namespace kubernetes.io/metadata.name); a cluster-scoped write ('') is never skipped. */
function takesNamespace(webhook: Webhook, namespace: string): boolean {
  if (namespace === '') return true;
  return (webhook.namespaceSelector?.matchExpressions ?? []).every((expression) => {
    assert.equal(expression.key, 'kubernetes.io/metadata.name', `${webhook.name}: a namespace selector on ${expression.key}`);
    if (expression.operator === 'In') return expression.values.includes(namespace);
    assert.equal(expression.operator, 'NotIn', `${webhook.name}: operator ${expression.operator}`);
    return !expression.values.includes(namespace);
  });
}

/** Whether a rule's scope takes a write in `namespace` ('' for a cluster-scoped object). */
const scopeTakes = (rule: Rule, namespace: string): boolean => (rule.scope ?? '*') === '*' || rule.scope === (namespace === '' ? 'Cluster' : 'Namespaced');

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
  /** Where its objects live: in namespaces, cluster-scoped, or (a wildcard) either. */
  scopes: Set<'Namespaced' | 'Cluster'>;
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
  const add = (group: string, resource: string, version: string, scope: string | undefined, from: string) => {
    const key = `${resource}.${group}`;
    const kind = kinds.get(key) ?? { group, resource, versions: new Set<string>(), scopes: new Set<'Namespaced' | 'Cluster'>(), from: new Set<string>() };
    kind.versions.add(version);
    if (scope !== 'Cluster') kind.scopes.add('Namespaced');
    if (scope !== 'Namespaced') kind.scopes.add('Cluster');
    kind.from.add(from);
    kinds.set(key, kind);
  };
  for (const webhook of [...validating.filter(isJudging), ...mutating]) {
    for (const rule of webhook.rules) {
      for (const group of rule.apiGroups) for (const version of rule.apiVersions) for (const resource of rule.resources) add(group, resource.split('/')[0]!, version, rule.scope, webhook.name);
    }
  }
  for (const policy of POLICIES) for (const kind of policy.kinds) add(kind.group, kind.resource, kind.version, kind.namespaced ? 'Namespaced' : 'Cluster', policy.id);
  return kinds;
}

/**
 * The API server's rule matching (k8s.io/apiserver rules.Matcher) for one group, version,
 * resource and subresource: a pattern's subresource `*` matches the resource itself too.
 */
function ruleMatches(rule: Rule, operation: string, group: string, version: string, resource: string, subresource: string): boolean {
  const has = (values: string[], value: string) => values.includes('*') || values.includes(value);
  const resourceMatches = rule.resources.some((pattern) => {
    const [patternResource, patternSubresource = ''] = pattern.split('/');
    return (patternResource === '*' || patternResource === resource) && (patternSubresource === '*' || patternSubresource === subresource);
  });
  return has(rule.operations, operation) && has(rule.apiGroups, group) && has(rule.apiVersions, version) && resourceMatches;
}

/** The guards that take `operation` of `resource/subresource` in `namespace` ('' for cluster-scoped). */
function guardsTaking(guards: Webhook[], operation: string, group: string, version: string, resource: string, subresource: string, namespace: string): Webhook[] {
  return guards.filter((webhook) => takesNamespace(webhook, namespace) &&
    webhook.rules.some((rule) => scopeTakes(rule, namespace) && ruleMatches(rule, operation, group, version, resource, subresource)));
}

/** A resource name and a version no rule names: a wildcard in the stamped set must be matched by a wildcard. */
const ANY_RESOURCE = 'levee-any-kind';
const ANY_VERSION = 'v9alpha9';
const SUBRESOURCES = ['status', 'scale', 'ephemeralcontainers', 'resize', 'binding', 'eviction', 'approval', 'levee-any-subresource'];

describe('manifests/components/webhooks: stamps', () => {
  it('sends /mutate every create and update of a kind /validate judges that can carry a stamp, under the same failure policy', () => {
    const { validating, mutating } = registrations();
    const judged = sent(validating.filter(isJudging), '/validate');
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

  it('the stamp guards: validate.levee.dev and the two stamp-only entries fail closed, and each of their conditions lets a levee.dev/ annotation change through', () => {
    const { validating } = registrations();
    assert.deepEqual(stampGuards(validating).map((webhook) => webhook.name).sort(), ['validate-kube-system-annotations.levee.dev', 'validate-levee-annotations.levee.dev', 'validate.levee.dev']);
    // The test is the same text everywhere: one copy changed alone would be caught here.
    const test = annotationTest(validating);
    assert.match(test, /startsWith\('levee\.dev\/'\)/);
  });

  it('a guard takes Pods, Nodes, their subresources and Bindings in every namespace but levee\'s, kube-system included', () => {
    const guards = stampGuards(registrations().validating);
    const missing: string[] = [];
    for (const namespace of ['shop', 'kube-system']) {
      for (const [operation, resource, subresource] of [['CREATE', 'pods', ''], ['UPDATE', 'pods', ''], ['UPDATE', 'pods', 'status'], ['UPDATE', 'pods', 'ephemeralcontainers'], ['UPDATE', 'pods', 'resize'], ['CREATE', 'pods', 'binding'], ['CREATE', 'bindings', '']] as const) {
        if (guardsTaking(guards, operation, '', 'v1', resource, subresource, namespace).length === 0) missing.push(`${operation} ${resource}${subresource ? `/${subresource}` : ''} in ${namespace}`);
      }
    }
    for (const [operation, subresource] of [['CREATE', ''], ['UPDATE', ''], ['UPDATE', 'status']] as const) {
      if (guardsTaking(guards, operation, '', 'v1', 'nodes', subresource, '').length === 0) missing.push(`${operation} nodes${subresource ? `/${subresource}` : ''}`);
    }
    assert.deepEqual(missing, []);
    assert.deepEqual(guardsTaking(guards, 'UPDATE', '', 'v1', 'pods', 'status', 'levee-system').map((webhook) => webhook.name), [], 'levee\'s own namespace is never sent to levee');
  });

  it('takes the creates of every kind levee judges in kube-system, where no /mutate entry drops a forged stamp and a refusal is only a warning', () => {
    const { validating, mutating } = registrations();
    const guards = stampGuards(validating);
    assert.ok(!mutating.some((webhook) => takesNamespace(webhook, 'kube-system') && webhook.rules.some((rule) => rule.scope !== 'Cluster')), 'a /mutate entry takes kube-system: then the guards may not be alone there');
    const judgingKubeSystem = validating.filter((webhook) => isJudging(webhook) && takesNamespace(webhook, 'kube-system'));
    assert.ok(judgingKubeSystem.length > 0, 'some entry judges kube-system');
    const missing: string[] = [];
    for (const webhook of judgingKubeSystem) {
      for (const rule of webhook.rules.filter((r) => r.operations.includes('CREATE') && r.scope !== 'Cluster')) {
        for (const group of rule.apiGroups) for (const version of rule.apiVersions) for (const resource of rule.resources) {
          const [parent, subresource = ''] = resource.split('/');
          if (guardsTaking(guards, 'CREATE', group, version, parent!, subresource, 'kube-system').length === 0) missing.push(`CREATE ${resource}.${group || 'core'}/${version} (${webhook.name})`);
        }
      }
    }
    assert.deepEqual(missing, []);
  });

  it('a guard takes every create of every namespaced kind levee reads a stamp or record from, in every version levee reads it in, in kube-system and elsewhere', () => {
    // validate.levee.dev takes every create outside kube-system; in kube-system no /mutate entry
    // drops a forged record first, and a record there is read as anywhere else (levee audit).
    const guards = stampGuards(registrations().validating);
    const missing: string[] = [];
    for (const kind of stampedKinds().values()) {
      if (!kind.scopes.has('Namespaced')) continue;
      const resource = kind.resource === '*' ? ANY_RESOURCE : kind.resource;
      for (const declared of kind.versions) {
        for (const namespace of ['shop', 'kube-system']) {
          if (guardsTaking(guards, 'CREATE', kind.group, declared === '*' ? ANY_VERSION : declared, resource, '', namespace).length === 0) {
            missing.push(`CREATE ${kind.resource}.${kind.group || 'core'}/${declared} in ${namespace} (read for ${[...kind.from].join(', ')})`);
          }
        }
      }
    }
    assert.deepEqual(missing, []);
  });

  it('a guard takes every update of every kind levee reads a stamp or record from, its own writes and every subresource, in every version levee reads it in, in kube-system and elsewhere', () => {
    const guards = stampGuards(registrations().validating);
    const kinds = stampedKinds();
    // The list is derived, not restated: it holds the kinds the incidents are about.
    for (const key of ['pods.', 'nodes.', 'deployments.apps', 'statefulsets.apps', 'replicationcontrollers.', 'cronjobs.batch', 'horizontalpodautoscalers.autoscaling', 'nodepools.karpenter.sh', 'machinedeployments.cluster.x-k8s.io', '*.controlplane.cluster.x-k8s.io', 'azuremanagedcontrolplanes.infrastructure.cluster.x-k8s.io']) {
      assert.ok(kinds.has(key), `${key} is a kind levee reads stamps from (${[...kinds.keys()].join(', ')})`);
    }
    assert.deepEqual([...kinds.get('nodepools.karpenter.sh')!.scopes], ['Cluster']);
    const missing: string[] = [];
    for (const kind of kinds.values()) {
      const resource = kind.resource === '*' ? ANY_RESOURCE : kind.resource;
      const namespaces = [...(kind.scopes.has('Namespaced') ? ['shop', 'kube-system'] : []), ...(kind.scopes.has('Cluster') ? [''] : [])];
      for (const declared of kind.versions) {
        const version = declared === '*' ? ANY_VERSION : declared;
        for (const subresource of ['', ...SUBRESOURCES]) {
          for (const namespace of namespaces) {
            if (guardsTaking(guards, 'UPDATE', kind.group, version, resource, subresource, namespace).length === 0) {
              missing.push(`UPDATE ${kind.resource}${subresource ? `/${subresource}` : ''}.${kind.group || 'core'}/${declared} in ${namespace || 'no namespace'} (read for ${[...kind.from].join(', ')})`);
            }
          }
        }
      }
    }
    assert.deepEqual(missing, []);
  });

  it('a write is converted for at most one guard: no two guards take the same create or update, so the API server converts a judged write for them once', () => {
    const guards = stampGuards(registrations().validating);
    const twice: string[] = [];
    for (const kind of stampedKinds().values()) {
      const resource = kind.resource === '*' ? ANY_RESOURCE : kind.resource;
      const namespaces = [...(kind.scopes.has('Namespaced') ? ['shop', 'kube-system'] : []), ...(kind.scopes.has('Cluster') ? [''] : [])];
      for (const declared of kind.versions) {
        for (const subresource of ['', ...SUBRESOURCES]) {
          for (const namespace of namespaces) {
            for (const operation of subresource ? ['UPDATE'] : ['CREATE', 'UPDATE']) {
              const taking = guardsTaking(guards, operation, kind.group, declared === '*' ? ANY_VERSION : declared, resource, subresource, namespace);
              if (taking.length > 1) twice.push(`${operation} ${kind.resource}${subresource ? `/${subresource}` : ''}.${kind.group || 'core'}/${declared} in ${namespace || 'no namespace'}: ${taking.map((webhook) => webhook.name).join(', ')}`);
            }
          }
        }
      }
    }
    assert.deepEqual(twice, []);
  });

  it('the stamp-only entries take nothing else: a levee.dev/ annotation on a kind no policy judges is nobody\'s record, so its writes cost the API server no condition', () => {
    const { validating } = registrations();
    const stampOnly = validating.filter((webhook) => !isJudging(webhook));
    assert.equal(stampOnly.length, STAMP_ONLY.length);
    const kinds = stampedKinds();
    const stray: string[] = [];
    for (const rule of stampOnly.flatMap((webhook) => webhook.rules)) {
      for (const group of rule.apiGroups) for (const resource of rule.resources) {
        if (group === '' && ['pods/binding', 'bindings'].includes(resource) && rule.operations.join() === 'CREATE') continue;
        const parent = resource.split('/')[0]!;
        const stamped = parent === '*' ? kinds.has(`*.${group}`) : kinds.has(`${parent}.${group}`) || kinds.has(`*.${group}`);
        if (group === '*' || !stamped) stray.push(`${resource}.${group || 'core'}`);
      }
    }
    assert.deepEqual(stray, []);
    const guards = stampGuards(validating);
    for (const [group, resource] of [['', 'configmaps'], ['', 'secrets'], ['', 'events'], ['events.k8s.io', 'events'], ['', 'services'], ['', 'endpoints'], ['discovery.k8s.io', 'endpointslices'], ['', 'serviceaccounts'], ['', 'persistentvolumeclaims'], ['coordination.k8s.io', 'leases'], ['keda.sh', 'scaledjobs'], ['karpenter.sh', 'nodeclaims'], ['cluster.x-k8s.io', 'machinehealthchecks']] as const) {
      for (const subresource of ['', 'status']) {
        for (const namespace of ['shop', 'kube-system', '']) {
          const taking = guardsTaking(guards, 'UPDATE', group, 'v1', resource, subresource, namespace);
          assert.deepEqual(taking.map((webhook) => webhook.name), [], `${resource}${subresource ? '/' + subresource : ''}.${group || 'core'} in ${namespace || 'no namespace'} is sent to a guard`);
        }
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
