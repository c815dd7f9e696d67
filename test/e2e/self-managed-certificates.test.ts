import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadKubeConfig } from '../../src/cluster/kubeconfig.js';
import { manifestObjects } from '../../src/manifests/read.js';
import { buildConfig } from '../../src/config.js';
import { mutateCondition, registeredMutateCondition } from '../../src/policies/mutate-condition.js';
import { KubeApi } from '../../src/probe/kube-api.js';
import { e2e, e2ePort, eventually, kubectl, sleep, type E2eEnvironment } from '../support/e2e.js';
import { call } from '../support/https.js';
import { stopProcess, tail, webhookScripts } from '../support/levee-processes.js';

/**
 * server.certificates.source: self on the real API server. levee serve runs on the host with
 * a token of manifests/base's ServiceAccount as its only credential (so its RBAC is what
 * levee-system/levee holds), keeps its CA and serving pair in the empty Secret
 * levee-system/levee-tls, and injects the CA into the webhook configurations `levee`,
 * registered here by URL with no caBundle (as the dev overlay registers them). Two replicas
 * start at once on the empty Secret and end with one CA; the API server calls the first over
 * that TLS, and it refuses the Monzo replay. With short validities, the running replicas renew
 * the serving certificate and the CA while admission requests keep flowing: none fails, both
 * replicas follow every rotation, and neither restarts.
 */

const NAMESPACE = 'levee-system';
const SECRET = 'levee-tls';
const NAME = 'levee';
const workloads = `certs-${Date.now().toString(36)}`;
const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Secret']);

interface Secret {
  metadata: { annotations?: Record<string, string> };
  data?: Record<string, string>;
}
interface Configuration {
  webhooks: Array<{ name: string; clientConfig: { caBundle?: string }; matchConditions?: Array<{ name: string; expression: string }> }>;
}

async function json<T>(args: string[]): Promise<T> {
  const result = await kubectl([...args, '-o', 'json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as T;
}

const secretText = (secret: Secret, key: string): string => Buffer.from(secret.data?.[key] ?? '', 'base64').toString();

/** The certificate levee presents on a new TLS handshake right now. */
function servedCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false }, () => {
      const peer = socket.getPeerX509Certificate();
      socket.end();
      if (peer) resolve(peer);
      else reject(new Error('no peer certificate'));
    });
    socket.once('error', reject);
  });
}

/** A kubeconfig for the API server whose only credential is a token of levee-system/levee. */
async function serviceAccountKubeconfig(env: E2eEnvironment, file: string): Promise<void> {
  const token = await kubectl(['create', 'token', 'levee', '-n', NAMESPACE, '--duration', '1h']);
  assert.equal(token.code, 0, token.stderr);
  const admin = parse(readFileSync(env.cluster.kubeconfig, 'utf8')) as { clusters: Array<{ cluster: Record<string, string> }> };
  const cluster = admin.clusters[0]!.cluster;
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server: cluster.server, 'certificate-authority-data': cluster['certificate-authority-data'] } }],
      users: [{ name: 'levee', user: { token: token.stdout.trim() } }],
      contexts: [{ name: 'levee', context: { cluster: 'test', user: 'levee' } }],
      'current-context': 'levee',
    }),
  );
}

describe('e2e: self-managed certificates (server.certificates.source: self)', function () {
  this.timeout(300_000);
  let env: E2eEnvironment;
  let applied: Array<{ kind: string; metadata: { name: string } }> = [];
  // Two replicas of serve: the API server calls the first; the second shows that every replica follows.
  const replicas: Array<{ process?: ChildProcess; port: number; logFile: string }> = [];
  let port = 0;
  let dir = '';
  const logs = (): string => replicas.map((replica) => `${replica.logFile}:\n${tail(replica.logFile, 30)}`).join('\n');
  const admin = (): KubeApi => new KubeApi(loadKubeConfig(env.cluster.kubeconfig), 10_000);

  before(async function () {
    this.timeout(1_800_000);
    env = await e2e();
    port = e2ePort(57);
    dir = join(process.cwd(), '.levee', 'e2e', 'self-managed-certificates');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    replicas.push({ port, logFile: join(dir, 'levee-0.log') }, { port: e2ePort(58), logFile: join(dir, 'levee-1.log') });
    // The Monzo replay's objects, created while the harness's levee judges them.
    assert.equal((await kubectl(['create', 'namespace', workloads])).code, 0);
    const labels = { app: 'ledger' };
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'ledger', namespace: workloads, labels }, spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/ledger:1.0' }] } } } };
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ledger', namespace: workloads }, spec: { selector: labels, ports: [{ port: 80 }] } };
    const created = await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [deployment, service] }) });
    assert.equal(created.code, 0, created.stderr);

    // manifests/base's ServiceAccount, RBAC and empty Secret: all levee gets.
    const rendered = await kubectl(['kustomize', 'manifests/base']);
    assert.equal(rendered.code, 0, rendered.stderr);
    applied = (manifestObjects(rendered.stdout, 'kubectl kustomize manifests/base') as unknown as typeof applied).filter((object) => RBAC_KINDS.has(object.kind));
    assert.ok(applied.some((object) => object.kind === 'Secret' && object.metadata.name === SECRET), 'manifests/base creates the Secret levee fills');
    await kubectl(['create', 'namespace', NAMESPACE]);
    const result = await kubectl(['apply', '-f', '-'], { input: applied.map((object) => JSON.stringify(object)).join('\n') });
    assert.equal(result.code, 0, result.stderr);
    const kubeconfig = join(dir, 'levee.kubeconfig');
    await serviceAccountKubeconfig(env, kubeconfig);

    // Only levee's own registrations judge while this runs: the harness's step aside.
    const scripts = await webhookScripts();
    scripts.unregisterDevWebhooks({ kubeconfig: env.cluster.kubeconfig, name: 'levee-e2e' });
    scripts.registerDevWebhooks({ kubeconfig: env.cluster.kubeconfig, port, caBundle: '', name: NAME });

    for (const [i, replica] of replicas.entries()) {
      const config = join(dir, `config-${i}.json`);
      writeFileSync(
        config,
        JSON.stringify({
          leveeNamespace: NAMESPACE,
          // Critical by namespace only: the registered /mutate condition (the default one) lets none of its workloads through until levee sets it.
          policies: { 'spot-capacity': { critical: { namespaces: [workloads] } } },
          server: {
            host: '127.0.0.1',
            port: replica.port,
          clientCAFile: env.cluster.webhookClientCA,
          clientNames: [env.cluster.webhookClientName],
          certificates: {
            source: 'self',
            secretName: SECRET,
            dnsNames: ['localhost'],
            ipAddresses: ['127.0.0.1'],
            caValiditySeconds: 120,
            servingValiditySeconds: 40,
            checkIntervalSeconds: 1,
          },
        },
      }),
      );
      // Both at once, as a Deployment's two pods start.
      replica.process = spawn(process.execPath, ['bin/levee.js', 'serve', '--config', config, '--kubeconfig', kubeconfig, '--verdict-file', env.verdictFile], { stdio: ['ignore', 'pipe', 'pipe'] });
      const output = createWriteStream(replica.logFile);
      replica.process.stdout!.pipe(output);
      replica.process.stderr!.pipe(output);
    }
  });

  after(async () => {
    await Promise.all(replicas.map((replica) => (replica.process ? stopProcess(replica.process) : undefined)));
    const scripts = await webhookScripts();
    scripts.unregisterDevWebhooks({ kubeconfig: env.cluster.kubeconfig, name: NAME });
    scripts.registerDevWebhooks({ kubeconfig: env.cluster.kubeconfig, port: env.port, caBundle: env.caBundle, name: 'levee-e2e' });
    // levee-override stays, as the other tests that apply manifests/base leave it: the e2e levee uses it.
    const remove = applied.filter((object) => object.metadata.name !== 'levee-override');
    await kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], { input: remove.map((object) => JSON.stringify(object)).join('\n') });
    await kubectl(['delete', 'namespace', workloads, '--wait=false']);
  });

  it('fills the empty Secret once for two replicas starting at once, injects its CA into both configurations, and both serve that certificate', async () => {
    let secret: Secret = { metadata: {} };
    await eventually('levee to fill levee-system/levee-tls', async () => {
      for (const replica of replicas) assert.equal(replica.process!.exitCode, null, `levee serve exited:\n${logs()}`);
      secret = await json<Secret>(['get', 'secret', SECRET, '-n', NAMESPACE]);
      return Object.keys(secret.data ?? {}).length === 4 || JSON.stringify(secret.data ?? {});
    });
    assert.equal(secret.metadata.annotations?.['levee.dev/certificates'], 'self-managed');
    const ca = secretText(secret, 'ca.crt');
    for (const replica of replicas) {
      await eventually(`levee on ${replica.port} to answer /readyz with the Secret's certificate`, async () => (await call(replica.port, ca, { method: 'GET', path: '/readyz' }).catch((err: Error) => ({ status: err.message }))).status === 200);
    }
    for (const kind of ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']) {
      const configuration = await json<Configuration>(['get', kind, NAME]);
      for (const webhook of configuration.webhooks) assert.equal(webhook.clientConfig.caBundle, secret.data!['ca.crt'], `${kind} ${webhook.name} trusts the Secret's CA`);
    }
    for (const replica of replicas) {
      assert.equal((await servedCertificate(replica.port)).fingerprint256, new X509Certificate(secretText(secret, 'tls.crt')).fingerprint256, `the replica on ${replica.port} serves the Secret's certificate`);
    }
    const issued = replicas.map((replica) => (readFileSync(replica.logFile, 'utf8').match(/"msg":"serving certificate issued"/g) ?? []).length);
    assert.equal(issued[0]! + issued[1]!, 1, `one replica wrote the certificates, the other used them: ${issued.join(', ')}\n${logs()}`);
  });

  it("sets /mutate's condition from its configuration, so a workload critical only by its namespace gets the spread through the API server", async () => {
    const expected = mutateCondition(buildConfig({ policies: { 'spot-capacity': { critical: { namespaces: [workloads] } } } }).policies['spot-capacity']);
    assert.notEqual(expected.expression, mutateCondition(buildConfig().policies['spot-capacity']).expression);
    await eventually('levee to set the condition on mutatingwebhookconfiguration levee', async () => {
      const configuration = await json<Configuration>(['get', 'mutatingwebhookconfiguration', NAME]);
      const registered = registeredMutateCondition(configuration.webhooks);
      return registered?.expression === expected.expression || `registered: ${registered?.expression}`;
    });
    const labels = { app: 'payments' };
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'payments', namespace: workloads }, spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/payments:1.0' }] } } } };
    // The API server reads the new condition from its watch a moment after the patch.
    await eventually('the API server to send the create to /mutate and return the spread', async () => {
      const created = await kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], { input: JSON.stringify(deployment) });
      assert.equal(created.code, 0, created.stderr);
      const spread = (JSON.parse(created.stdout) as { spec: { template: { spec: { topologySpreadConstraints?: Array<{ topologyKey: string }> } } } }).spec.template.spec.topologySpreadConstraints ?? [];
      return spread.some((constraint) => constraint.topologyKey === 'karpenter.sh/capacity-type') || JSON.stringify(spread);
    });
  });

  it('refuses the Monzo replay (scale to zero behind a Service) through the API server, over that TLS', async () => {
    const scaled = await kubectl(['scale', 'deployment/ledger', '-n', workloads, '--replicas=0', '--dry-run=server']);
    assert.notEqual(scaled.code, 0, scaled.stdout);
    assert.match(scaled.stderr, /admission webhook "validate\.levee\.dev" denied the request: .*\[scale-to-zero\]/);
    const allowed = await kubectl(['scale', 'deployment/ledger', '-n', workloads, '--replicas=3', '--dry-run=server']);
    assert.equal(allowed.code, 0, allowed.stderr);
  });

  it('renews the serving certificate and the CA while running: every replica-visible change picked up, no restart, no failed admission', async () => {
    const api = admin();
    const scalePath = `/apis/apps/v1/namespaces/${workloads}/deployments/ledger/scale?dryRun=All`;
    const pids = replicas.map((replica) => replica.process!.pid);
    const servedFingerprints = replicas.map(() => new Set<string>());
    const written = new Set<string>();
    const caFingerprints = new Set<string>();
    const failures: string[] = [];
    let refused = 0;
    let admitted = 0;
    const issuedSoFar = (): number => replicas.reduce((sum, replica) => sum + (readFileSync(replica.logFile, 'utf8').match(/"msg":"serving certificate issued"/g) ?? []).length, 0);
    const issuedBefore = issuedSoFar();
    written.add(new X509Certificate(secretText(await json<Secret>(['get', 'secret', SECRET, '-n', NAMESPACE]), 'tls.crt')).fingerprint256);
    const deadline = Date.now() + 110_000;
    // CA 120 s, renewed with 40 s left; serving 40 s, renewed with 13 s left: in 110 s one CA
    // renewal and three or four of the serving certificate.
    while (Date.now() < deadline) {
      const wanted = refused <= admitted ? 0 : 3;
      const answer = await api.request('PATCH', scalePath, { body: { spec: { replicas: wanted } }, contentType: 'application/merge-patch+json' });
      const message = (answer.body as { message?: string } | undefined)?.message ?? answer.text;
      if (wanted === 0 && answer.status === 403 && /denied the request: .*\[scale-to-zero\]/.test(message)) refused++;
      else if (wanted === 3 && answer.status === 200) admitted++;
      else failures.push(`${new Date().toISOString()} replicas=${wanted}: HTTP ${answer.status}: ${message}`);
      for (const [i, replica] of replicas.entries()) servedFingerprints[i]!.add((await servedCertificate(replica.port)).fingerprint256);
      const secret = await json<Secret>(['get', 'secret', SECRET, '-n', NAMESPACE]);
      caFingerprints.add(new X509Certificate(secretText(secret, 'ca.crt')).fingerprint256);
      written.add(new X509Certificate(secretText(secret, 'tls.crt')).fingerprint256);
      await sleep(500);
    }
    const issued = issuedSoFar() - issuedBefore;
    // What this run measured, for the README's figures.
    writeFileSync(join(dir, 'rotation.json'), JSON.stringify({ refused, admitted, failures: failures.length, served: servedFingerprints.map((served) => served.size), caSeen: caFingerprints.size, written: written.size, issued }, null, 2));
    assert.deepEqual(failures, [], `admission failed during rotation:\n${logs()}`);
    assert.deepEqual(replicas.map((replica) => [replica.process!.exitCode, replica.process!.pid]), pids.map((pid) => [null, pid]), 'no replica restarted');
    assert.ok(refused >= 20 && admitted >= 20, `refused ${refused}, admitted ${admitted}`);
    assert.ok(caFingerprints.size >= 2, `the CA was renewed (${caFingerprints.size} seen)`);
    for (const [i, served] of servedFingerprints.entries()) {
      assert.ok(served.size >= 4, `the replica on ${replicas[i]!.port} served ${served.size} serving certificates in 110 s`);
      assert.deepEqual([...served].filter((fingerprint) => !written.has(fingerprint)), [], 'every certificate served is one the Secret held');
    }
    const latest = await json<Secret>(['get', 'secret', SECRET, '-n', NAMESPACE]);
    for (const replica of replicas) {
      await eventually(`the replica on ${replica.port} to serve the Secret's latest certificate`, async () => (await servedCertificate(replica.port)).fingerprint256 === new X509Certificate(secretText(latest, 'tls.crt')).fingerprint256, 10_000);
    }
    // Renewals never fought: each certificate the Secret held was written once (a replica that
    // lost a write logs that it used the other's instead). One renewal may fall between the
    // count and the first read of the Secret.
    assert.ok(issued === written.size - 1 || issued === written.size, `issued ${issued} while the Secret held ${written.size} certificates\n${logs()}`);
  });

  it('replaces a Secret corrupted under the running replicas (its serving key cut short) and keeps answering: no failed admission', async () => {
    const api = admin();
    const scalePath = `/apis/apps/v1/namespaces/${workloads}/deployments/ledger/scale?dryRun=All`;
    const before = await json<Secret>(['get', 'secret', SECRET, '-n', NAMESPACE]);
    const oldCa = new X509Certificate(secretText(before, 'ca.crt')).fingerprint256;
    const corrupted = await kubectl(['patch', 'secret', SECRET, '-n', NAMESPACE, '--type', 'merge', '-p', JSON.stringify({ data: { 'tls.key': Buffer.from('-----BEGIN PRIVATE KEY-----\ncut\n').toString('base64') } })]);
    assert.equal(corrupted.code, 0, corrupted.stderr);
    const failures: string[] = [];
    let replaced = '';
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const answer = await api.request('PATCH', scalePath, { body: { spec: { replicas: 0 } }, contentType: 'application/merge-patch+json' });
      const message = (answer.body as { message?: string } | undefined)?.message ?? answer.text;
      if (answer.status !== 403 || !/\[scale-to-zero\]/.test(message)) failures.push(`HTTP ${answer.status}: ${message}`);
      const secret = await json<Secret>(['get', 'secret', SECRET, '-n', NAMESPACE]);
      const key = secretText(secret, 'tls.key');
      const served = await Promise.all(replicas.map(async (replica) => (await servedCertificate(replica.port)).fingerprint256));
      if (!key.includes('cut') && served.every((fingerprint) => fingerprint === new X509Certificate(secretText(secret, 'tls.crt')).fingerprint256)) {
        replaced = secretText(secret, 'ca.crt');
        break;
      }
      await sleep(250);
    }
    assert.deepEqual(failures, [], logs());
    assert.ok(replaced, `the Secret was replaced and both replicas serve it within 30 s\n${logs()}`);
    const bundle = (replaced.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem).fingerprint256);
    assert.equal(bundle[1], oldCa, 'the old CA stays trusted after the new one, for what replicas still served');
    const warned = replicas.flatMap((replica) => readFileSync(replica.logFile, 'utf8').split('\n')).filter((line) => line.includes('"msg":"the self-managed certificates are unusable; replacing them"'));
    assert.ok(warned.some((line) => /"problem":"tls\.key is not a PEM private key/.test(line)), logs());
    for (const replica of replicas) assert.equal(replica.process!.exitCode, null);
  });

  it('refuses to start on a Secret levee did not write, or a missing one, naming it and what to do, and leaves it unchanged', async () => {
    const foreign = `levee-foreign-${Date.now().toString(36)}`;
    const created = await kubectl(['create', 'secret', 'generic', foreign, '-n', workloads, '--from-literal=password=hunter2']);
    assert.equal(created.code, 0, created.stderr);
    for (const [secretName, expected] of [
      [foreign, new RegExp(`the Secret ${workloads}/${foreign} holds password that levee did not write .*empty the Secret, or name another one in server\\.certificates\\.secretName \\[CERTS_SECRET\\]`)],
      ['levee-absent', new RegExp(`the Secret ${workloads}/levee-absent does not exist: create it empty .* \\[CERTS_SECRET\\]`)],
    ] as const) {
      const config = join(dir, `refused-${secretName}.json`);
      writeFileSync(config, JSON.stringify({ leveeNamespace: workloads, server: { host: '127.0.0.1', port: e2ePort(59), certificates: { source: 'self', secretName, ipAddresses: ['127.0.0.1'], validatingWebhookConfigurations: [], mutatingWebhookConfigurations: [] } } }));
      const child = spawn(process.execPath, ['bin/levee.js', 'serve', '--config', config, '--kubeconfig', env.cluster.kubeconfig, '--verdict-file', env.verdictFile], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      // A serve that started after all must not outlive the test.
      const code = await Promise.race([exited, sleep(60_000).then(() => 'still running')]);
      if (code === 'still running') await stopProcess(child);
      assert.equal(code, 1, output);
      assert.match(output, expected);
    }
    const after = await json<Secret>(['get', 'secret', foreign, '-n', workloads]);
    assert.deepEqual(after.data, { password: Buffer.from('hunter2').toString('base64') });
    assert.equal(after.metadata.annotations?.['levee.dev/certificates'], undefined);
  });
});
