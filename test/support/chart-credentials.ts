import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { command, helm, parseObjects, type KubeObject } from './helm.js';

/**
 * levee on the host with nothing but what the Helm chart gives it in a cluster: `helm install`
 * of charts/levee with its default certificates (certificates.source=self: levee makes its CA
 * and serving pair in the release's empty Secret and injects the CA into the release's webhook
 * configurations), its ServiceAccounts, RBAC, configuration and webhook registrations, the
 * latter reached by URL on 127.0.0.1 as the dev overlay does (admission.url: the chart puts
 * that address into the serving certificate too), then a TokenRequest token of the
 * ServiceAccount each container runs as, in a kubeconfig holding only that token and the
 * cluster's CA. The pods the chart's Deployment makes run nothing on kwok's nodes.
 *
 * `npm test -- e2e-chart` runs the e2e harness this way (LEVEE_E2E_CREDENTIALS=chart).
 */

export const CHART_RELEASE = 'levee-rbac';
export const CHART_NAMESPACE = 'levee-rbac';

/** The API server logs (audit) every request made by a ServiceAccount of the chart's namespace. */
export const AUDITED_GROUP = `system:serviceaccounts:${CHART_NAMESPACE}`;

export interface ChartInstallOptions {
  /** The admin kubeconfig of the test cluster. */
  kubeconfig: string;
  /** Where the kubeconfigs go. */
  dir: string;
  /** serve's port on 127.0.0.1, which the chart's webhooks are pointed at. */
  port: number;
}

export interface ChartCredentials {
  release: string;
  namespace: string;
  /** The ServiceAccount each container of the chart's Deployment runs as, as `system:serviceaccount:<ns>:<name>`. */
  users: { serve: string; probe: string };
  /**
   * Each container's token, as the API server names it in its audit log (`JTI=<id>`, user.extra
   * authentication.kubernetes.io/credential-id): tells serve's requests from probe's when both
   * run as one ServiceAccount.
   */
  credentialIds: { serve: string; probe: string };
  serveKubeconfig: string;
  probeKubeconfig: string;
  /** The configuration the chart renders, its probe endpoint on loopback instead of all the pod's interfaces. */
  config: Record<string, unknown>;
  /** The release's ClusterRole that grants `override` on levee's policies (levee-override, renamed). */
  overrideRole: string;
  /** The Secret in the release namespace where serve keeps its self-managed CA and serving pair. */
  servingSecret: { namespace: string; name: string };
  /** The release's validating and mutating webhook configuration, whose caBundle serve sets. */
  webhookConfiguration: string;
  /** Every object the release installed. */
  objects: KubeObject[];
}

interface AdminKubeconfig {
  clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
}

async function run(file: string, args: string[]): Promise<string> {
  const result = await command(file, args);
  if (result.code !== 0) throw new Error(`${file} ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
  return result.stdout;
}

/** The ServiceAccount the named container of these Deployments runs as. */
export function serviceAccountOf(objects: KubeObject[], container: string): string {
  for (const object of objects) {
    if (object.kind !== 'Deployment') continue;
    const pod = (object.spec as { template: { spec: { serviceAccountName?: string; containers: Array<{ name: string }> } } }).template.spec;
    if (pod.containers.some((candidate) => candidate.name === container)) {
      if (!pod.serviceAccountName) throw new Error(`the chart runs container ${container} without a ServiceAccount of its own`);
      return pod.serviceAccountName;
    }
  }
  throw new Error(`the chart renders no Deployment with a container named ${container}`);
}

/** A kubeconfig whose only credential is `token`: no client certificate, no admin. */
function tokenKubeconfig(server: string, caData: string, user: string, token: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'cluster', cluster: { server, 'certificate-authority-data': caData } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: user, context: { cluster: 'cluster', user } }],
    'current-context': user,
  });
}

/** The ClusterRole whose rules grant verb `override` on policies.levee.dev. */
function overrideRoleOf(objects: KubeObject[]): string {
  const role = objects.find((object) => object.kind === 'ClusterRole' &&
    ((object.rules ?? []) as Array<{ apiGroups?: string[]; verbs?: string[] }>).some((rule) => rule.apiGroups?.includes('levee.dev') && rule.verbs?.includes('override')));
  if (!role) throw new Error('the chart renders no ClusterRole granting override on policies.levee.dev');
  return role.metadata.name;
}

/** The `jti` claim of a bound ServiceAccount token (a JWT). */
function tokenId(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { jti?: unknown };
  if (typeof payload.jti !== 'string') throw new Error('the TokenRequest token carries no jti claim');
  return payload.jti;
}

/** The levee configuration the chart renders into its ConfigMap. */
function chartConfig(objects: KubeObject[], release: string): Record<string, unknown> {
  const configMap = objects.find((object) => object.kind === 'ConfigMap' && object.metadata.name === `${release}-config`);
  if (!configMap) throw new Error(`the chart renders no ConfigMap ${release}-config`);
  return parseYaml((configMap.data as Record<string, string>)['config.yaml']!) as Record<string, unknown>;
}

export async function installChart(options: ChartInstallOptions): Promise<ChartCredentials> {
  const { kubeconfig, dir } = options;
  const installed = await helm([
    'install', CHART_RELEASE, 'charts/levee', '--namespace', CHART_NAMESPACE, '--create-namespace',
    '--set', 'replicas=1',
    // The harness has applied manifests/crds already.
    '--set', 'crds.install=false',
    // certificates.source is left at the chart's default, self. The API server calls levee at
    // admission.url, 127.0.0.1, not through the release's Service: the chart adds that address
    // to the certificate's names. The tests reach serve by the name localhost.
    '--set', `admission.url=https://127.0.0.1:${options.port}`,
    '--set-json', 'config.server.certificates.dnsNames=["localhost"]',
  ], { kubeconfig });
  if (installed.code !== 0) throw new Error(`helm install of charts/levee failed: ${installed.stderr}`);
  const manifest = await helm(['get', 'manifest', CHART_RELEASE, '--namespace', CHART_NAMESPACE], { kubeconfig });
  if (manifest.code !== 0) throw new Error(`helm get manifest ${CHART_RELEASE} failed: ${manifest.stderr}`);
  const objects = parseObjects(manifest.stdout);

  const admin = parseYaml(readFileSync(kubeconfig, 'utf8')) as AdminKubeconfig;
  const { server, 'certificate-authority-data': caData } = admin.clusters[0]!.cluster;
  const kubeconfigFor = async (container: 'serve' | 'probe'): Promise<{ user: string; file: string; credentialId: string }> => {
    const account = serviceAccountOf(objects, container);
    const token = (await run('kubectl', ['--kubeconfig', kubeconfig, 'create', 'token', account, '-n', CHART_NAMESPACE, '--duration=6h'])).trim();
    const user = `system:serviceaccount:${CHART_NAMESPACE}:${account}`;
    const file = join(dir, `${container}.kubeconfig`);
    writeFileSync(file, tokenKubeconfig(server, caData, user, token), { mode: 0o600 });
    return { user, file, credentialId: `JTI=${tokenId(token)}` };
  };
  const serve = await kubeconfigFor('serve');
  const probe = await kubeconfigFor('probe');

  // The pod's all-interfaces probe endpoint stays on loopback here.
  const config = chartConfig(objects, CHART_RELEASE);
  config.probe = { ...(config.probe as Record<string, unknown> | undefined), httpHost: '127.0.0.1' };
  // The leader's first Reports run comes one interval after start: within the run, so that the
  // Reports' rights are used with the chart's token too.
  config.reports = { ...(config.reports as Record<string, unknown> | undefined), intervalSeconds: 20 };
  const certificates = (config.server as { certificates?: { source?: string; secretName?: string; validatingWebhookConfigurations?: string[] } } | undefined)?.certificates;
  if (certificates?.source !== 'self' || !certificates.secretName) throw new Error(`the chart's default configuration does not have levee keep its own certificates: ${JSON.stringify(certificates)}`);

  return {
    release: CHART_RELEASE,
    namespace: CHART_NAMESPACE,
    users: { serve: serve.user, probe: probe.user },
    credentialIds: { serve: serve.credentialId, probe: probe.credentialId },
    serveKubeconfig: serve.file,
    probeKubeconfig: probe.file,
    config,
    overrideRole: overrideRoleOf(objects),
    servingSecret: { namespace: CHART_NAMESPACE, name: certificates.secretName },
    webhookConfiguration: certificates.validatingWebhookConfigurations?.[0] ?? CHART_RELEASE,
    objects,
  };
}

/** What the API server's audit log records, for the ServiceAccounts of AUDITED_GROUP only. */
export function auditPolicy(): string {
  return JSON.stringify({
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    omitStages: ['RequestReceived'],
    rules: [
      { level: 'Metadata', userGroups: [AUDITED_GROUP] },
      { level: 'None' },
    ],
  });
}
