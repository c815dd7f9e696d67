import assert from 'node:assert/strict';
import { parseAllDocuments, stringify } from 'yaml';
import { e2e, eventually, kubectl } from '../support/e2e.js';

/**
 * The production install on a real API server. kwok runs the pods (the image is never
 * pulled), so the Deployment really becomes available. The webhook registrations are
 * checked by server dry-run only: registered for real they would send this shared test
 * cluster's requests to pods whose addresses are fake.
 */

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

async function renderBase(): Promise<Manifest[]> {
  const rendered = await kubectl(['kustomize', 'manifests/base']);
  assert.equal(rendered.code, 0, rendered.stderr);
  return parseAllDocuments(rendered.stdout).map((doc) => doc.toJSON() as Manifest).filter(Boolean);
}

const isRegistration = (object: Manifest): boolean => object.kind.endsWith('WebhookConfiguration');

describe('e2e: the production install (manifests/base)', function () {
  this.timeout(180_000);
  let objects: Manifest[] = [];

  before(async function () {
    this.timeout(1_800_000);
    await e2e();
    objects = await renderBase();
    // A server dry-run cannot create a namespace and use it in one apply.
    await kubectl(['create', 'namespace', 'levee-system']);
  });

  after(async () => {
    // levee-system, the CRD and levee-override stay: the e2e levee uses them too.
    const remove = objects.filter((o) => !['Namespace', 'CustomResourceDefinition'].includes(o.kind) && o.metadata.name !== 'levee-override' && !isRegistration(o));
    await kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], { input: remove.map((o) => stringify(o)).join('---\n') });
  });

  it('renders every part the install needs', () => {
    const kinds = new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`));
    for (const part of [
      'Namespace/levee-system', 'ServiceAccount/levee', 'ClusterRole/levee', 'ClusterRoleBinding/levee', 'Role/levee-probe',
      'ClusterRole/levee-override', 'CustomResourceDefinition/probeverdicts.levee.dev', 'Deployment/levee', 'Service/levee',
      'PodDisruptionBudget/levee', 'ValidatingWebhookConfiguration/levee', 'MutatingWebhookConfiguration/levee',
    ]) {
      assert.ok(kinds.has(part), `manifests/base lacks ${part}`);
    }
  });

  it('passes `kubectl apply -k manifests/base --dry-run=server`', async () => {
    const result = await kubectl(['apply', '-k', 'manifests/base', '--dry-run=server']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /validatingwebhookconfiguration\.admissionregistration\.k8s\.io\/levee (created|configured|unchanged) \(server dry run\)/);
  });

  it('applies for real (all but the registrations) and the Deployment becomes available with 2 replicas', async () => {
    const result = await kubectl(['apply', '-f', '-'], { input: objects.filter((o) => !isRegistration(o)).map((o) => stringify(o)).join('---\n') });
    assert.equal(result.code, 0, result.stderr);
    await eventually('levee-system/levee to have 2 available replicas', async () => {
      const status = await kubectl(['get', 'deployment', 'levee', '-n', 'levee-system', '-o', 'jsonpath={.status.availableReplicas}']);
      return status.stdout === '2' || `available: ${status.stdout || 0} ${status.stderr}`;
    }, 120_000);
    const pods = await kubectl(['get', 'pods', '-n', 'levee-system', '-l', 'app.kubernetes.io/component=webhook', '-o', 'jsonpath={.items[*].spec.nodeName}']);
    const nodes = pods.stdout.split(' ').filter(Boolean);
    assert.equal(new Set(nodes).size, nodes.length, `anti-affinity should spread the replicas: ${pods.stdout}`);
  });

  it('runs both containers non-root, read-only, without privilege escalation', async () => {
    const result = await kubectl(['get', 'deployment', 'levee', '-n', 'levee-system', '-o', 'json']);
    const spec = (JSON.parse(result.stdout) as { spec: { template: { spec: { securityContext: { runAsNonRoot: boolean }; containers: Array<{ name: string; securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean } }> } } } }).spec.template.spec;
    assert.equal(spec.securityContext.runAsNonRoot, true);
    assert.deepEqual(spec.containers.map((c) => c.name), ['serve', 'probe']);
    for (const container of spec.containers) {
      assert.equal(container.securityContext.readOnlyRootFilesystem, true);
      assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    }
  });

  it('gives the levee ServiceAccount what the caches and overrides need, and no more', async () => {
    const as = ['--as', 'system:serviceaccount:levee-system:levee'];
    const can = async (...args: string[]) => (await kubectl(['auth', 'can-i', ...args, ...as])).stdout.trim();
    assert.equal(await can('watch', 'endpointslices.discovery.k8s.io', '--all-namespaces'), 'yes');
    assert.equal(await can('create', 'subjectaccessreviews.authorization.k8s.io'), 'yes');
    assert.equal(await can('patch', 'probeverdicts.levee.dev'), 'yes');
    assert.equal(await can('get', 'secrets', '--all-namespaces'), 'no');
    assert.equal(await can('delete', 'deployments', '-n', 'default'), 'no');
    assert.equal(await can('create', 'configmaps', '-n', 'levee-system'), 'yes');
    assert.equal(await can('create', 'configmaps', '-n', 'default'), 'no');
  });
});
