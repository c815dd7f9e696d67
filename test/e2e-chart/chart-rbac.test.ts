import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { parse as parseYaml } from 'yaml';
import { answeredRequests, auditEvents, describeRequest, refusedForWhoAsked, refusedRequests, requestKinds } from '../support/audit-log.js';
import { serviceAccountOf } from '../support/chart-credentials.js';
import { e2e, e2ePort, eventually, kubectl, readyEndpoints, type E2eEnvironment } from '../support/e2e.js';
import { renderKustomize } from '../support/helm.js';
import { call } from '../support/https.js';
import { stopProcess, tail } from '../support/levee-processes.js';
import { applyRbac, beyondEveryAccount, rbacObjectsOf, type RbacObject } from '../support/rbac-rights.js';

/**
 * The chart's RBAC is exactly enough. `npm test -- e2e-chart` has run the scale-to-zero,
 * version-skew, spot-capacity, overrides and probe-gate e2e cases with levee holding nothing but
 * what `helm install charts/levee` gives it: a TokenRequest token of the ServiceAccount each
 * container runs as, the chart's configuration and its webhook registrations (by URL to
 * 127.0.0.1), and the chart's default certificates: levee's own CA and serving pair, which serve
 * made in the release's empty Secret and whose CA it injected into the release's webhook
 * configurations. Here: the API server reached levee only through those configurations and that
 * certificate, and the Monzo replay is refused through them; the API server refused none of the
 * chart's ServiceAccounts' requests meanwhile (its audit log); the chart grants exactly what
 * manifests/base grants (whose list test/e2e/rbac.test.ts checks), under the release's names; and
 * a grant short of one rule is caught by both.
 */

// The harness's servers are at 43 and 81; image.test 44, silent-watch 50-52.
const SHORT_SERVE_OFFSET = 60;

type Chart = NonNullable<E2eEnvironment['chart']>;

async function chartEnvironment(): Promise<E2eEnvironment & { chart: Chart }> {
  const env = await e2e();
  if (!env.chart) throw new Error('test/e2e-chart runs only with LEVEE_E2E_CREDENTIALS=chart: `npm test -- e2e-chart`');
  return env as E2eEnvironment & { chart: Chart };
}

interface TokenKubeconfig {
  users: Array<{ name: string; user: Record<string, unknown> }>;
}

/** The API server's answer to `kubectl auth whoami` with this kubeconfig alone. */
async function whoami(kubeconfig: string): Promise<string> {
  const result = await kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], { kubeconfig });
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
}

async function json<T>(args: string[]): Promise<T> {
  const result = await kubectl([...args, '-o', 'json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as T;
}

interface WebhookConfigurationList {
  items: Array<{ metadata: { name: string }; webhooks?: Array<{ name: string; clientConfig: { url?: string; caBundle?: string } }> }>;
}

/** The certificate a server on 127.0.0.1 presents on a new TLS handshake. */
function servedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const peer = socket.getPeerX509Certificate();
      socket.end();
      if (peer) resolve(peer);
      else reject(new Error('no peer certificate'));
    });
    socket.once('error', reject);
  });
}

/** A counter's value in serve's /metrics, summed over the series whose labels include `labels`. */
async function counter(env: E2eEnvironment, name: string, labels: Record<string, string>): Promise<number> {
  const metrics = await call(env.port, env.ca, { method: 'GET', path: '/metrics' });
  assert.equal(metrics.status, 200, metrics.text);
  let total = 0;
  for (const line of metrics.text.split('\n')) {
    const match = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    if (Object.entries(labels).every(([key, value]) => match[2]!.includes(`${key}="${value}"`))) total += Number(match[3]);
  }
  return total;
}

describe('e2e-chart: levee with only the Helm chart\'s ServiceAccounts, configuration and webhooks', function () {
  this.timeout(120_000);

  before(async function () {
    this.timeout(1_800_000);
    await chartEnvironment();
  });

  it('ran serve and probe each with a token of the ServiceAccount the chart runs its container as, and nothing else', async () => {
    const { chart } = await chartEnvironment();
    for (const [container, file] of [['serve', chart.serveKubeconfig], ['probe', chart.probeKubeconfig]] as const) {
      const config = parseYaml(readFileSync(file, 'utf8')) as TokenKubeconfig;
      assert.equal(config.users.length, 1, `${container}: one user`);
      assert.deepEqual(Object.keys(config.users[0]!.user), ['token'], `${container}: a token, no client certificate`);
      assert.equal(await whoami(file), chart.users[container], `${container} is ${chart.users[container]} to the API server`);
    }
    const registered = await kubectl(['get', 'validatingwebhookconfiguration', chart.release, '-o', 'jsonpath={.webhooks[*].clientConfig.url}']);
    assert.equal(registered.code, 0, registered.stderr);
    for (const url of registered.stdout.split(' ')) assert.match(url, /^https:\/\/127\.0\.0\.1:\d+\//, 'the chart\'s webhooks reach levee on loopback');
  });

  it('kept its own certificate (the chart\'s default): a CA in the release\'s Secret, injected into the release\'s webhook configurations, which alone reach serve', async () => {
    const env = await chartEnvironment();
    const { chart } = env;
    const secret = await json<{ metadata: { annotations?: Record<string, string> }; data?: Record<string, string> }>(['get', 'secret', chart.servingSecret.name, '-n', chart.servingSecret.namespace]);
    assert.equal(secret.metadata.annotations?.['levee.dev/certificates'], 'self-managed', 'levee wrote the Secret');
    const caBundle = secret.data?.['ca.crt'] ?? '';
    const ca = new X509Certificate(Buffer.from(caBundle, 'base64'));
    const serving = new X509Certificate(Buffer.from(secret.data?.['tls.crt'] ?? '', 'base64'));
    assert.ok(serving.checkIssued(ca) && serving.verify(ca.publicKey), 'the Secret\'s serving certificate is signed by its CA');
    assert.match(serving.subjectAltName ?? '', /IP Address:127\.0\.0\.1/, 'the serving certificate names 127.0.0.1, where the webhooks call');
    assert.equal(env.caBundle, caBundle, 'the harness reaches serve through the Secret\'s CA');

    // helm installed the configurations without a caBundle: serve injected the Secret's CA.
    const installed = chart.objects.filter((object) => object.kind.endsWith('WebhookConfiguration'));
    assert.deepEqual(installed.map((object) => `${object.kind}/${object.metadata.name}`).sort(), [`MutatingWebhookConfiguration/${chart.webhookConfiguration}`, `ValidatingWebhookConfiguration/${chart.webhookConfiguration}`]);
    for (const object of installed) for (const webhook of object.webhooks as Array<{ clientConfig: { caBundle?: string } }>) assert.equal(webhook.clientConfig.caBundle, undefined, 'the chart renders no caBundle');
    const pointingAtServe: string[] = [];
    for (const kind of ['validatingwebhookconfigurations', 'mutatingwebhookconfigurations']) {
      for (const configuration of (await json<WebhookConfigurationList>(['get', kind])).items) {
        for (const webhook of configuration.webhooks ?? []) {
          if (!webhook.clientConfig.url?.startsWith(`https://127.0.0.1:${env.port}/`)) continue;
          pointingAtServe.push(`${kind}/${configuration.metadata.name}`);
          assert.equal(configuration.metadata.name, chart.webhookConfiguration, `${kind}/${configuration.metadata.name} calls serve, and is not the release's`);
          assert.equal(webhook.clientConfig.caBundle, caBundle, `${kind}/${configuration.metadata.name} ${webhook.name} trusts the Secret's CA`);
        }
      }
    }
    assert.deepEqual([...new Set(pointingAtServe)].sort(), [`mutatingwebhookconfigurations/${chart.webhookConfiguration}`, `validatingwebhookconfigurations/${chart.webhookConfiguration}`]);
    assert.equal((await servedCertificate(env.port)).fingerprint256, serving.fingerprint256, 'serve presents the Secret\'s certificate');

    // ...and did so with the chart's token, as the API server recorded.
    const serve = answeredRequests(auditEvents(chart.auditLog), { username: chart.users.serve, credentialId: chart.credentialIds.serve }).map((event) => describeRequest(event));
    for (const request of [
      `update secrets -n ${chart.servingSecret.namespace} ${chart.servingSecret.name}`,
      `patch validatingwebhookconfigurations.admissionregistration.k8s.io ${chart.webhookConfiguration}`,
      `patch mutatingwebhookconfigurations.admissionregistration.k8s.io ${chart.webhookConfiguration}`,
    ]) assert.ok(serve.includes(request), `serve's token made: ${request}`);
  });

  it('refuses the Monzo replay (scale to zero behind a live Service) through the release\'s webhooks, over that certificate', async () => {
    const env = await chartEnvironment();
    const namespace = `monzo-chart-${Date.now().toString(36)}`;
    const labels = { app: 'ledger' };
    try {
      assert.equal((await kubectl(['create', 'namespace', namespace])).code, 0);
      const objects = [
        { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'ledger', namespace, labels }, spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/ledger:1.0' }] } } } },
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ledger', namespace }, spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] } },
      ];
      const created = await kubectl(['apply', '-f', '-'], { input: objects.map((object) => JSON.stringify(object)).join('\n') });
      assert.equal(created.code, 0, created.stderr);
      await eventually('2 ready endpoints behind Service ledger', async () => (await readyEndpoints(namespace, 'ledger')) === 2 || `${await readyEndpoints(namespace, 'ledger')}`, 120_000);
      // levee learns of the endpoints through its watches: wait until its answer reflects them.
      await eventually('levee to see the ledger endpoints', async () => (await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=0', '--dry-run=server'])).code !== 0);
      const denied = { policy: 'scale-to-zero', action: 'deny' };
      const before = await counter(env, 'levee_policy_findings_total', denied);
      const scaled = await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=0']);
      assert.notEqual(scaled.code, 0, scaled.stdout);
      assert.match(scaled.stderr, /admission webhook "validate\.levee\.dev" denied the request: .*\[scale-to-zero\] scaling Deployment\/ledger to 0 replicas would leave Service ledger/);
      assert.equal(await counter(env, 'levee_policy_findings_total', denied), before + 1, 'this serve judged it (its own count of scale-to-zero denials)');
      const stored = await kubectl(['get', 'deployment', 'ledger', '-n', namespace, '-o', 'jsonpath={.spec.replicas}']);
      assert.equal(stored.stdout, '2', 'nothing stored');
      const allowed = await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=3', '--dry-run=server']);
      assert.equal(allowed.code, 0, allowed.stderr);
    } finally {
      await kubectl(['delete', 'namespace', namespace, '--wait=false']);
    }
  });

  it('was refused nothing by the API server while the e2e cases ran (its audit log), and asked it plenty', async () => {
    const { chart } = await chartEnvironment();
    const events = auditEvents(chart.auditLog);
    // No ServiceAccount of the release's namespace, with any token, was refused anything.
    const refusedAccounts = events.filter((event) => event.user.username.startsWith(`system:serviceaccount:${chart.namespace}:`) && refusedForWhoAsked(event));
    assert.deepEqual(refusedAccounts.map((event) => `${event.user.username}: ${event.responseStatus!.code} ${describeRequest(event)}`), []);
    assert.ok(events.length > 0, 'the API server audited the chart\'s ServiceAccounts');
    for (const container of ['serve', 'probe'] as const) {
      const requester = { username: chart.users[container], credentialId: chart.credentialIds[container] };
      assert.deepEqual(refusedRequests(events, requester), [], `${container} (${chart.users[container]}) was refused these: the chart's RBAC lacks them`);
      // The check above means something only if levee did its work through this token.
      const answered = answeredRequests(events, requester);
      assert.ok(answered.some((event) => event.verb === 'watch'), `${container} watched through its token`);
      console.log(`      (${container} asked: ${requestKinds(answered).join('; ')})`);
    }
    const probeWrites = answeredRequests(events, { username: chart.users.probe, credentialId: chart.credentialIds.probe }).filter((event) => ['create', 'update', 'patch', 'delete'].includes(event.verb));
    assert.ok(probeWrites.some((event) => event.objectRef?.resource === 'probeverdicts'), 'the probe published its verdict');
    assert.ok(probeWrites.some((event) => event.objectRef?.resource === 'leases'), 'the probe held its Lease');
    assert.ok(probeWrites.some((event) => event.objectRef?.resource === 'configmaps'), 'the probe wrote its ConfigMaps');
    assert.ok(probeWrites.some((event) => event.objectRef?.resource === 'reports' || event.objectRef?.resource === 'clusterreports'), 'the probe wrote openreports.io Reports');
  });

  it('used its rights as the README says: serve writes nothing in the release namespace but its certificates\' Secret, the probe asks no SubjectAccessReview', async () => {
    const { chart } = await chartEnvironment();
    const events = auditEvents(chart.auditLog);
    const serve = answeredRequests(events, { username: chart.users.serve, credentialId: chart.credentialIds.serve });
    const probe = answeredRequests(events, { username: chart.users.probe, credentialId: chart.credentialIds.probe });
    const writes = ['create', 'update', 'patch', 'delete', 'deletecollection'];
    const inNamespace = serve.filter((event) => writes.includes(event.verb) && event.objectRef?.namespace === chart.namespace);
    assert.deepEqual([...new Set(inNamespace.map((event) => describeRequest(event)))], [`update secrets -n ${chart.namespace} ${chart.servingSecret.name}`]);
    assert.deepEqual(requestKinds(probe.filter((event) => event.objectRef?.resource === 'subjectaccessreviews')), []);
    assert.ok(serve.some((event) => event.objectRef?.resource === 'subjectaccessreviews'), 'serve asked SubjectAccessReviews (the override cases)');
  });

  it('left serve ready with every cache synced and current', async () => {
    const env = await chartEnvironment();
    const ready = await call(env.port, env.ca, { method: 'GET', path: '/readyz' });
    assert.equal(ready.status, 200, ready.text);
    assert.equal(ready.text, 'ok', 'no cache is stale');
  });

  describe('what the chart grants, as the API server answers `kubectl auth can-i --list`', () => {
    let applied: RbacObject[] = [];
    // The identity manifests/base runs each container as.
    const base = { serve: '', probe: '' };
    before(async function () {
      this.timeout(300_000);
      // The base's RBAC objects the chart renders (under the release's names); values may leave
      // some out (e.g. what a certificate source needs), and the chart is held to the rest.
      const { chart } = await chartEnvironment();
      const rendered = new Set(chart.objects.map((object) => `${object.kind}/${object.metadata.name}`));
      const renamed = (name: string): string => (name === 'levee' ? chart.release : name.startsWith('levee-') ? `${chart.release}${name.slice('levee'.length)}` : name);
      const baseRbac = await rbacObjectsOf('manifests/base');
      const kept = baseRbac.filter((object) => object.kind === 'ServiceAccount' || rendered.has(`${object.kind}/${renamed(object.metadata.name)}`));
      const left = baseRbac.filter((object) => !kept.includes(object)).map((object) => `${object.kind}/${object.metadata.name}`);
      if (left.length > 0) console.log(`      (the chart, with these values, leaves out ${left.join(', ')})`);
      // Names granted by name are the release's own: the chart renames them as it renames the objects.
      for (const object of kept) {
        for (const rule of (object as RbacObject & { rules?: Array<{ resourceNames?: string[] }> }).rules ?? []) {
          if (rule.resourceNames) rule.resourceNames = rule.resourceNames.map(renamed);
        }
      }
      applied = await applyRbac(kept);
      const objects = await renderKustomize('manifests/base');
      for (const container of ['serve', 'probe'] as const) base[container] = `system:serviceaccount:levee-system:${serviceAccountOf(objects, container)}`;
    });
    after(async () => {
      // levee-override stays: the cases bind it (it is the dev overlay's too).
      const remove = applied.filter((object) => object.metadata.name !== 'levee-override');
      await kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], { input: remove.map((object) => JSON.stringify(object)).join('\n') });
    });

    it('is, cluster-wide, exactly what manifests/base grants, for serve\'s and probe\'s ServiceAccounts', async () => {
      const { chart } = await chartEnvironment();
      for (const container of ['serve', 'probe'] as const) {
        const expected = await beyondEveryAccount(base[container], 'default');
        assert.ok(expected.length > 0, `manifests/base grants ${container} something`);
        assert.deepEqual(await beyondEveryAccount(chart.users[container], 'default'), expected, `${container}: the chart's grants differ from manifests/base's`);
      }
    });

    it('is, in the release namespace, exactly what manifests/base grants in levee-system', async () => {
      const { chart } = await chartEnvironment();
      for (const container of ['serve', 'probe'] as const) {
        const expected = await beyondEveryAccount(base[container], 'levee-system');
        assert.deepEqual(await beyondEveryAccount(chart.users[container], chart.namespace), expected, `${container}: the chart's grants in ${chart.namespace} differ`);
      }
    });
  });

  describe('a grant short of one rule', () => {
    const account = 'levee-rbac-short';
    let user = '';
    let serve: ChildProcess | undefined;
    let log = '';
    let port = 0;
    let harnessCa = '';

    before(async function () {
      this.timeout(300_000);
      const env = await chartEnvironment();
      const { chart } = env;
      user = `system:serviceaccount:${chart.namespace}:${account}`;
      // The chart's ClusterRole without the EndpointSlices rule, for a ServiceAccount of its own.
      const role = chart.objects.find((object) => object.kind === 'ClusterRole' && object.metadata.name === chart.release);
      assert.ok(role, `the chart renders ClusterRole ${chart.release}`);
      const rules = (role.rules as Array<{ resources?: string[] }>).filter((rule) => !rule.resources?.includes('endpointslices'));
      assert.equal(rules.length, (role.rules as unknown[]).length - 1, 'one rule names EndpointSlices');
      const objects = [
        { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: account, namespace: chart.namespace } },
        { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: account }, rules },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: account },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: account },
          subjects: [{ kind: 'ServiceAccount', name: account, namespace: chart.namespace }],
        },
      ];
      const created = await kubectl(['apply', '-f', '-'], { input: objects.map((object) => JSON.stringify(object)).join('\n') });
      assert.equal(created.code, 0, created.stderr);
      const token = await kubectl(['create', 'token', account, '-n', chart.namespace, '--duration=1h']);
      assert.equal(token.code, 0, token.stderr);
      const kubeconfig = JSON.parse(readFileSync(chart.serveKubeconfig, 'utf8')) as TokenKubeconfig & Record<string, unknown>;
      kubeconfig.users = [{ name: kubeconfig.users[0]!.name, user: { token: token.stdout.trim() } }];
      const file = join(env.certs, '..', `${account}.kubeconfig`);
      writeFileSync(file, JSON.stringify(kubeconfig), { mode: 0o600 });
      // Its certificate from the harness's files: the Secret is the chart's ServiceAccount's to keep.
      const config = join(env.certs, '..', `${account}-config.json`);
      writeFileSync(config, JSON.stringify({ ...chart.config, server: { ...(chart.config.server as Record<string, unknown>), certificates: { source: 'files' } } }));
      harnessCa = readFileSync(join(env.certs, 'ca.crt'), 'utf8');
      port = e2ePort(SHORT_SERVE_OFFSET);
      log = join(env.certs, '..', `${account}.log`);
      serve = spawn(process.execPath, [
        'bin/levee.js', 'serve', '--host', '127.0.0.1', '--port', String(port), '--kubeconfig', file, '--config', config,
        '--tls-cert', join(env.certs, 'tls.crt'), '--tls-key', join(env.certs, 'tls.key'), '--verdict-file', join(env.certs, '..', `${account}-verdict.json`),
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      const output = createWriteStream(log);
      serve.stdout!.pipe(output);
      serve.stderr!.pipe(output);
    });

    after(async () => {
      if (serve) await stopProcess(serve);
      await kubectl(['delete', 'clusterrolebinding,clusterrole', account, '--ignore-not-found']);
      await kubectl(['delete', 'serviceaccount', account, '-n', (await chartEnvironment()).chart.namespace, '--ignore-not-found']);
    });

    it('keeps serve unready, naming the cache it cannot fill', async () => {
      await eventually('serve to answer /readyz', async () => {
        const answer = await call(port, harnessCa, { method: 'GET', path: '/readyz' }).catch((err: Error) => ({ status: 0, text: err.message }));
        if (serve?.exitCode !== null) return `serve exited: ${tail(log)}`;
        return answer.status !== 0 || answer.text;
      }, 60_000);
      // Long enough for every other cache to sync and for the EndpointSlices list to be retried.
      await new Promise((resolve) => setTimeout(resolve, 8_000));
      const answer = await call(port, harnessCa, { method: 'GET', path: '/readyz' });
      assert.equal(answer.status, 503, answer.text);
      assert.equal(answer.text, 'not ready: caches not synced: endpointslices');
    });

    it('shows in the API server\'s audit log as refused EndpointSlice lists, which the check above fails on', async () => {
      const { chart } = await chartEnvironment();
      await eventually('the refusals in the audit log', async () => {
        const refused = refusedRequests(auditEvents(chart.auditLog), { username: user });
        return refused.includes('403 list endpointslices.discovery.k8s.io') || refused.join('; ') || 'none yet';
      }, 30_000);
      assert.deepEqual(refusedRequests(auditEvents(chart.auditLog), { username: user }), ['403 list endpointslices.discovery.k8s.io']);
    });
  });
});
