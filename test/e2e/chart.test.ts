import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { buildConfig } from '../../src/config.js';
import { e2e, eventually, importScript, kubectl, type E2eEnvironment } from '../support/e2e.js';
import { helm, helmPath, keyOf, parseObjects, renderChart, renderKustomize, type KubeObject } from '../support/helm.js';

/**
 * The Helm chart renders manifests/ itself, so these tests hold it to what kustomize renders
 * from the same files, then install, upgrade and uninstall it on the local cluster with the
 * pinned helm. The installed webhooks reach the e2e levee on 127.0.0.1 (admission.url), never
 * a Service: the pods on kwok nodes run no containers, and a registration that fails closed
 * must always have someone answering.
 */

const CHART_LABELS = ['app.kubernetes.io/instance', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/version', 'helm.sh/chart'];
const RELEASE = 'levee-chart';
const NAMESPACE = 'levee-chart';
const CA_BUNDLE = 'Y2EtYnVuZGxl';

type Json = Record<string, unknown>;
const record = (value: unknown): Json => value as Json;

/** What the chart adds on purpose, removed so the rest must equal kustomize's rendering. */
function withoutChartAdditions(object: KubeObject): KubeObject {
  const copy = structuredClone(object);
  for (const label of CHART_LABELS) delete copy.metadata.labels?.[label];
  if (copy.kind === 'Deployment') {
    const template = record(record(copy.spec).template);
    const metadata = record(template.metadata);
    if (metadata.annotations) {
      delete record(metadata.annotations)['levee.dev/config-checksum'];
      if (Object.keys(record(metadata.annotations)).length === 0) delete metadata.annotations;
    }
    for (const container of record(template.spec).containers as Json[]) delete container.imagePullPolicy;
  }
  if (copy.kind.endsWith('WebhookConfiguration')) {
    for (const webhook of copy.webhooks as Json[]) delete record(webhook.clientConfig).caBundle;
  }
  if (copy.kind === 'ConfigMap' && copy.metadata.name === 'levee-config') {
    const data = record(copy.data);
    data['config.yaml'] = parseYaml(data['config.yaml'] as string);
  }
  return copy;
}

function assertSameObjects(chart: KubeObject[], kustomize: KubeObject[], helmOnly: string[] = []): void {
  const fromChart = new Map(chart.map((o) => [keyOf(o), withoutChartAdditions(o)]));
  const fromKustomize = new Map(kustomize.filter((o) => o.kind !== 'Namespace').map((o) => [keyOf(o), withoutChartAdditions(o)]));
  assert.deepEqual([...fromChart.keys()].filter((k) => !helmOnly.includes(k)).sort(), [...fromKustomize.keys()].sort());
  for (const [key, object] of fromKustomize) assert.deepEqual(fromChart.get(key), object, `${key} renders the same from the chart`);
}

const find = (objects: KubeObject[], kind: string, name?: string): KubeObject => {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  assert.ok(found, `${kind}${name ? `/${name}` : ''} is rendered`);
  return found;
};

const provided = ['--set', 'certificates.source=provided', '--set', 'certificates.provided.secretName=levee-tls', '--set', `certificates.provided.caBundle=${CA_BUNDLE}`];

describe('e2e: the Helm chart (charts/levee)', function () {
  this.timeout(120_000);

  before(function () {
    this.timeout(1_800_000);
    helmPath();
  });

  describe('rendering', () => {
    it('passes `helm lint` with the default values, and with provided certificates and monitoring', async () => {
      for (const args of [[], [...provided, '--set', 'monitoring.enabled=true']]) {
        const result = await helm(['lint', 'charts/levee', '--strict', ...args]);
        assert.equal(result.code, 0, result.stdout + result.stderr);
        assert.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      }
    });

    it('refuses, naming the key, a configuration or a value levee would refuse', async () => {
      for (const [value, named] of [
        ['config.policies.scale-to-zero.actoin=deny', /actoin/],
        ['config.probe.intervalSeconds=0', /intervalSeconds/],
        ['config.policies.spot-capacity.action=block', /action/],
        ['admission.webhooks.validate-nodes.failurePolicy=Sometimes', /failurePolicy/],
        ['certificates.source=self-signed-by-magic', /source/],
      ] as const) {
        const result = await helm(['template', 'levee', 'charts/levee', '--set', value]);
        assert.notEqual(result.code, 0, `${value} should be refused`);
        assert.match(result.stderr, named, `${value}: ${result.stderr}`);
      }
      const missing = await helm(['template', 'levee', 'charts/levee', '--set', 'certificates.source=provided']);
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /certificates\.provided\.secretName/);
    });

    it('renders a configuration file that levee itself accepts, with the values in it', async () => {
      const objects = await renderChart('levee', 'levee-system', [
        ...provided, '--set', 'config.policies.spot-capacity.minOnDemandNodes=3', '--set', 'config.probe.intervalSeconds=45', '--set-json', 'config.exempt={"namespaces":["legacy"]}',
      ]);
      const text = record(find(objects, 'ConfigMap', 'levee-config').data)['config.yaml'] as string;
      const config = buildConfig(parseYaml(text));
      assert.equal(config.policies['spot-capacity'].minOnDemandNodes, 3);
      assert.equal(config.probe.intervalSeconds, 45);
      assert.deepEqual(config.exempt.namespaces, ['legacy']);
      assert.equal(config.leveeNamespace, 'levee-system');
      assert.equal(config.server.tlsCertFile, '/etc/levee/tls/tls.crt');
      assert.equal(config.server.certificates.source, 'files', 'provided certificates are read from the mounted Secret');
    });

    it('renders the same objects as `kubectl kustomize manifests/base` (RBAC, webhook rules, Deployment, CRD, the certificates\' Secret)', async () => {
      assertSameObjects(await renderChart('levee', 'levee-system'), await renderKustomize('manifests/base'));
    });

    it('by default (certificates.source=self) has levee keep its certificates in the release\'s empty Secret, for the release\'s names, with RBAC on those names only', async () => {
      const objects = await renderChart('guard', 'policy');
      const secret = find(objects, 'Secret', 'guard-levee-tls');
      assert.equal(secret.data, undefined, 'created empty: levee fills it, an upgrade never empties it');
      const config = buildConfig(parseYaml(record(find(objects, 'ConfigMap', 'guard-levee-config').data)['config.yaml'] as string)).server.certificates;
      assert.equal(config.source, 'self');
      assert.equal(config.secretName, 'guard-levee-tls');
      assert.deepEqual(config.dnsNames, ['guard-levee.policy.svc', 'guard-levee.policy.svc.cluster.local']);
      assert.deepEqual([config.validatingWebhookConfigurations, config.mutatingWebhookConfigurations], [['guard-levee'], ['guard-levee']]);
      for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
        const configuration = find(objects, kind, 'guard-levee');
        assert.equal(configuration.metadata.annotations?.['cert-manager.io/inject-ca-from'], undefined);
        for (const webhook of configuration.webhooks as Json[]) assert.equal(record(webhook.clientConfig).caBundle, undefined, 'levee injects it');
      }
      assert.deepEqual(find(objects, 'Role', 'guard-levee-certificates').rules, [{ apiGroups: [''], resources: ['secrets'], resourceNames: ['guard-levee-tls'], verbs: ['get', 'update'] }]);
      assert.deepEqual(find(objects, 'ClusterRole', 'guard-levee-certificates').rules, [
        { apiGroups: ['admissionregistration.k8s.io'], resources: ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations'], resourceNames: ['guard-levee'], verbs: ['get', 'patch'] },
      ]);
      const pod = record(record(record(find(objects, 'Deployment').spec).template).spec);
      assert.ok((pod.volumes as Json[]).every((volume) => !volume.secret || record(volume.secret).secretName === 'guard-levee-tls'));
      for (const args of [[], provided, ['--set', 'certificates.source=cert-manager']]) {
        const others = await renderChart('guard', 'policy', args.length === 0 ? ['--set', 'certificates.source=self'] : args);
        const selfOnly = others.filter((o) => o.metadata.name === 'guard-levee-certificates' || (o.kind === 'Secret' && o.metadata.name === 'guard-levee-tls'));
        assert.equal(selfOnly.length, args.length === 0 ? 5 : 0, `${args.join(' ')}: ${selfOnly.map(keyOf).join(', ')}`);
      }
    });

    it('renders the cert-manager overlay\'s objects with certificates.source=cert-manager', async () => {
      assertSameObjects(await renderChart('levee', 'levee-system', ['--set', 'certificates.source=cert-manager']), await renderKustomize('manifests/overlays/cert-manager'));
    });

    it('renders manifests/monitoring with monitoring.enabled=true, and nothing of it without', async () => {
      const base = await renderChart('levee', 'levee-system', provided);
      const monitored = await renderChart('levee', 'levee-system', [...provided, '--set', 'monitoring.enabled=true']);
      const added = monitored.filter((o) => !base.some((b) => keyOf(b) === keyOf(o)));
      assertSameObjects(added, await renderKustomize('manifests/monitoring'));
      assert.equal(base.some((o) => ['PodMonitor', 'PrometheusRule'].includes(o.kind)), false);
    });

    it('renders the pinned upstream openreports.io CRDs unchanged with reports.installCrds=true, marked to be kept on uninstall, and none without', async () => {
      const scripts = await importScript<{ copyIntoChart(): string[]; openreportsCrdFiles(): string[] }>('scripts/lib/openreports.mjs');
      scripts.copyIntoChart();
      const base = await renderChart('levee', 'levee-system', provided);
      const withCrds = await renderChart('levee', 'levee-system', [...provided, '--set', 'reports.installCrds=true']);
      const added = withCrds.filter((o) => !base.some((b) => keyOf(b) === keyOf(o)));
      assert.deepEqual(added.map((o) => `${o.kind}/${o.metadata.name}`).sort(), ['CustomResourceDefinition/clusterreports.openreports.io', 'CustomResourceDefinition/reports.openreports.io']);
      const upstream = scripts.openreportsCrdFiles().flatMap((file) => parseObjects(readFileSync(file, 'utf8')));
      for (const crd of added) {
        assert.equal(record(crd.metadata.annotations)['helm.sh/resource-policy'], 'keep');
        const original = upstream.find((o) => o.metadata.name === crd.metadata.name);
        assert.deepEqual(crd['spec'], original?.['spec'], `${crd.metadata.name}: the upstream schema, unchanged`);
      }
      assert.equal(base.some((o) => o.metadata.name.endsWith('.openreports.io')), false);
    });

    it('packages with `helm package` into a self-contained chart (files/manifests resolved) that renders the same', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'levee-chart-package-'));
      try {
        const packaged = await helm(['package', 'charts/levee', '-d', dir]);
        assert.equal(packaged.code, 0, packaged.stderr);
        const archive = join(dir, 'levee-0.1.0.tgz');
        const fromArchive = await helm(['template', 'levee', archive, '-n', 'levee-system', '--set', 'monitoring.enabled=true']);
        const fromDirectory = await helm(['template', 'levee', 'charts/levee', '-n', 'levee-system', '--set', 'monitoring.enabled=true']);
        assert.equal(fromArchive.code, 0, fromArchive.stderr);
        assert.equal(fromArchive.stdout, fromDirectory.stdout);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('places every object and every reference in another release and namespace', async () => {
      const objects = await renderChart('guard', 'policy', ['--set', 'monitoring.enabled=true', '--set', 'certificates.source=cert-manager']);
      const names = new Set(objects.map(keyOf));
      for (const object of objects) {
        if (['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration'].includes(object.kind)) continue;
        assert.equal(object.metadata.namespace, 'policy', `${keyOf(object)} is in the release namespace`);
      }
      for (const binding of objects.filter((o) => o.kind.endsWith('RoleBinding'))) {
        const roleRef = record(binding.roleRef);
        assert.ok(names.has(`${roleRef.kind as string}/${binding.kind === 'RoleBinding' ? 'policy/' : ''}${roleRef.name as string}`), `${keyOf(binding)} refers to a rendered role`);
        for (const subject of binding.subjects as Json[]) assert.ok(names.has(`ServiceAccount/policy/${subject.name as string}`) && subject.namespace === 'policy', `${keyOf(binding)}: ${JSON.stringify(subject)}`);
      }
      const deployment = find(objects, 'Deployment');
      const pod = record(record(record(deployment.spec).template).spec);
      assert.ok(names.has(`ServiceAccount/policy/${pod.serviceAccountName as string}`));
      const volumes = pod.volumes as Json[];
      const configVolume = record(volumes.find((v) => v.configMap)!.configMap);
      assert.ok(names.has(`ConfigMap/policy/${configVolume.name as string}`));
      const secret = record(volumes.find((v) => v.secret)!.secret).secretName as string;
      const certificate = objects.find((o) => o.kind === 'Certificate' && record(o.spec).dnsNames)!;
      assert.equal(record(certificate.spec).secretName, secret);
      for (const issued of objects.filter((o) => o.kind === 'Certificate')) {
        const issuer = record(record(issued.spec).issuerRef);
        assert.ok(names.has(`${issuer.kind as string}/policy/${issuer.name as string}`), `${keyOf(issued)} is issued by a rendered Issuer`);
      }
      for (const issuer of objects.filter((o) => o.kind === 'Issuer' && record(o.spec).ca)) {
        const caSecret = record(record(issuer.spec).ca).secretName;
        assert.ok(objects.some((o) => o.kind === 'Certificate' && record(o.spec).secretName === caSecret), `${keyOf(issuer)} signs with a rendered CA`);
      }
      const service = find(objects, 'Service');
      assert.deepEqual(record(certificate.spec).dnsNames, [`${service.metadata.name}.policy.svc`, `${service.metadata.name}.policy.svc.cluster.local`]);
      for (const kind of ['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']) {
        const configuration = find(objects, kind);
        const injected = configuration.metadata.annotations?.['cert-manager.io/inject-ca-from'] ?? '';
        assert.ok(names.has(`Certificate/${injected}`), `${kind} takes its CA from a rendered Certificate: ${injected}`);
        for (const webhook of configuration.webhooks as Json[]) {
          const ref = record(record(webhook.clientConfig).service);
          assert.deepEqual([ref.name, ref.namespace], [service.metadata.name, 'policy']);
          for (const expression of (record(webhook.namespaceSelector ?? {}).matchExpressions ?? []) as Json[]) {
            assert.ok(!(expression.values as string[]).includes('levee-system'), `${webhook.name as string} names the release namespace, not levee-system`);
            if (expression.operator === 'NotIn') assert.ok((expression.values as string[]).includes('policy'), `${webhook.name as string} never judges the release namespace`);
          }
        }
      }
      const policy = find(objects, 'NetworkPolicy');
      assert.deepEqual(record(policy.spec).podSelector, record(record(deployment.spec).selector), 'the NetworkPolicy selects the release\'s pods');
      const monitor = find(objects, 'PodMonitor');
      const https = (record(monitor.spec).podMetricsEndpoints as Json[]).find((e) => e.port === 'https')!;
      assert.equal(record(https.tlsConfig).serverName, `${service.metadata.name}.policy.svc`);
      assert.equal(record(record(record(https.tlsConfig).ca).secret).name, secret);
      const config = parseYaml(record(find(objects, 'ConfigMap', `${service.metadata.name}-config`).data)['config.yaml'] as string) as Json;
      assert.equal(config.leveeNamespace, 'policy');
    });

    it('applies the values: image digest, replicas, resources, failure policies, timeouts and selectors', async () => {
      const digest = `sha256:${'ab'.repeat(32)}`;
      const objects = await renderChart('levee', 'levee-system', [
        ...provided,
        '--set', `image.digest=${digest}`, '--set', 'replicas=3', '--set', 'serve.resources.requests.cpu=700m',
        '--set', 'admission.webhooks.validate-nodes.failurePolicy=Fail', '--set', 'admission.webhooks.validate.timeoutSeconds=9',
        '--set', 'admission.excludeNamespaces={legacy,batch}', '--set-json', 'admission.webhooks.mutate.objectSelector={"matchLabels":{"team":"a"}}',
      ]);
      const deployment = find(objects, 'Deployment');
      const spec = record(deployment.spec);
      assert.equal(spec.replicas, 3);
      const containers = record(record(spec.template).spec).containers as Json[];
      for (const container of containers) assert.equal(container.image, `ghcr.io/levee-dev/levee@${digest}`);
      assert.equal(record(record(containers.find((c) => c.name === 'serve')!.resources).requests).cpu, '700m');
      assert.equal(record(record(containers.find((c) => c.name === 'probe')!.resources).requests).cpu, '50m');
      const webhooks = new Map([...(find(objects, 'ValidatingWebhookConfiguration').webhooks as Json[]), ...(find(objects, 'MutatingWebhookConfiguration').webhooks as Json[])].map((w) => [w.name as string, w]));
      assert.equal(webhooks.get('validate-nodes.levee.dev')!.failurePolicy, 'Fail');
      assert.equal(webhooks.get('validate.levee.dev')!.timeoutSeconds, 9);
      assert.equal(webhooks.get('validate-pods.levee.dev')!.timeoutSeconds, 3, 'unset values keep the registration\'s own');
      assert.deepEqual(webhooks.get('mutate.levee.dev')!.objectSelector, { matchLabels: { team: 'a' } });
      const notIn = record((record(webhooks.get('validate.levee.dev')!.namespaceSelector).matchExpressions as Json[])[0]).values;
      assert.deepEqual(notIn, ['levee-system', 'kube-system', 'legacy', 'batch']);
      const kubeSystem = record((record(webhooks.get('validate-kube-system.levee.dev')!.namespaceSelector).matchExpressions as Json[])[0]);
      assert.deepEqual(kubeSystem.values, ['kube-system'], 'excluded namespaces do not widen an In selector');
      for (const webhook of webhooks.values()) assert.equal(record(webhook.clientConfig).caBundle, CA_BUNDLE);
    });

    it('opens the probe\'s port to monitoring.podMonitor.scrapeFrom, and only with monitoring on', async () => {
      const from = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }];
      const scrape = ['--set-json', `monitoring.podMonitor.scrapeFrom=${JSON.stringify(from)}`];
      const ingress = async (args: string[]): Promise<Json[]> => record(find(await renderChart('levee', 'levee-system', [...provided, ...args]), 'NetworkPolicy').spec).ingress as Json[];
      const base = await ingress([]);
      assert.deepEqual(await ingress(scrape), base, 'monitoring off: the NetworkPolicy is the base\'s');
      assert.deepEqual(await ingress(['--set', 'monitoring.enabled=true', ...scrape]), [...base, { from, ports: [{ port: 'probe-http', protocol: 'TCP' }] }]);
    });
  });

  describe('on the local cluster', () => {
    let env: E2eEnvironment;
    let values = '';

    const installed = async (kind: string, name: string, namespace?: string): Promise<Json | undefined> => {
      const result = await kubectl(['get', kind, name, ...(namespace ? ['-n', namespace] : []), '-o', 'json', '--ignore-not-found']);
      assert.equal(result.code, 0, result.stderr);
      return result.stdout.trim() ? (JSON.parse(result.stdout) as Json) : undefined;
    };

    before(async function () {
      this.timeout(1_800_000);
      env = await e2e();
      // The webhooks point at the e2e levee on loopback, with its CA; the Secret carries its pair.
      const certs = join(process.cwd(), '.levee', 'e2e', 'certs');
      values = JSON.stringify({
        certificates: { source: 'provided', provided: { secretName: 'levee-chart-tls', caBundle: Buffer.from(env.ca).toString('base64') } },
        admission: { url: `https://127.0.0.1:${env.port}` },
        // The e2e environment owns probeverdicts.levee.dev.
        crds: { install: false },
      });
      await kubectl(['create', 'namespace', NAMESPACE]);
      const secret = await kubectl(['create', 'secret', 'tls', 'levee-chart-tls', '-n', NAMESPACE, '--cert', join(certs, 'tls.crt'), '--key', join(certs, 'tls.key')]);
      assert.equal(secret.code, 0, secret.stderr);
      assert.ok(readFileSync(join(certs, 'tls.crt')).length > 0);
    });

    after(async function () {
      this.timeout(120_000);
      if (!env) return;
      await helm(['uninstall', RELEASE, '-n', NAMESPACE, '--wait', '--ignore-not-found'], { kubeconfig: env.cluster.kubeconfig });
      // Whatever failed above, no registration of this test may stay behind.
      await kubectl(['delete', 'validatingwebhookconfiguration,mutatingwebhookconfiguration', RELEASE, '--ignore-not-found']);
      await kubectl(['delete', 'namespace', NAMESPACE, 'levee-chart-dry-run', '--ignore-not-found', '--wait=false']);
    });

    it('is accepted by the API server on server dry-run (`helm template | kubectl apply --dry-run=server`)', async () => {
      await kubectl(['create', 'namespace', 'levee-chart-dry-run']);
      const rendered = await helm(['template', 'levee', 'charts/levee', '-n', 'levee-chart-dry-run', ...provided]);
      assert.equal(rendered.code, 0, rendered.stderr);
      const result = await kubectl(['apply', '--dry-run=server', '-f', '-'], { input: rendered.stdout });
      assert.equal(result.code, 0, result.stderr);
      for (const kind of ['deployment.apps/levee', 'validatingwebhookconfiguration.admissionregistration.k8s.io/levee', 'mutatingwebhookconfiguration.admissionregistration.k8s.io/levee', 'clusterrole.rbac.authorization.k8s.io/levee']) {
        assert.match(result.stdout, new RegExp(`${kind.replaceAll('.', '\\.')} (created|configured|unchanged) \\(server dry run\\)`));
      }
    });

    it('installs: `helm install --wait`, the Deployment available, the webhooks registered with the rules of manifests/components/webhooks', async () => {
      const result = await helm(['install', RELEASE, 'charts/levee', '-n', NAMESPACE, '--wait', '--timeout', '3m', '-f', '-'], { kubeconfig: env.cluster.kubeconfig, input: values });
      assert.equal(result.code, 0, result.stderr);
      const deployment = await installed('deployment', RELEASE, NAMESPACE);
      assert.equal(record(deployment!.status).availableReplicas, 2);
      const source = (await renderKustomize('manifests/components/webhooks')).find((o) => o.kind === 'ValidatingWebhookConfiguration')!;
      const live = await installed('validatingwebhookconfiguration', RELEASE);
      assert.ok(live, 'the validating registration exists');
      const liveWebhooks = live.webhooks as Json[];
      assert.deepEqual(liveWebhooks.map((w) => w.name), (source.webhooks as Json[]).map((w) => w.name));
      liveWebhooks.forEach((webhook, i) => {
        assert.deepEqual(webhook.rules, (source.webhooks as Json[])[i]!.rules, `${webhook.name as string} has the source's rules`);
        assert.match(record(webhook.clientConfig).url as string, new RegExp(`^https://127\\.0\\.0\\.1:${env.port}/validate`));
      });
      assert.ok(await installed('clusterrole', RELEASE));
      assert.ok(await installed('clusterrole', `${RELEASE}-override`));
    });

    it('judges through the chart\'s registration: the Monzo replay is refused', async () => {
      await kubectl(['create', 'namespace', 'chart-replay']);
      try {
        await kubectl(['create', 'deployment', 'ledger', '-n', 'chart-replay', '--image=registry.example/ledger:1.0', '--replicas=2']);
        await kubectl(['expose', 'deployment', 'ledger', '-n', 'chart-replay', '--port=80', '--target-port=8080']);
        await eventually('ledger to have ready endpoints', async () => {
          const ready = await kubectl(['get', 'deployment', 'ledger', '-n', 'chart-replay', '-o', 'jsonpath={.status.readyReplicas}']);
          return ready.stdout === '2' || ready.stdout;
        });
        // With the e2e registration out of the way for this request, only the chart's can refuse it.
        const e2eRegistration = await installed('validatingwebhookconfiguration', 'levee-e2e');
        await kubectl(['delete', 'validatingwebhookconfiguration', 'levee-e2e']);
        try {
          const scaled = await kubectl(['scale', 'deployment', 'ledger', '-n', 'chart-replay', '--replicas=0']);
          assert.notEqual(scaled.code, 0);
          assert.match(scaled.stderr, /\[scale-to-zero\]/);
        } finally {
          const restored = structuredClone(e2eRegistration!);
          delete record(restored.metadata).resourceVersion;
          delete record(restored.metadata).uid;
          delete record(restored.metadata).managedFields;
          delete record(restored.metadata).creationTimestamp;
          await kubectl(['apply', '-f', '-'], { input: JSON.stringify(restored) });
        }
      } finally {
        await kubectl(['delete', 'namespace', 'chart-replay', '--wait=false']);
      }
    });

    it('upgrades with changed values: replicas, a policy\'s action, a timeout, a failure policy; the pods roll', async () => {
      const before = await installed('deployment', RELEASE, NAMESPACE);
      const checksum = record(record(record(record(before!.spec).template).metadata).annotations)['levee.dev/config-checksum'];
      const result = await helm([
        'upgrade', RELEASE, 'charts/levee', '-n', NAMESPACE, '--wait', '--timeout', '3m', '-f', '-',
        '--set', 'replicas=3', '--set', 'config.policies.scale-to-zero.action=warn',
        '--set', 'admission.webhooks.validate.timeoutSeconds=8', '--set', 'admission.webhooks.validate-pods.failurePolicy=Fail',
      ], { kubeconfig: env.cluster.kubeconfig, input: values });
      assert.equal(result.code, 0, result.stderr);
      const deployment = await installed('deployment', RELEASE, NAMESPACE);
      assert.equal(record(deployment!.spec).replicas, 3);
      assert.equal(record(deployment!.status).availableReplicas, 3);
      assert.notEqual(record(record(record(record(deployment!.spec).template).metadata).annotations)['levee.dev/config-checksum'], checksum, 'a new configuration rolls the pods');
      const config = await installed('configmap', `${RELEASE}-config`, NAMESPACE);
      assert.equal(buildConfig(parseYaml(record(config!.data)['config.yaml'] as string)).policies['scale-to-zero'].action, 'warn');
      const webhooks = new Map(((await installed('validatingwebhookconfiguration', RELEASE))!.webhooks as Json[]).map((w) => [w.name as string, w]));
      assert.equal(webhooks.get('validate.levee.dev')!.timeoutSeconds, 8);
      assert.equal(webhooks.get('validate-pods.levee.dev')!.failurePolicy, 'Fail');
      const history = await helm(['history', RELEASE, '-n', NAMESPACE, '-o', 'json'], { kubeconfig: env.cluster.kubeconfig });
      assert.deepEqual((JSON.parse(history.stdout) as Array<{ revision: number; status: string }>).map((r) => [r.revision, r.status]), [[1, 'superseded'], [2, 'deployed']]);
    });

    it('uninstalls leaving no webhook configuration, role or workload behind', async () => {
      const result = await helm(['uninstall', RELEASE, '-n', NAMESPACE, '--wait'], { kubeconfig: env.cluster.kubeconfig });
      assert.equal(result.code, 0, result.stderr);
      for (const [kind, name] of [['validatingwebhookconfiguration', RELEASE], ['mutatingwebhookconfiguration', RELEASE], ['clusterrole', RELEASE], ['clusterrole', `${RELEASE}-override`], ['clusterrolebinding', RELEASE]] as const) {
        assert.equal(await installed(kind, name), undefined, `${kind}/${name} is gone`);
      }
      const left = await kubectl(['get', 'deployment,service,configmap,serviceaccount,role,rolebinding,poddisruptionbudget', '-n', NAMESPACE, '-l', `app.kubernetes.io/instance=${RELEASE}`, '-o', 'name']);
      assert.equal(left.stdout.trim(), '', `left in ${NAMESPACE}: ${left.stdout}`);
    });
  });
});
