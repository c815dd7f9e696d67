import assert from 'node:assert/strict';
import { parseAllDocuments } from 'yaml';
import { manifestObjects } from '../../src/manifests/read.js';
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

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  privileged?: boolean;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}
interface Container {
  name: string;
  ports?: Array<{ name: string; containerPort: number }>;
  securityContext?: SecurityContext;
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface PodSpec {
  serviceAccountName: string;
  automountServiceAccountToken?: boolean;
  securityContext: SecurityContext;
  containers: Container[];
  volumes: Array<{ name: string; secret?: { secretName: string; items?: Array<{ key: string; path: string }> }; emptyDir?: object }>;
}

async function renderBase(): Promise<Manifest[]> {
  const rendered = await kubectl(['kustomize', 'manifests/base']);
  assert.equal(rendered.code, 0, rendered.stderr);
  return manifestObjects(rendered.stdout, 'kubectl kustomize manifests/base') as unknown as Manifest[];
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
    await kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], { input: remove.map((o) => JSON.stringify(o)).join('\n') });
  });

  it('renders every part the install needs', () => {
    const kinds = new Set(objects.map((o) => `${o.kind}/${o.metadata.name}`));
    for (const part of [
      'Namespace/levee-system', 'ServiceAccount/levee', 'ClusterRole/levee', 'ClusterRoleBinding/levee', 'Role/levee-probe',
      'ClusterRole/levee-override', 'CustomResourceDefinition/probeverdicts.levee.dev', 'Deployment/levee', 'Service/levee',
      'PodDisruptionBudget/levee', 'NetworkPolicy/levee', 'ValidatingWebhookConfiguration/levee', 'MutatingWebhookConfiguration/levee',
      'Secret/levee-tls', 'Role/levee-certificates', 'ClusterRole/levee-certificates',
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
    const result = await kubectl(['apply', '-f', '-'], { input: objects.filter((o) => !isRegistration(o)).map((o) => JSON.stringify(o)).join('\n') });
    assert.equal(result.code, 0, result.stderr);
    await eventually('levee-system/levee to have 2 available replicas', async () => {
      const status = await kubectl(['get', 'deployment', 'levee', '-n', 'levee-system', '-o', 'jsonpath={.status.availableReplicas}']);
      return status.stdout === '2' || `available: ${status.stdout || 0} ${status.stderr}`;
    }, 120_000);
    const pods = await kubectl(['get', 'pods', '-n', 'levee-system', '-l', 'app.kubernetes.io/component=webhook', '-o', 'jsonpath={.items[*].spec.nodeName}']);
    const nodes = pods.stdout.split(' ').filter(Boolean);
    assert.equal(new Set(nodes).size, nodes.length, `anti-affinity should spread the replicas: ${pods.stdout}`);
  });

  describe('the pod, as the API server stored it', () => {
    let pod: PodSpec;
    const container = (name: string): Container => pod.containers.find((c) => c.name === name)!;
    before(async () => {
      const result = await kubectl(['get', 'deployment', 'levee', '-n', 'levee-system', '-o', 'json']);
      pod = (JSON.parse(result.stdout) as { spec: { template: { spec: PodSpec } } }).spec.template.spec;
    });

    it('runs both containers non-root, read-only, with no capability, no privilege escalation and the runtime seccomp profile', () => {
      assert.deepEqual(pod.containers.map((c) => c.name), ['serve', 'probe']);
      for (const c of pod.containers) {
        // A container's own securityContext overrides the pod's: check what takes effect.
        const effective = { ...pod.securityContext, ...c.securityContext };
        assert.equal(effective.runAsNonRoot, true, c.name);
        assert.ok((effective.runAsUser ?? 0) > 0, `${c.name} runs as a non-zero uid`);
        assert.notEqual(effective.privileged, true, c.name);
        assert.equal(effective.readOnlyRootFilesystem, true, c.name);
        assert.equal(effective.allowPrivilegeEscalation, false, c.name);
        assert.deepEqual(effective.capabilities?.drop, ['ALL'], c.name);
        assert.equal(effective.capabilities?.add, undefined, c.name);
        assert.equal(effective.seccompProfile?.type, 'RuntimeDefault', c.name);
      }
    });

    it('gives the probe container the serving certificate but never its key', () => {
      for (const mount of container('probe').volumeMounts) {
        const volume = pod.volumes.find((v) => v.name === mount.name)!;
        if (!volume.secret) continue;
        assert.ok(volume.secret.items, `${mount.name} mounts all of Secret ${volume.secret.secretName}`);
        assert.deepEqual(volume.secret.items.map((item) => item.key), ['tls.crt']);
      }
      assert.ok(container('serve').volumeMounts.some((m) => pod.volumes.find((v) => v.name === m.name)?.secret?.secretName === 'levee-tls' && m.mountPath === '/etc/levee/tls'));
    });

    it('lets serve only read the verdict the probe writes', () => {
      const verdictVolume = pod.volumes.find((v) => v.emptyDir)!.name;
      assert.equal(container('serve').volumeMounts.find((m) => m.name === verdictVolume)?.readOnly, true);
      assert.notEqual(container('probe').volumeMounts.find((m) => m.name === verdictVolume)?.readOnly, true);
    });

    it('restarts a stalled probe loop: a liveness probe on the probe\'s /healthz, which listens on the pod address', () => {
      const probe = container('probe');
      assert.equal(probe.livenessProbe?.httpGet?.path, '/healthz');
      const port = probe.ports?.find((p) => p.name === probe.livenessProbe?.httpGet?.port || p.containerPort === probe.livenessProbe?.httpGet?.port);
      assert.ok(port, 'the liveness probe names a port of the probe container');
      const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'levee-config') as unknown as { data: Record<string, string> };
      const probeSettings = (parseAllDocuments(config.data['config.yaml']!)[0]!.toJSON() as { probe?: { httpHost?: string; httpPort?: number } }).probe;
      assert.equal(probeSettings?.httpHost, '0.0.0.0', 'the kubelet probes the pod address, not loopback');
      assert.equal(probeSettings?.httpPort ?? 8081, port.containerPort);
    });

    it('mounts the ServiceAccount token into levee\'s pod only: the ServiceAccount does not automount it', async () => {
      assert.equal(pod.automountServiceAccountToken, true);
      const account = JSON.parse((await kubectl(['get', 'serviceaccount', pod.serviceAccountName, '-n', 'levee-system', '-o', 'json'])).stdout) as { automountServiceAccountToken?: boolean };
      assert.equal(account.automountServiceAccountToken, false);
    });
  });

  it('ships a NetworkPolicy that admits only the webhook port to levee\'s pods', async () => {
    const policy = JSON.parse((await kubectl(['get', 'networkpolicy', 'levee', '-n', 'levee-system', '-o', 'json'])).stdout) as {
      spec: { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress: Array<{ ports?: Array<{ port: string | number }> }> };
    };
    const selected = await kubectl(['get', 'pods', '-n', 'levee-system', '-l', Object.entries(policy.spec.podSelector.matchLabels).map(([k, v]) => `${k}=${v}`).join(','), '-o', 'name']);
    assert.equal(selected.stdout.trim().split('\n').filter(Boolean).length, 2, 'it selects both levee pods');
    assert.ok(policy.spec.policyTypes.includes('Ingress'));
    assert.deepEqual(policy.spec.ingress.flatMap((rule) => rule.ports?.map((p) => p.port) ?? ['every port']), ['https']);
  });

  it('gives the levee ServiceAccount what the caches and overrides need, and no more', async () => {
    const as = ['--as', 'system:serviceaccount:levee-system:levee'];
    const can = async (...args: string[]) => (await kubectl(['auth', 'can-i', ...args, ...as])).stdout.trim();
    assert.equal(await can('watch', 'endpointslices.discovery.k8s.io', '--all-namespaces'), 'yes');
    assert.equal(await can('create', 'subjectaccessreviews.authorization.k8s.io'), 'yes');
    assert.equal(await can('patch', 'probeverdicts.levee.dev/cluster', '--subresource=status'), 'yes');
    assert.equal(await can('update', 'probeverdicts.levee.dev/cluster'), 'no');
    assert.equal(await can('get', 'secrets', '--all-namespaces'), 'no');
    assert.equal(await can('delete', 'deployments', '-n', 'default'), 'no');
    assert.equal(await can('create', 'configmaps', '-n', 'levee-system'), 'yes');
    assert.equal(await can('create', 'configmaps', '-n', 'default'), 'no');
  });
});
