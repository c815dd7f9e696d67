import assert from 'node:assert/strict';
import { minimalCrd } from '../support/crds.js';
import { e2e, eventually, kubectl } from '../support/e2e.js';

/**
 * The ride-hailing incident replayed on a real API server, through Cluster API objects:
 * a workload cluster `prod` whose control plane and workers run v1.20.2. The Cluster API
 * CRDs are installed only after levee started (as they usually are), so levee must notice
 * them, start watching, and then refuse the downgrade, the workers running ahead and the
 * minor skip, while allowing the one-minor upgrade.
 */

const namespace = `ridehail-${Date.now().toString(36)}`;

const CRDS = [
  { name: 'kubeadmcontrolplanes.controlplane.cluster.x-k8s.io', manifest: minimalCrd('controlplane.cluster.x-k8s.io', 'KubeadmControlPlane', 'kubeadmcontrolplanes') },
  { name: 'machinedeployments.cluster.x-k8s.io', manifest: minimalCrd('cluster.x-k8s.io', 'MachineDeployment', 'machinedeployments') },
];

function kcp(version: string, apiVersion = 'controlplane.cluster.x-k8s.io/v1beta2'): string {
  return JSON.stringify({
    apiVersion,
    kind: 'KubeadmControlPlane',
    metadata: { name: 'prod-control-plane', namespace, labels: { 'cluster.x-k8s.io/cluster-name': 'prod' } },
    spec: { replicas: 3, version },
  });
}

function machineDeployment(version: string): string {
  return JSON.stringify({
    apiVersion: 'cluster.x-k8s.io/v1beta2',
    kind: 'MachineDeployment',
    metadata: { name: 'prod-md-0', namespace },
    spec: { clusterName: 'prod', replicas: 3, template: { spec: { clusterName: 'prod', version } } },
  });
}

async function stored(resource: string, name: string, path: string): Promise<string> {
  const result = await kubectl(['get', resource, name, '-n', namespace, '-o', `jsonpath={${path}}`]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

const patchVersion = (resource: string, name: string, patch: unknown, ...extra: string[]) =>
  kubectl(['patch', resource, name, '-n', namespace, '--type=merge', '-p', JSON.stringify(patch), ...extra]);

describe('e2e: version-skew (the ride-hailing replay)', function () {
  this.timeout(240_000);

  before(async function () {
    this.timeout(1_800_000);
    await e2e();
    for (const { manifest } of CRDS) assert.equal((await kubectl(['apply', '-f', '-'], { input: manifest })).code, 0);
    const established = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...CRDS.map(({ name }) => `crd/${name}`)]);
    assert.equal(established.code, 0, established.stderr);
    assert.equal((await kubectl(['create', 'namespace', namespace])).code, 0);
    const created = await kubectl(['apply', '-f', '-'], { input: `${kcp('v1.20.2')}\n${machineDeployment('v1.20.2')}` });
    assert.equal(created.code, 0, created.stderr);
    // levee starts watching the new kinds once their CRDs are established; the downgrade is
    // refused as soon as it knows the workers.
    await eventually(
      'levee to watch the Cluster API kinds and know the workers of prod',
      async () => {
        const probe = await patchVersion('kubeadmcontrolplane', 'prod-control-plane', { spec: { version: 'v1.12.10' } }, '--dry-run=server');
        return /control-plane-older-than-workers/.test(probe.stderr) || probe.stdout + probe.stderr;
      },
      30_000,
    );
  });

  after(async () => {
    await kubectl(['delete', 'namespace', namespace, '--wait=false']);
    await kubectl(['delete', 'crd', ...CRDS.map(({ name }) => name), '--ignore-not-found', '--wait=false']);
  });

  it('refuses the control plane downgrade below its workers, quoting both versions, and stores nothing', async () => {
    const result = await patchVersion('kubeadmcontrolplane', 'prod-control-plane', { spec: { version: 'v1.12.10' } });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /admission webhook "validate\.levee\.dev" denied the request/);
    assert.match(result.stderr, /\[version-skew\] KubeadmControlPlane [\w-]+\/prod-control-plane of cluster prod: control plane v1\.12\.10 would be older than workers at v1\.20\.2 \(rule control-plane-older-than-workers\)/);
    assert.match(result.stderr, /control plane downgrade from v1\.20\.2 to v1\.12\.10 \(rule control-plane-downgrade\)/);
    assert.equal(await stored('kubeadmcontrolplane', 'prod-control-plane', '.spec.version'), 'v1.20.2');
  });

  it('refuses workers newer than their control plane', async () => {
    const result = await patchVersion('machinedeployment', 'prod-md-0', { spec: { template: { spec: { version: 'v1.21.0' } } } });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /workers v1\.21\.0 would be newer than the control plane at v1\.20\.2 \(rule workers-newer-than-control-plane\)/);
    assert.equal(await stored('machinedeployment', 'prod-md-0', '.spec.template.spec.version'), 'v1.20.2');
  });

  it('refuses a control plane upgrade that skips minors', async () => {
    const result = await patchVersion('kubeadmcontrolplane', 'prod-control-plane', { spec: { version: 'v1.24.0' } });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /from v1\.20\.2 to v1\.24\.0 skips 3 minor version\(s\) \(rule minor-skip\); upgrade one minor at a time: v1\.21\.x first/);
    assert.equal(await stored('kubeadmcontrolplane', 'prod-control-plane', '.spec.version'), 'v1.20.2');
  });

  it('gives --dry-run=server the same answers, also for a v1beta1 manifest', async () => {
    const patch = await patchVersion('kubeadmcontrolplane', 'prod-control-plane', { spec: { version: 'v1.12.10' } }, '--dry-run=server');
    const apply = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: kcp('v1.12.10', 'controlplane.cluster.x-k8s.io/v1beta1') });
    const workers = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: machineDeployment('v1.21.0') });
    for (const result of [patch, apply]) {
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, /\[version-skew\].*v1\.12\.10 would be older than workers at v1\.20\.2/);
    }
    assert.notEqual(workers.code, 0);
    assert.match(workers.stderr, /rule workers-newer-than-control-plane/);
    assert.equal(await stored('kubeadmcontrolplane', 'prod-control-plane', '.spec.version'), 'v1.20.2');
  });

  it('refuses the unprivileged developer too', async () => {
    const grant = JSON.stringify({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'developer-capi', namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'developer' }],
    });
    assert.equal((await kubectl(['apply', '-f', '-'], { input: grant })).code, 0);
    const asDeveloper = await kubectl(['patch', 'kubeadmcontrolplane', 'prod-control-plane', '-n', namespace, '--type=merge', '-p', '{"spec":{"version":"v1.12.10"}}'], { as: 'developer' });
    assert.notEqual(asDeveloper.code, 0);
    assert.match(asDeveloper.stderr, /\[version-skew\]/);
  });

  it('allows the one-minor upgrade of the control plane and stores it', async () => {
    const result = await patchVersion('kubeadmcontrolplane', 'prod-control-plane', { spec: { version: 'v1.21.1' } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(await stored('kubeadmcontrolplane', 'prod-control-plane', '.spec.version'), 'v1.21.1');
  });

  it('refuses a Node that registers with a kubelet newer than the API server', async () => {
    const server = await kubectl(['version', '-o', 'json']);
    const gitVersion = (JSON.parse(server.stdout) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion;
    const [major, minor] = gitVersion.replace(/^v/, '').split('.').map(Number);
    const newer = `v${major}.${minor! + 1}.0`;
    const node = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'levee-e2e-future-node' },
      status: { nodeInfo: { kubeletVersion: newer } },
    });
    const result = await kubectl(['create', '--dry-run=server', '-f', '-'], { input: node });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, new RegExp(`node levee-e2e-future-node reports kubelet ${newer.replace(/\./g, '\\.')}, newer than the API server at v${major}\\.${minor}\\.`));
    assert.match(result.stderr, /rule kubelet-newer-than-apiserver/);
    const same = await kubectl(['create', '--dry-run=server', '-f', '-'], { input: node.replace(newer, gitVersion) });
    assert.equal(same.code, 0, same.stderr);
  });

  it('warns, and does not refuse, a minor downgrade of kube-proxy in kube-system', async () => {
    const daemonSet = (tag: string) =>
      JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'levee-e2e-kube-proxy', namespace: 'kube-system' },
        spec: {
          selector: { matchLabels: { app: 'levee-e2e-kube-proxy' } },
          template: {
            metadata: { labels: { app: 'levee-e2e-kube-proxy' } },
            spec: { containers: [{ name: 'kube-proxy', image: `registry.k8s.io/kube-proxy:${tag}` }] },
          },
        },
      });
    try {
      assert.equal((await kubectl(['apply', '-f', '-'], { input: daemonSet('v1.34.4') })).code, 0);
      const result = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: daemonSet('v1.33.7') });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /Warning: .*\[version-skew\] DaemonSet kube-system\/levee-e2e-kube-proxy: kube-proxy image registry\.k8s\.io\/kube-proxy goes back from v1\.34\.4 to v1\.33\.7/);
    } finally {
      await kubectl(['delete', 'daemonset', 'levee-e2e-kube-proxy', '-n', 'kube-system', '--ignore-not-found']);
    }
  });

  it('stops watching a kind when its CRD is deleted, and levee stays up', async () => {
    const deleted = await kubectl(['delete', 'crd', CRDS[1]!.name, '--wait=true', '--timeout=60s']);
    assert.equal(deleted.code, 0, deleted.stderr);
    // With the workers gone from levee's cache, going below them is refused only as a downgrade.
    await eventually('levee to forget the MachineDeployment', async () => {
      const probe = await patchVersion('kubeadmcontrolplane', 'prod-control-plane', { spec: { version: 'v1.19.0' } }, '--dry-run=server');
      return (/control-plane-downgrade/.test(probe.stderr) && !/older-than-workers/.test(probe.stderr)) || probe.stderr;
    });
    const env = await e2e();
    assert.ok(env.levee.exitCode === null, 'levee serve died during the run');
  });
});

/**
 * Workload clusters as upstream Cluster API templates write them: the control plane carries
 * no cluster-name label and no owner reference, and the Cluster points at it through
 * spec.controlPlaneRef alone (v1beta2 apiGroup, v1beta1 apiVersion). Control plane kinds of
 * other providers (RKE2, EKS) are found from their CRDs, installed after levee started.
 */
describe('e2e: version-skew for upstream-shaped Cluster API clusters', function () {
  this.timeout(240_000);
  const upstream = `upstream-${Date.now().toString(36)}`;
  const crds = [
    { name: 'clusters.cluster.x-k8s.io', manifest: minimalCrd('cluster.x-k8s.io', 'Cluster', 'clusters') },
    { name: 'machinedeployments.cluster.x-k8s.io', manifest: minimalCrd('cluster.x-k8s.io', 'MachineDeployment', 'machinedeployments', { scale: true }) },
    { name: 'kubeadmcontrolplanes.controlplane.cluster.x-k8s.io', manifest: minimalCrd('controlplane.cluster.x-k8s.io', 'KubeadmControlPlane', 'kubeadmcontrolplanes') },
    { name: 'rke2controlplanes.controlplane.cluster.x-k8s.io', manifest: minimalCrd('controlplane.cluster.x-k8s.io', 'RKE2ControlPlane', 'rke2controlplanes', { versions: ['v1beta1'] }) },
    { name: 'awsmanagedcontrolplanes.controlplane.cluster.x-k8s.io', manifest: minimalCrd('controlplane.cluster.x-k8s.io', 'AWSManagedControlPlane', 'awsmanagedcontrolplanes') },
  ];
  const cluster = (name: string, controlPlane: { kind: string; name: string }, apiVersion: 'v1beta1' | 'v1beta2' = 'v1beta2') =>
    JSON.stringify({
      apiVersion: `cluster.x-k8s.io/${apiVersion}`,
      kind: 'Cluster',
      metadata: { name, namespace: upstream },
      spec: {
        controlPlaneRef:
          apiVersion === 'v1beta2'
            ? { apiGroup: 'controlplane.cluster.x-k8s.io', ...controlPlane }
            : { apiVersion: 'controlplane.cluster.x-k8s.io/v1beta1', ...controlPlane },
      },
    });
  const controlPlane = (kind: string, name: string, version: string, apiVersion = 'v1beta2') =>
    JSON.stringify({ apiVersion: `controlplane.cluster.x-k8s.io/${apiVersion}`, kind, metadata: { name, namespace: upstream }, spec: { replicas: 3, version } });
  const workers = (name: string, clusterName: string, version: string) =>
    JSON.stringify({
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'MachineDeployment',
      metadata: { name, namespace: upstream },
      spec: { clusterName, replicas: 3, template: { spec: { clusterName, version } } },
    });
  const apply = (input: string, ...extra: string[]) => kubectl(['apply', ...extra, '-f', '-'], { input });
  const patch = (resource: string, name: string, body: unknown, ...extra: string[]) =>
    kubectl(['patch', resource, name, '-n', upstream, '--type=merge', '-p', JSON.stringify(body), ...extra]);
  const version = async (resource: string, name: string, path = '.spec.version') =>
    (await kubectl(['get', resource, name, '-n', upstream, '-o', `jsonpath={${path}}`])).stdout;

  before(async function () {
    this.timeout(1_800_000);
    await e2e();
    // The suite above deletes some of the same CRDs without waiting; let them go first.
    await kubectl(['wait', '--for=delete', '--timeout=60s', ...crds.map(({ name }) => `crd/${name}`)]);
    for (const { manifest } of crds) assert.equal((await apply(manifest)).code, 0);
    const established = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...crds.map(({ name }) => `crd/${name}`)]);
    assert.equal(established.code, 0, established.stderr);
    assert.equal((await kubectl(['create', 'namespace', upstream])).code, 0);
    const created = await apply(
      [
        cluster('prod', { kind: 'KubeadmControlPlane', name: 'prod-control-plane' }),
        controlPlane('KubeadmControlPlane', 'prod-control-plane', 'v1.33.4'),
        workers('prod-md-0', 'prod', 'v1.33.4'),
        workers('prod-md-1', 'prod', 'v1.33.4'),
        cluster('rke', { kind: 'RKE2ControlPlane', name: 'rke-control-plane' }, 'v1beta1'),
        controlPlane('RKE2ControlPlane', 'rke-control-plane', 'v1.31.4+rke2r1', 'v1beta1'),
        workers('rke-md-0', 'rke', 'v1.31.4+rke2r1'),
        cluster('eks', { kind: 'AWSManagedControlPlane', name: 'eks-control-plane' }),
        controlPlane('AWSManagedControlPlane', 'eks-control-plane', 'v1.33'),
        workers('eks-md-0', 'eks', 'v1.33.4'),
      ].join('\n'),
    );
    assert.equal(created.code, 0, created.stderr);
    await eventually('levee to link prod-control-plane to its workers through the Cluster', async () => {
      const probe = await patch('kubeadmcontrolplane', 'prod-control-plane', { spec: { version: 'v1.32.0' } }, '--dry-run=server');
      return /control-plane-older-than-workers/.test(probe.stderr) || probe.stdout + probe.stderr;
    });
  });

  after(async () => {
    await kubectl(['delete', 'namespace', upstream, '--wait=true', '--timeout=60s']);
    await kubectl(['delete', 'crd', ...crds.map(({ name }) => name), '--ignore-not-found', '--wait=false']);
  });

  it('refuses a KubeadmControlPlane below its workers when only Cluster.spec.controlPlaneRef links them', async () => {
    const result = await patch('kubeadmcontrolplane', 'prod-control-plane', { spec: { version: 'v1.32.0' } });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, new RegExp(`\\[version-skew\\] KubeadmControlPlane ${upstream}/prod-control-plane of cluster prod: control plane v1\\.32\\.0 would be older than workers at v1\\.33\\.4 \\(rule control-plane-older-than-workers\\)`));
    assert.equal(await version('kubeadmcontrolplane', 'prod-control-plane'), 'v1.33.4');
  });

  it('refuses workers four minors behind, or newer than, the control plane their Cluster points at', async () => {
    const behind = await patch('machinedeployment', 'prod-md-0', { spec: { template: { spec: { version: 'v1.29.0' } } } });
    assert.notEqual(behind.code, 0);
    assert.match(behind.stderr, /workers v1\.29\.0 would be 4 minors behind the control plane at v1\.33\.4/);
    const ahead = await apply(workers('prod-md-2', 'prod', 'v1.34.0'));
    assert.notEqual(ahead.code, 0);
    assert.match(ahead.stderr, /workers v1\.34\.0 would be newer than the control plane at v1\.33\.4 \(rule workers-newer-than-control-plane\)/);
    assert.equal(await version('machinedeployment', 'prod-md-0', '.spec.template.spec.version'), 'v1.33.4');
  });

  it('judges an RKE2 control plane found from its CRD and linked by a v1beta1 reference, with its version spelling', async () => {
    const downgrade = await patch('rke2controlplane', 'rke-control-plane', { spec: { version: 'v1.30.9+rke2r1' } });
    assert.notEqual(downgrade.code, 0);
    assert.match(downgrade.stderr, /RKE2ControlPlane .*\/rke-control-plane of cluster rke: control plane v1\.30\.9\+rke2r1 would be older than workers at v1\.31\.4/);
    const upgrade = await patch('rke2controlplane', 'rke-control-plane', { spec: { version: 'v1.32.1+rke2r1' } });
    assert.equal(upgrade.code, 0, upgrade.stderr);
  });

  it('judges an EKS control plane (AWSManagedControlPlane, a minor-only version) against its workers', async () => {
    const result = await patch('awsmanagedcontrolplane', 'eks-control-plane', { spec: { version: 'v1.32' } }, '--dry-run=server');
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /AWSManagedControlPlane .*\/eks-control-plane of cluster eks: control plane v1\.32 would be older than workers at v1\.33\.4/);
  });

  it('a Cluster applied last, linking a control plane already below its workers, is refused', async () => {
    assert.equal((await apply(controlPlane('KubeadmControlPlane', 'late-control-plane', 'v1.30.0'))).code, 0);
    assert.equal((await apply(workers('late-md-0', 'late', 'v1.31.0'))).code, 0);
    await eventually('levee to see the unlinked control plane and workers', async () => {
      const probe = await apply(cluster('late', { kind: 'KubeadmControlPlane', name: 'late-control-plane' }), '--dry-run=server');
      return /control-plane-older-than-workers/.test(probe.stderr) || probe.stdout + probe.stderr;
    });
    const result = await apply(cluster('late', { kind: 'KubeadmControlPlane', name: 'late-control-plane' }));
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /KubeadmControlPlane .*\/late-control-plane of cluster late: control plane v1\.30\.0 would be older than workers at v1\.31\.0/);
  });

  it('a control plane upgrade and a worker downgrade sent at once, each fine alone, cannot both pass', async () => {
    // Control plane v1.33.4, workers v1.33.4: up to v1.34 is fine, and so are workers at v1.30 (3 behind); together they are 4 apart.
    const [controlPlaneUp, workersDown] = await Promise.all([
      patch('kubeadmcontrolplane', 'prod-control-plane', { spec: { version: 'v1.34.0' } }),
      patch('machinedeployment', 'prod-md-1', { spec: { template: { spec: { version: 'v1.30.0' } } } }),
    ]);
    assert.deepEqual([controlPlaneUp.code === 0, workersDown.code === 0].filter(Boolean).length, 1, `${controlPlaneUp.stderr}\n${workersDown.stderr}`);
    const stored = [await version('kubeadmcontrolplane', 'prod-control-plane'), await version('machinedeployment', 'prod-md-1', '.spec.template.spec.version')];
    assert.ok(stored[0] === 'v1.33.4' || stored[1] === 'v1.33.4', stored.join(' '));
  });
});
