import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { generateCerts } from '../../src/certs/generate.js';
import { e2e, eventually, inFreshNamespace, kubectl } from '../support/e2e.js';
import { call } from '../support/https.js';
import { deploymentReview } from '../support/reviews.js';

/**
 * Mutual TLS between the real API server and levee: the local cluster's API server is started
 * with an admission configuration whose kubeconfig presents the cluster CA's
 * kube-apiserver-webhook-client certificate to webhooks, and the e2e levee runs with
 * --client-ca (the cluster CA) and --client-name (that name). The API server's reviews get
 * through; anyone else's are refused before levee reads them.
 */

const namespace = `mtls-${Date.now().toString(36)}`;
const review = JSON.stringify(deploymentReview({ replicas: 0, namespace, name: 'ledger' }));

function clientCertificateOf(kubeconfigFile: string): { cert: string; key: string } {
  const config = parse(readFileSync(kubeconfigFile, 'utf8')) as { users: Array<{ user: { 'client-certificate-data': string; 'client-key-data': string } }> };
  const user = config.users[0]!.user;
  return { cert: Buffer.from(user['client-certificate-data'], 'base64').toString(), key: Buffer.from(user['client-key-data'], 'base64').toString() };
}

async function refusals(port: number, ca: string): Promise<Record<string, number>> {
  const metrics = (await call(port, ca, { method: 'GET', path: '/metrics' })).text;
  const count = (code: string): number => Number(new RegExp(`levee_request_errors_total\\{code="${code}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
  return { unauthenticated: count('CLIENT_UNAUTHENTICATED'), forbidden: count('CLIENT_FORBIDDEN') };
}

describe('e2e: mutual TLS between the API server and levee', function () {
  this.timeout(180_000);

  inFreshNamespace(namespace);

  it('answers the API server, which presents its admission client certificate: a refusal reaches kubectl', async () => {
    const env = await e2e();
    const before = await refusals(env.port, env.ca);
    const labels = { app: 'ledger' };
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'ledger', namespace, labels }, spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/ledger:1.0' }] } } } };
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ledger', namespace }, spec: { selector: labels, ports: [{ port: 80 }] } };
    assert.equal((await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [deployment, service] }) })).code, 0);
    await eventually('levee to refuse scaling ledger to 0 behind its Service', async () => {
      const scaled = await kubectl(['scale', 'deployment/ledger', '-n', namespace, '--replicas=0', '--dry-run=server']);
      return (scaled.code !== 0 && /admission webhook "validate\.levee\.dev" denied the request: .*\[scale-to-zero\]/.test(scaled.stderr)) || scaled.stdout + scaled.stderr;
    }, 120_000);
    assert.deepEqual(await refusals(env.port, env.ca), before, 'levee refused none of the API server\'s calls');
  });

  it('refuses a review sent straight to levee without a client certificate: 401, unread', async () => {
    const env = await e2e();
    const answer = await call(env.port, env.ca, { path: '/validate', body: review });
    assert.equal(answer.status, 401, answer.text);
    assert.equal((answer.json() as { code: string }).code, 'CLIENT_UNAUTHENTICATED');
  });

  it('refuses a certificate of the right name from another CA with 401', async () => {
    const env = await e2e();
    const other = await generateCerts({ dnsNames: ['localhost'], ipAddresses: [], validDays: 1, clientName: env.cluster.webhookClientName });
    const answer = await call(env.port, env.ca, { path: '/mutate', body: review, cert: other.clientCert!, key: other.clientKey! });
    assert.equal(answer.status, 401, answer.text);
  });

  it('refuses a user\'s certificate from the cluster CA (developer, and the admin) with 403', async () => {
    const env = await e2e();
    for (const kubeconfig of [env.cluster.userKubeconfig, env.cluster.kubeconfig]) {
      const answer = await call(env.port, env.ca, { path: '/validate', body: review, ...clientCertificateOf(kubeconfig) });
      assert.equal(answer.status, 403, answer.text);
      assert.equal((answer.json() as { code: string }).code, 'CLIENT_FORBIDDEN');
    }
  });
});
