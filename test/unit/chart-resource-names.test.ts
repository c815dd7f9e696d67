import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { buildConfig, type LeveeConfig } from '../../src/config.js';
import { helmPath, renderChart, type KubeObject } from '../support/helm.js';

/**
 * What the chart grants by name (`resourceNames`) is the release's own objects, under the
 * release's names, and the same names levee's rendered configuration uses: the certificates'
 * Secret, the two webhook configurations, the probe's leader Lease. Whatever the release is
 * called, nothing of another release (or of a `levee` installed beside it) is granted, and
 * kube-system's two control-plane Leases are the only names of others.
 */

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs?: string[];
}

const CONTROL_PLANE_LEASES = ['kube-controller-manager', 'kube-scheduler'];

/** `resource/name` for every name the release's Roles and ClusterRoles grant. */
function grantedNames(objects: KubeObject[]): string[] {
  const granted = objects
    .filter((object) => object.kind === 'Role' || object.kind === 'ClusterRole')
    .flatMap((object) => (object.rules as Rule[]).flatMap((rule) => (rule.resourceNames ?? []).flatMap((name) => (rule.resources ?? []).map((resource) => `${resource}/${name}`))));
  return [...new Set(granted)].sort();
}

function configOf(objects: KubeObject[], release: string): LeveeConfig {
  const name = release.includes('levee') ? `${release}-config` : `${release}-levee-config`;
  const configMap = objects.find((object) => object.kind === 'ConfigMap' && object.metadata.name === name);
  assert.ok(configMap, `ConfigMap ${name} is rendered`);
  return buildConfig(parseYaml((configMap.data as Record<string, string>)['config.yaml']!) as Record<string, unknown>);
}

/** `resource/name` of every object levee's configuration has it read or write by name. */
function namesLeveeUses(config: LeveeConfig): string[] {
  const certificates = config.server.certificates;
  const own = [
    `leases/${config.probe.lease.name}`,
    ...CONTROL_PLANE_LEASES.map((name) => `leases/${name}`),
    ...(certificates.source === 'self'
      ? [
          `secrets/${certificates.secretName}`,
          ...certificates.validatingWebhookConfigurations.map((name) => `validatingwebhookconfigurations/${name}`),
          ...certificates.mutatingWebhookConfigurations.map((name) => `mutatingwebhookconfigurations/${name}`),
        ]
      : []),
  ];
  return [...new Set(own)].sort();
}

describe('charts/levee: RBAC by name is the release\'s own (helm template)', function () {
  before(function () {
    // The pinned helm, built from its Go module the first time (tools/build.sh helm).
    this.timeout(1_800_000);
    helmPath();
  });

  const installs = [
    { release: 'levee', namespace: 'levee-system' },
    { release: 'levee-rbac', namespace: 'levee-rbac' },
    { release: 'guard', namespace: 'policy' },
  ];
  for (const { release, namespace } of installs) {
    for (const source of ['self', 'provided'] as const) {
      it(`release ${release} in ${namespace}, certificates.source=${source}: grants by name exactly what levee's configuration names`, async () => {
        const values = source === 'provided' ? ['--set', 'certificates.source=provided', '--set', 'certificates.provided.secretName=mine', '--set', 'certificates.provided.caBundle=Y2E='] : [];
        const objects = await renderChart(release, namespace, values);
        const config = configOf(objects, release);
        assert.deepEqual(grantedNames(objects), namesLeveeUses(config));
        const fullname = release.includes('levee') ? release : `${release}-levee`;
        assert.equal(config.probe.lease.name, `${fullname}-probe`);
        if (source === 'self') {
          assert.equal(config.server.certificates.secretName, `${fullname}-tls`);
          // The Secret and the configurations it names are the ones this release installs.
          const rendered = new Set(objects.map((object) => `${object.kind}/${object.metadata.name}`));
          for (const name of [`Secret/${fullname}-tls`, `ValidatingWebhookConfiguration/${fullname}`, `MutatingWebhookConfiguration/${fullname}`]) assert.ok(rendered.has(name), `${name} is rendered`);
        }
      });
    }
  }

  it('grants another release in the same namespace none of the first one\'s names, nor manifests/base\'s', async () => {
    const [first, second] = await Promise.all([renderChart('levee', 'shared'), renderChart('levee-canary', 'shared')]);
    const firstNames = grantedNames(first).filter((name) => !CONTROL_PLANE_LEASES.some((lease) => name === `leases/${lease}`));
    const secondNames = grantedNames(second).filter((name) => !CONTROL_PLANE_LEASES.some((lease) => name === `leases/${lease}`));
    assert.ok(firstNames.length >= 4, `granted by name: ${firstNames.join(', ')}`);
    assert.deepEqual(secondNames.filter((name) => firstNames.includes(name)), []);
    assert.deepEqual(secondNames.filter((name) => /\/levee(-tls|-probe)?$/.test(name)), []);
  });

  it('has the self-managed certificate name where the API server calls: the Service, admission.url\'s host, and the values\' own names', async () => {
    const names = async (args: string[]): Promise<[string[], string[]]> => {
      const certificates = configOf(await renderChart('guard', 'policy', args), 'guard').server.certificates;
      return [certificates.dnsNames, certificates.ipAddresses];
    };
    const service = ['guard-levee.policy.svc', 'guard-levee.policy.svc.cluster.local'];
    assert.deepEqual(await names([]), [service, []]);
    assert.deepEqual(await names(['--set', 'admission.url=https://127.0.0.1:9443']), [service, ['127.0.0.1']]);
    assert.deepEqual(await names(['--set', 'admission.url=https://[::1]:9443/']), [service, ['::1']]);
    assert.deepEqual(
      await names(['--set', 'admission.url=https://levee.example.com:9443', '--set-json', 'config.server.certificates.dnsNames=["localhost","guard-levee.policy.svc"]', '--set-json', 'config.server.certificates.ipAddresses=["10.0.0.7"]']),
      [[...service, 'levee.example.com', 'localhost'], ['10.0.0.7']],
    );
  });

  it('keeps a values-set probe Lease name out: the chart names the Lease its Role grants', async () => {
    const objects = await renderChart('guard', 'policy', ['--set', 'config.probe.lease.name=elsewhere', '--set', 'config.probe.lease.durationSeconds=20']);
    const config = configOf(objects, 'guard');
    assert.deepEqual(config.probe.lease, { name: 'guard-levee-probe', durationSeconds: 20 });
    assert.ok(grantedNames(objects).includes('leases/guard-levee-probe'));
    assert.ok(!grantedNames(objects).includes('leases/elsewhere'));
  });
});
