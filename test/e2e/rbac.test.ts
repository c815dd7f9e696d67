import assert from 'node:assert/strict';
import { e2e, eventually, kubectl } from '../support/e2e.js';
import { applyRbacOf, beyondEveryAccount as beyondFor, type RbacObject } from '../support/rbac-rights.js';

/**
 * What levee's ServiceAccount may do, asked of the real API server after manifests/base's RBAC
 * is applied: `kubectl auth can-i --list` shows every right it holds beyond what any
 * ServiceAccount has, and that list is exactly the one below; every call levee makes is
 * still granted, and the rights issue 18 found too broad are gone.
 */

const LEVEE = 'system:serviceaccount:levee-system:levee';
type Manifest = RbacObject;

const beyondEveryAccount = (namespace: string, user = LEVEE): Promise<string[]> => beyondFor(user, namespace);

// /livez, /readyz and /version themselves every account may get.
const CLUSTER_WIDE = [
  '[/readyz/*] | [] | [get]',
  'controllerrevisions.apps | [] | [] | [get list watch]',
  'clusterreports.openreports.io | [] | [] | [get list create update delete]',
  'cronjobs.batch | [] | [] | [get list watch]',
  'customresourcedefinitions.apiextensions.k8s.io | [] | [] | [get list watch]',
  'daemonsets.apps | [] | [] | [get list watch]',
  'deployments.apps | [] | [] | [get list watch]',
  'endpointslices.discovery.k8s.io | [] | [] | [get list watch]',
  'events | [] | [] | [create patch]',
  'horizontalpodautoscalers.autoscaling | [] | [] | [get list watch]',
  'httpscaledobjects.http.keda.sh | [] | [] | [get list watch]',
  'jobs.batch | [] | [] | [get list watch]',
  'mutatingwebhookconfigurations.admissionregistration.k8s.io | [] | [levee] | [get patch]',
  'leases.coordination.k8s.io | [] | [kube-controller-manager] | [get list watch]',
  'leases.coordination.k8s.io | [] | [kube-scheduler] | [get list watch]',
  'nodepools.karpenter.sh | [] | [] | [get list watch]',
  'nodes | [] | [] | [get list watch]',
  'pods | [] | [] | [get list watch]',
  'probeverdicts.levee.dev | [] | [] | [get create]',
  'probeverdicts.levee.dev/status | [] | [] | [patch]',
  'replicasets.apps | [] | [] | [get list watch]',
  'replicationcontrollers | [] | [] | [get list watch]',
  'reports.openreports.io | [] | [] | [get list create update delete]',
  'scaledobjects.keda.sh | [] | [] | [get list watch]',
  'services | [] | [] | [get list watch]',
  'statefulsets.apps | [] | [] | [get list watch]',
  'subjectaccessreviews.authorization.k8s.io | [] | [] | [create]',
  'validatingwebhookconfigurations.admissionregistration.k8s.io | [] | [levee] | [get patch]',
  '*.cluster.x-k8s.io | [] | [] | [get list watch]',
  '*.controlplane.cluster.x-k8s.io | [] | [] | [get list watch]',
  '*.infrastructure.cluster.x-k8s.io | [] | [] | [get list watch]',
];

// kubectl joins a resource's verbs across rules: deployments and services add create and delete
// here to the cluster-wide get, list and watch.
const IN_LEVEE_SYSTEM = [
  'configmaps | [] | [] | [get list create delete]',
  'deployments.apps | [] | [] | [get list watch create delete]',
  'leases.coordination.k8s.io | [] | [] | [create]',
  'leases.coordination.k8s.io | [] | [levee-probe] | [get update]',
  'namespaces | [] | [] | [get]',
  'secrets | [] | [levee-tls] | [get update]',
  'services | [] | [] | [get list watch create delete]',
];

describe('e2e: levee\'s RBAC (manifests/base), as the API server answers for its ServiceAccount', function () {
  this.timeout(120_000);
  let applied: Manifest[] = [];

  before(async function () {
    this.timeout(1_800_000);
    await e2e();
    applied = await applyRbacOf('manifests/base');
  });

  after(async () => {
    const remove = applied.filter((object) => object.metadata.name !== 'levee-override');
    await kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], { input: remove.map((object) => JSON.stringify(object)).join('\n') });
  });

  it('holds, cluster-wide, exactly what its caches, overrides, Events, verdict, Lease probes and its own webhook configurations\' caBundle need', async () => {
    const listed = await beyondEveryAccount('default');
    // Cluster API's wildcard rows read differently across kubectl versions; compare the rest exactly.
    const capi = (row: string) => row.includes('x-k8s.io');
    assert.deepEqual(listed.filter((row) => !capi(row)), CLUSTER_WIDE.filter((row) => !capi(row)).sort(), listed.join('\n'));
    for (const row of listed.filter(capi)) assert.match(row, /\| \[get list watch\]$/, row);
  });

  it('holds in levee-system only the probe\'s test objects, its own Lease and its certificates\' Secret, beside the cluster-wide rights', async () => {
    const [here, elsewhere] = await Promise.all([beyondEveryAccount('levee-system'), beyondEveryAccount('default')]);
    const only = here.filter((row) => !elsewhere.includes(row));
    assert.deepEqual(only, [...IN_LEVEE_SYSTEM].sort(), here.join('\n'));
  });

  it('may make every call levee makes', async () => {
    const granted = async (...args: string[]) => (await kubectl(['auth', 'can-i', ...args, '--as', LEVEE])).stdout.trim();
    for (const call of [
      ['watch', 'deployments.apps', '--all-namespaces'],
      ['watch', 'nodes'],
      ['watch', 'endpointslices.discovery.k8s.io', '--all-namespaces'],
      ['watch', 'customresourcedefinitions.apiextensions.k8s.io'],
      ['create', 'subjectaccessreviews.authorization.k8s.io'],
      ['create', 'events', '-n', 'payments'],
      ['patch', 'events', '-n', 'payments'],
      ['patch', 'probeverdicts.levee.dev/cluster', '--subresource=status'],
      ['create', 'probeverdicts.levee.dev'],
      // The API server authorizes a read of a Namespace as a request in that namespace.
      ['get', 'namespaces/levee-system', '-n', 'levee-system'],
      ['update', 'reports.openreports.io/levee', '-n', 'payments'],
      ['delete', 'reports.openreports.io/levee', '-n', 'payments'],
      ['list', 'reports.openreports.io', '--all-namespaces'],
      ['create', 'clusterreports.openreports.io'],
      ['get', 'leases.coordination.k8s.io/kube-scheduler', '-n', 'kube-system'],
      ['watch', 'leases.coordination.k8s.io/kube-controller-manager', '-n', 'kube-system'],
      ['create', 'leases.coordination.k8s.io', '-n', 'levee-system'],
      ['update', 'leases.coordination.k8s.io/levee-probe', '-n', 'levee-system'],
      ['create', 'configmaps', '-n', 'levee-system'],
      ['delete', 'deployments.apps', '-n', 'levee-system'],
      ['get', 'secrets/levee-tls', '-n', 'levee-system'],
      ['update', 'secrets/levee-tls', '-n', 'levee-system'],
      ['get', 'validatingwebhookconfigurations.admissionregistration.k8s.io/levee'],
      ['patch', 'mutatingwebhookconfigurations.admissionregistration.k8s.io/levee'],
    ]) {
      assert.equal(await granted(...call), 'yes', `can-i ${call.join(' ')}`);
    }
  });

  it('may not write any workload, edit its own Deployment, ConfigMap or RBAC, nor read other Leases or Secrets, nor touch other webhook configurations', async () => {
    const granted = async (...args: string[]) => (await kubectl(['auth', 'can-i', ...args, '--as', LEVEE])).stdout.trim();
    for (const call of [
      ['patch', 'deployments.apps', '--all-namespaces'],
      ['patch', 'statefulsets.apps', '-n', 'payments'],
      ['patch', 'replicasets.apps', '-n', 'payments'],
      ['patch', 'replicationcontrollers', '-n', 'payments'],
      ['update', 'deployments.apps/scale', '-n', 'payments'],
      ['update', 'deployments.apps/levee', '-n', 'levee-system'],
      ['patch', 'deployments.apps/levee', '-n', 'levee-system'],
      ['update', 'configmaps/levee-config', '-n', 'levee-system'],
      ['patch', 'configmaps/levee-config', '-n', 'levee-system'],
      ['update', 'clusterroles.rbac.authorization.k8s.io/levee'],
      ['create', 'rolebindings.rbac.authorization.k8s.io', '-n', 'levee-system'],
      ['update', 'serviceaccounts/levee', '-n', 'levee-system'],
      ['list', 'leases.coordination.k8s.io', '-n', 'kube-system'],
      ['get', 'leases.coordination.k8s.io/some-controller', '-n', 'kube-system'],
      ['get', 'leases.coordination.k8s.io', '-n', 'default'],
      ['update', 'leases.coordination.k8s.io/another-lease', '-n', 'levee-system'],
      ['get', 'secrets', '-n', 'levee-system'],
      ['create', 'secrets', '-n', 'levee-system'],
      ['get', 'secrets/levee-probe', '-n', 'levee-system'],
      ['delete', 'secrets/levee-tls', '-n', 'levee-system'],
      ['get', 'secrets/levee-tls', '-n', 'default'],
      ['update', 'validatingwebhookconfigurations.admissionregistration.k8s.io/levee'],
      ['list', 'mutatingwebhookconfigurations.admissionregistration.k8s.io'],
      ['patch', 'validatingwebhookconfigurations.admissionregistration.k8s.io/gatekeeper-validating-webhook-configuration'],
      ['delete', 'mutatingwebhookconfigurations.admissionregistration.k8s.io/levee'],
      ['list', 'namespaces'],
      ['get', 'namespaces/default'],
      ['get', 'namespaces/kube-system', '-n', 'kube-system'],
      ['update', 'namespaces/levee-system', '-n', 'levee-system'],
      ['update', 'probeverdicts.levee.dev/cluster'],
      ['watch', 'probeverdicts.levee.dev'],
      ['get', '/livez/etcd'],
      ['create', 'configmaps', '-n', 'default'],
      ['create', 'pods', '-n', 'levee-system'],
      ['patch', 'reports.openreports.io', '-n', 'payments'],
      ['watch', 'reports.openreports.io', '--all-namespaces'],
      ['deletecollection', 'reports.openreports.io', '-n', 'payments'],
    ]) {
      assert.equal(await granted(...call), 'no', `can-i ${call.join(' ')}`);
    }
  });

  it('reads the control-plane Leases the way the probe does, by name, but may not list the namespace\'s Leases', async () => {
    const byName = await kubectl(['get', 'leases', '-n', 'kube-system', '--field-selector', 'metadata.name=kube-scheduler', '--as', LEVEE]);
    assert.equal(byName.code, 0, byName.stderr);
    const all = await kubectl(['get', 'leases', '-n', 'kube-system', '--as', LEVEE]);
    assert.notEqual(all.code, 0);
    assert.match(all.stderr, /forbidden/i);
  });
});

const FLEET = 'system:serviceaccount:levee-system:levee-fleet';
const FLEET_MEMBER = 'levee-rbac-test-member';

describe('e2e: the fleet probe\'s RBAC in the hub (manifests/fleet), as the API server answers for its ServiceAccount', function () {
  this.timeout(120_000);
  let applied: Manifest[] = [];

  before(async function () {
    this.timeout(1_800_000);
    await e2e();
    applied = await applyRbacOf('manifests/fleet');
  });

  after(async () => {
    await kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], { input: applied.map((object) => JSON.stringify(object)).join('\n') });
    await kubectl(['delete', '--ignore-not-found', '-f', 'manifests/fleet/admission-policy.yaml']);
    await kubectl(['delete', 'probeverdict', FLEET_MEMBER, '--ignore-not-found']);
  });

  it('may write a member\'s ProbeVerdict status, but never the hub\'s own `cluster` (manifests/fleet/admission-policy.yaml)', async () => {
    const policy = await kubectl(['apply', '-f', 'manifests/fleet/admission-policy.yaml']);
    assert.equal(policy.code, 0, policy.stderr);
    const member = await kubectl(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'levee.dev/v1alpha1', kind: 'ProbeVerdict', metadata: { name: FLEET_MEMBER }, spec: {} }) });
    assert.equal(member.code, 0, member.stderr);
    // Dry runs: admitted or refused exactly as the real write, and the harness's own verdict is left alone.
    const patchAs = (name: string) => kubectl(['patch', 'probeverdict', name, '--subresource=status', '--type=merge', '-p', '{"status":{"verdict":"Healthy"}}', '--dry-run=server', '--as', FLEET]);
    await eventually('the policy to refuse the fleet probe\'s write of `cluster`', async () => {
      const own = await patchAs('cluster');
      return (own.code !== 0 && /never the hub's own `cluster`/.test(own.stderr)) || `exit ${own.code}: ${own.stderr.trim()}`;
    });
    const allowed = await patchAs(FLEET_MEMBER);
    assert.equal(allowed.code, 0, allowed.stderr);
    const create = await kubectl(['create', '-f', '-', '--dry-run=server', '--as', FLEET], { input: JSON.stringify({ apiVersion: 'levee.dev/v1alpha1', kind: 'ProbeVerdict', metadata: { name: 'cluster' }, spec: {} }) });
    assert.notEqual(create.code, 0);
    assert.match(create.stderr, /never the hub's own `cluster`|already exists/);
    // Anyone else (the hub's own levee, here the admin) still writes `cluster`.
    const admin = await kubectl(['patch', 'probeverdict', 'cluster', '--subresource=status', '--type=merge', '-p', '{"status":{"verdict":"Healthy"}}', '--dry-run=server']);
    assert.equal(admin.code, 0, admin.stderr);
  });

  it('holds, cluster-wide, only reading and creating ProbeVerdicts and patching their status', async () => {
    assert.deepEqual(await beyondEveryAccount('kube-public', FLEET), [
      'probeverdicts.levee.dev | [] | [] | [get create]',
      'probeverdicts.levee.dev/status | [] | [] | [get patch]',
    ]);
  });

  it('holds in default only creating Events (about cluster-scoped objects they must be there), and in levee-system only its own Lease', async () => {
    const [elsewhere, inDefault, inLeveeSystem] = await Promise.all(['kube-public', 'default', 'levee-system'].map((namespace) => beyondEveryAccount(namespace, FLEET)));
    assert.deepEqual(inDefault!.filter((row) => !elsewhere!.includes(row)), ['events | [] | [] | [create]']);
    assert.deepEqual(inLeveeSystem!.filter((row) => !elsewhere!.includes(row)), [
      'leases.coordination.k8s.io | [] | [] | [create]',
      'leases.coordination.k8s.io | [] | [levee-fleet] | [get update]',
    ]);
  });

  it('may not list, delete or edit ProbeVerdicts, nor read anything else of the hub, write Events elsewhere, nor renew another Lease', async () => {
    const granted = async (...args: string[]) => (await kubectl(['auth', 'can-i', ...args, '--as', FLEET])).stdout.trim();
    for (const call of [
      ['list', 'probeverdicts.levee.dev'],
      ['watch', 'probeverdicts.levee.dev'],
      ['delete', 'probeverdicts.levee.dev/edge'],
      ['update', 'probeverdicts.levee.dev/edge'],
      ['patch', 'probeverdicts.levee.dev/edge'],
      ['get', 'nodes'],
      ['list', 'pods', '--all-namespaces'],
      ['get', 'secrets', '-n', 'levee-system'],
      ['list', 'namespaces'],
      ['get', 'namespaces/default'],
      ['update', 'probeverdicts.levee.dev/cluster'],
      ['watch', 'probeverdicts.levee.dev'],
      ['get', '/livez/etcd'],
      ['create', 'events', '-n', 'levee-system'],
      ['patch', 'events', '-n', 'default'],
      ['update', 'leases.coordination.k8s.io/levee-probe', '-n', 'levee-system'],
      ['get', 'leases.coordination.k8s.io/kube-scheduler', '-n', 'kube-system'],
    ]) {
      assert.equal(await granted(...call), 'no', `can-i ${call.join(' ')}`);
    }
  });
});
