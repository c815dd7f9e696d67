import { join } from 'node:path';
import type { KubeObject } from '../../src/kube/types.js';
import {
  applyObjects,
  buildTool,
  dropFinalizers,
  goModuleDir,
  serviceAccountCredentials,
  waitForCrds,
  yamlFileObjects,
  yamlObjects,
} from './controllers.js';
import { kubectl } from './e2e.js';
import { helm } from './helm.js';
import { startIsolated, type IsolatedProcess } from './isolated-process.js';

/**
 * Karpenter with its kwok cloud provider (sigs.k8s.io/karpenter/kwok, pinned in
 * tools/karpenter/go.mod): real NodePools and NodeClaims, and real Node objects for the
 * instances it "launches", which the local cluster's kwok then keeps Ready. Installed as its
 * kwok chart installs it (release `karpenter` in kube-system, the namespace the project's
 * Makefile and AWS's getting-started guide use), so it acts as
 * system:serviceaccount:kube-system:karpenter, with the chart's CRDs of the same module version.
 */

export const KARPENTER_NAMESPACE = 'kube-system';
export const KARPENTER_SERVICE_ACCOUNT = 'karpenter';
export const KARPENTER_USER = `system:serviceaccount:${KARPENTER_NAMESPACE}:${KARPENTER_SERVICE_ACCOUNT}`;
export const NODE_CLASS = { group: 'karpenter.kwok.sh', kind: 'KWOKNodeClass', name: 'levee-e2e' };

const repoRoot = process.cwd();
const stateDir = join(repoRoot, '.levee', 'e2e');

export interface KarpenterInstall {
  moduleDir: string;
  crds: string[];
  rbac: KubeObject[];
  /** The chart Deployment's environment for the controller container, resolved as the kubelet would. */
  env: Record<string, string>;
}

/**
 * Values the kwok chart leaves out at this version: without them its Deployment sets
 * FEATURE_GATES to `StaticCapacity=,...,CapacityBuffer=`, and Karpenter panics parsing it
 * (`invalid value of StaticCapacity`). The AWS chart defaults both to false.
 */
const CHART_VALUES = ['--set', 'settings.featureGates.staticCapacity=false', '--set', 'settings.featureGates.capacityBuffer=false'];
const RBAC_KINDS = ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string }; resourceFieldRef?: { resource: string } };
}

/**
 * The controller container's environment. The chart sets no resources, so the two variables
 * it takes from them (MEMORY_LIMIT, CPU_REQUESTS) are left to Karpenter's own defaults.
 */
function containerEnv(deployment: KubeObject | undefined): Record<string, string> {
  const spec = deployment?.spec as { template: { spec: { containers: Array<{ name: string; env?: EnvVar[]; resources?: object }> } } } | undefined;
  const container = spec?.template.spec.containers.find((candidate) => candidate.name === 'controller');
  if (!container) throw new Error('the kwok chart rendered no controller container');
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (variable.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[variable.name] = KARPENTER_NAMESPACE;
    else if (variable.valueFrom?.resourceFieldRef && Object.keys(container.resources ?? {}).length === 0) continue;
    else throw new Error(`the kwok chart sets ${variable.name} in a way the e2e tests do not resolve: ${JSON.stringify(variable)}`);
  }
  return env;
}

/**
 * The kwok chart of the pinned module, rendered by helm (tools/helm) for release `karpenter`
 * in kube-system with its CRDs, and the kwok provider's node class CRD beside it: CRDs,
 * ServiceAccount and RBAC are applied; the Deployment only gives the controller's environment.
 */
export async function installKarpenter(): Promise<KarpenterInstall> {
  const moduleDir = await goModuleDir('karpenter', 'sigs.k8s.io/karpenter');
  const rendered = await helm(['template', 'karpenter', join(moduleDir, 'kwok', 'charts'), '--namespace', KARPENTER_NAMESPACE, '--include-crds', ...CHART_VALUES]);
  if (rendered.code !== 0) throw new Error(`helm template of the kwok chart failed: ${rendered.stderr}`);
  const objects = yamlObjects(rendered.stdout);
  const crdObjects = [
    ...objects.filter((object) => object.kind === 'CustomResourceDefinition'),
    ...yamlFileObjects(join(moduleDir, 'kwok', 'apis', 'crds', 'karpenter.kwok.sh_kwoknodeclasses.yaml')),
  ];
  await applyObjects(crdObjects);
  const crds = crdObjects.map((crd) => crd.metadata!.name!);
  await waitForCrds(crds);
  const rbac = objects.filter((object) => RBAC_KINDS.includes(object.kind!));
  await applyObjects(rbac);
  return { moduleDir, crds, rbac, env: containerEnv(objects.find((object) => object.kind === 'Deployment')) };
}

export async function uninstallKarpenter(install: KarpenterInstall): Promise<void> {
  for (const resource of ['nodeclaims.karpenter.sh', 'nodepools.karpenter.sh', 'kwoknodeclasses.karpenter.kwok.sh']) await dropFinalizers(resource);
  await kubectl(['delete', 'crd', ...install.crds, '--ignore-not-found', '--wait=true', '--timeout=60s']);
  for (const object of [...install.rbac].reverse()) {
    const namespace = object.metadata?.namespace ? ['-n', object.metadata.namespace] : [];
    await kubectl(['delete', object.kind!.toLowerCase(), object.metadata!.name!, ...namespace, '--ignore-not-found']);
  }
}

/**
 * Starts the kwok provider's Karpenter as its chart's Deployment would: the chart's
 * environment, its ServiceAccount's token where the pod has it, in namespaces of its own (it
 * listens on :8080 and :8081).
 */
export async function startKarpenter(install: KarpenterInstall, options: { logFile?: string } = {}): Promise<IsolatedProcess> {
  const binary = await buildTool('karpenter');
  const serviceAccount = await serviceAccountCredentials(KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT);
  return startIsolated({
    command: binary,
    args: [],
    env: install.env,
    logFile: options.logFile ?? join(stateDir, 'karpenter.log'),
    reach: [serviceAccount.apiServerPort],
    serviceAccount,
  });
}

export function kwokNodeClass(): KubeObject {
  return { apiVersion: 'karpenter.kwok.sh/v1alpha1', kind: NODE_CLASS.kind, metadata: { name: NODE_CLASS.name } };
}

export interface NodePoolOptions {
  capacityTypes?: string[];
  consolidateAfter?: string;
  expireAfter?: string;
  labels?: Record<string, string>;
}

/** A NodePool of the kwok provider, as its README shows one, limited to small instances. */
export function nodePool(name: string, options: NodePoolOptions = {}): KubeObject {
  const requirements = [
    { key: 'kubernetes.io/os', operator: 'In', values: ['linux'] },
    { key: 'karpenter.kwok.sh/instance-cpu', operator: 'Lt', values: ['5'] },
    ...(options.capacityTypes ? [{ key: 'karpenter.sh/capacity-type', operator: 'In', values: options.capacityTypes }] : []),
  ];
  return {
    apiVersion: 'karpenter.sh/v1',
    kind: 'NodePool',
    metadata: { name },
    spec: {
      template: {
        ...(options.labels ? { metadata: { labels: options.labels } } : {}),
        spec: { requirements, nodeClassRef: NODE_CLASS, expireAfter: options.expireAfter ?? 'Never' },
      },
      limits: { cpu: '64' },
      disruption: { consolidationPolicy: 'WhenEmptyOrUnderutilized', consolidateAfter: options.consolidateAfter ?? 'Never', budgets: [{ nodes: '100%' }] },
    },
  };
}

/** A Deployment whose pods fit only on nodes of NodePool `pool`, so Karpenter must launch one. */
export function workloadFor(pool: string, namespace: string, replicas = 1): KubeObject {
  const labels = { app: `on-${pool}` };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `on-${pool}`, namespace },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          nodeSelector: { 'karpenter.sh/nodepool': pool },
          containers: [{ name: 'app', image: 'registry.example/app:1.0', resources: { requests: { cpu: '500m', memory: '256Mi' } } }],
        },
      },
    },
  };
}

export interface NodeItem {
  metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec?: { unschedulable?: boolean; taints?: Array<{ key: string; effect: string }> };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

export async function nodesOfPool(pool: string): Promise<NodeItem[]> {
  const result = await kubectl(['get', 'nodes', '-l', `karpenter.sh/nodepool=${pool}`, '-o', 'json']);
  if (result.code !== 0) throw new Error(result.stderr);
  return (JSON.parse(result.stdout) as { items: NodeItem[] }).items;
}

export function isReady(node: NodeItem): boolean {
  return (node.status?.conditions ?? []).some((condition) => condition.type === 'Ready' && condition.status === 'True');
}

