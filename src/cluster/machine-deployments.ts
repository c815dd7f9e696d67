import { CLUSTER_NAME_LABEL } from '../kube/cluster-api.js';
import type { KubeObject } from '../kube/types.js';
import { findMachineTemplateKind, machineTemplateKey, type MachineTemplateStore } from './machine-templates.js';
import { IndexedStore } from './store.js';
import { clusterKey, fieldAt, groupOf } from './upgrade-intents.js';
import { objectKey } from './views.js';

/**
 * Cluster API MachineDeployments as worker pools of a workload cluster: which cluster they
 * belong to and which infrastructure template their machines are made from.
 */

export const MACHINE_DEPLOYMENT_GROUP = 'cluster.x-k8s.io';
export const MACHINE_DEPLOYMENT_KIND = 'MachineDeployment';
export const MACHINE_DEPLOYMENT_VERSIONS = ['v1beta2', 'v1beta1'] as const;

export interface InfrastructureRef {
  group: string;
  kind: string;
  name: string;
}

export interface MachineDeploymentView {
  namespace: string;
  name: string;
  cluster: string;
  infrastructure?: InfrastructureRef;
}

/**
 * What a MachineDeployment's machines are: `spot` when its template asks for spot, `on-demand`
 * when the template is known and does not, `unknown` when levee cannot read the template (a
 * provider it does not know, or a template not cached yet). Only `spot` is ever held against it.
 */
export type MachineCapacity = 'spot' | 'on-demand' | 'unknown';

export interface MachineDeploymentCapacity {
  capacity: MachineCapacity;
  /** `AWSMachineTemplate/name`, or '' when the MachineDeployment names none. */
  template: string;
  /** The template field that asks for spot, e.g. `spotMarketOptions`. */
  spotField?: string;
}

/** v1beta2 names the template by `apiGroup`; v1beta1 by `apiVersion`. */
function infrastructureRefOf(object: KubeObject): InfrastructureRef | undefined {
  const ref = fieldAt(object, 'spec.template.spec.infrastructureRef') as
    | { apiGroup?: string; apiVersion?: string; kind?: string; name?: string }
    | undefined;
  if (!ref?.kind || !ref.name) return undefined;
  return { group: ref.apiGroup ?? groupOf(ref.apiVersion), kind: ref.kind, name: ref.name };
}

export function toMachineDeploymentView(object: KubeObject): MachineDeploymentView {
  const clusterName = fieldAt(object, 'spec.clusterName');
  const cluster = object.metadata?.labels?.[CLUSTER_NAME_LABEL] || (typeof clusterName === 'string' ? clusterName : '');
  const infrastructure = infrastructureRefOf(object);
  return {
    namespace: object.metadata?.namespace ?? '',
    name: object.metadata?.name ?? '',
    cluster,
    ...(infrastructure ? { infrastructure } : {}),
  };
}

export function machineDeploymentCapacity(view: MachineDeploymentView, templates: MachineTemplateStore): MachineDeploymentCapacity {
  const ref = view.infrastructure;
  if (!ref) return { capacity: 'unknown', template: '' };
  const template = `${ref.kind}/${ref.name}`;
  if (!findMachineTemplateKind(ref.group, ref.kind)) return { capacity: 'unknown', template };
  const cached = templates.get(machineTemplateKey(ref.kind, view.namespace, ref.name));
  if (!cached) return { capacity: 'unknown', template };
  return cached.spotField ? { capacity: 'spot', template, spotField: cached.spotField } : { capacity: 'on-demand', template };
}

export class MachineDeploymentStore extends IndexedStore<MachineDeploymentView> {
  constructor() {
    super('machinedeployments', { cluster: (view) => [clusterKey(view.namespace, view.cluster)] });
  }

  project(object: KubeObject): [string, MachineDeploymentView] {
    const view = toMachineDeploymentView(object);
    return [objectKey(view.namespace, view.name), view];
  }

  /** The MachineDeployments of one workload cluster. */
  ofCluster(namespace: string, cluster: string): MachineDeploymentView[] {
    return this.byIndex('cluster', clusterKey(namespace, cluster));
  }
}
