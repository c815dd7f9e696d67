import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { KubeObject } from '../../src/kube/types.js';
import { applyObjects, buildTool, dropFinalizers, goModuleDir, kustomize, serviceAccountCredentials, waitForCrds } from './controllers.js';
import { kubectl } from './e2e.js';
import { makeTestCerts } from './https.js';
import { startIsolated, type IsolatedProcess } from './isolated-process.js';

/**
 * Cluster API's core controllers and webhooks (sigs.k8s.io/cluster-api/core, pinned in
 * tools/cluster-api/go.mod), installed from the same module's kustomize config as clusterctl
 * installs them (namespace capi-system, ServiceAccount capi-manager, its RBAC, CRDs with
 * their conversion webhooks, the validating and mutating webhooks), except the Deployment:
 * the manager runs here as a process with its Deployment's arguments, its ServiceAccount's
 * token where the pod has it, and its webhook server offered on 127.0.0.1. The
 * ClusterTopology feature gate is on, as clusterctl sets it with CLUSTER_TOPOLOGY=true.
 *
 * No infrastructure, bootstrap or control plane provider runs: their CRDs come from their
 * modules (kubeadm's from this module, AWS's from sigs.k8s.io/cluster-api-provider-aws at
 * CAPA_VERSION) so that the topology controller can read templates and create objects.
 */

export const CAPI_NAMESPACE = 'capi-system';
export const CAPI_SERVICE_ACCOUNT = 'capi-manager';
export const CAPI_USER = `system:serviceaccount:${CAPI_NAMESPACE}:${CAPI_SERVICE_ACCOUNT}`;
/** The AWS provider whose template CRDs the tests use (only its CRDs; nothing of it runs). */
export const CAPA_MODULE = 'sigs.k8s.io/cluster-api-provider-aws/v2';
export const CAPA_VERSION = 'v2.13.0';
const AWS_KINDS = ['awsclustertemplates', 'awsclusters', 'awsmachinetemplates', 'awsmachines'];
const WEBHOOK_PORT_INSIDE = 9443;

const repoRoot = process.cwd();

export interface ClusterApiInstall {
  /** Every object installed, for uninstalling. */
  objects: KubeObject[];
  crds: string[];
  webhookConfigurations: KubeObject[];
  args: string[];
  certDir: string;
  webhookPort: number;
}

type Transform = (object: KubeObject) => KubeObject;

const withoutCertManager: Transform = (object) => {
  delete object.metadata?.annotations?.['cert-manager.io/inject-ca-from'];
  return object;
};

interface CrdSpec {
  conversion?: { strategy?: string; webhook?: { clientConfig?: Record<string, unknown> } };
}

/** No controller of this CRD runs: nothing could answer its conversion webhook, and only its storage version is used. */
const withoutConversion: Transform = (object) => {
  delete (object.spec as CrdSpec).conversion;
  return withoutCertManager(object);
};

function pointedAt(url: (path: string) => string, caBundle: string): Transform {
  return (object) => {
    withoutCertManager(object);
    if (object.kind === 'CustomResourceDefinition') {
      const webhook = (object.spec as CrdSpec).conversion?.webhook;
      if (webhook) webhook.clientConfig = { url: url('/convert'), caBundle };
    }
    for (const webhook of (object.webhooks as Array<{ clientConfig: { service?: { path?: string } } }> | undefined) ?? []) {
      webhook.clientConfig = { url: url(webhook.clientConfig.service?.path ?? '/'), caBundle } as typeof webhook.clientConfig;
    }
    return object;
  };
}

/** clusterctl's variable syntax in the Deployment's arguments: `${NAME:=default}`. */
export function substituteVariables(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{(\w+)(?::=([^}]*))?\}/g, (_, name: string, fallback: string | undefined) => {
    const value = values[name] ?? fallback;
    if (value === undefined) throw new Error(`no value for \${${name}} in ${text}`);
    return value;
  });
}

export async function installClusterApi(options: { webhookPort: number }): Promise<ClusterApiInstall> {
  const capi = await goModuleDir('cluster-api', 'sigs.k8s.io/cluster-api');
  const capa = await goModuleDir('cluster-api', CAPA_MODULE, CAPA_VERSION);
  const certs = await makeTestCerts();
  const caBundle = Buffer.from(certs.ca).toString('base64');
  const toWebhookServer = pointedAt((path) => `https://127.0.0.1:${options.webhookPort}${path}`, caBundle);

  const core = await kustomize(join(capi, 'core', 'config', 'default'));
  const deployment = core.find((object) => object.kind === 'Deployment');
  const container = (deployment?.spec as { template: { spec: { containers: Array<{ args: string[] }> } } } | undefined)?.template.spec.containers[0];
  if (!container) throw new Error('the core provider config has no Deployment');
  const args = container.args.map((arg) => substituteVariables(arg, { CLUSTER_TOPOLOGY: 'true' }));
  const kept = core.filter((object) => !['Deployment', 'Service', 'Certificate', 'Issuer'].includes(object.kind!)).map(toWebhookServer);
  const providerCrds = [
    ...(await kustomize(join(capi, 'controlplane', 'kubeadm', 'config', 'crd'))),
    ...(await kustomize(join(capi, 'bootstrap', 'kubeadm', 'config', 'crd'))),
    ...(await kustomize(join(capa, 'config', 'crd'))).filter((crd) => AWS_KINDS.some((kind) => crd.metadata?.name === `${kind}.infrastructure.cluster.x-k8s.io`)),
  ].map(withoutConversion);

  const webhookConfigurations = kept.filter((object) => object.kind!.endsWith('WebhookConfiguration'));
  const installed = kept.filter((object) => !webhookConfigurations.includes(object));
  const crds = [...installed, ...providerCrds].filter((object) => object.kind === 'CustomResourceDefinition');
  await applyObjects([...installed, ...providerCrds]);
  await waitForCrds(crds.map((crd) => crd.metadata!.name!));
  return {
    objects: [...installed, ...providerCrds],
    crds: crds.map((crd) => crd.metadata!.name!),
    webhookConfigurations,
    args: [...args, `--webhook-port=${WEBHOOK_PORT_INSIDE}`, `--webhook-cert-dir=${certs.dir}`],
    certDir: certs.dir,
    webhookPort: options.webhookPort,
  };
}

/**
 * Starts the core manager as its Deployment would, then registers its webhooks once its
 * webhook server answers (they fail closed: registered earlier, they would refuse every write).
 */
export async function startClusterApi(install: ClusterApiInstall, options: { logFile?: string } = {}): Promise<IsolatedProcess> {
  const binary = await buildTool('cluster-api');
  const serviceAccount = await serviceAccountCredentials(CAPI_NAMESPACE, CAPI_SERVICE_ACCOUNT);
  const manager = await startIsolated({
    command: binary,
    args: install.args,
    env: { POD_NAMESPACE: CAPI_NAMESPACE, POD_NAME: 'capi-controller-manager-e2e', POD_UID: randomUUID() },
    logFile: options.logFile ?? join(repoRoot, '.levee', 'e2e', 'cluster-api.log'),
    reach: [serviceAccount.apiServerPort],
    publish: [{ inside: WEBHOOK_PORT_INSIDE, host: install.webhookPort }],
    serviceAccount,
  });
  await applyObjects(install.webhookConfigurations);
  return manager;
}

export async function uninstallClusterApi(install: ClusterApiInstall): Promise<void> {
  for (const object of install.webhookConfigurations) {
    await kubectl(['delete', object.kind!.toLowerCase(), object.metadata!.name!, '--ignore-not-found']);
  }
  for (const crd of install.crds) await dropFinalizers(crd);
  await kubectl(['delete', 'crd', ...install.crds, '--ignore-not-found', '--wait=true', '--timeout=120s']);
  for (const object of install.objects.filter((candidate) => candidate.kind !== 'CustomResourceDefinition').reverse()) {
    const namespace = object.metadata?.namespace ? ['-n', object.metadata.namespace] : [];
    await kubectl(['delete', object.kind!.toLowerCase(), object.metadata!.name!, ...namespace, '--ignore-not-found', '--wait=false']);
  }
}
