import type { KubeObject } from '../kube/types.js';
import { IndexedStore } from './store.js';
import { objectKey } from './views.js';

/**
 * Cluster API infrastructure machine templates, reduced to whether the machines they describe
 * are spot (or preemptible) instances. A MachineDeployment points at one through
 * `spec.template.spec.infrastructureRef`; the template says what kind of instance it asks for.
 */

export const INFRASTRUCTURE_GROUP = 'infrastructure.cluster.x-k8s.io';

interface MachineSpec {
  spotMarketOptions?: unknown;
  marketType?: unknown;
  spotVMOptions?: unknown;
  preemptible?: unknown;
  provisioningModel?: unknown;
}

export interface MachineTemplateKind {
  kind: string;
  versions: readonly string[];
  /** The field that makes its machines spot, or undefined when they are not. */
  spotField(spec: MachineSpec): string | undefined;
}

const present = (value: unknown): boolean => value !== undefined && value !== null;

export const MACHINE_TEMPLATE_KINDS: readonly MachineTemplateKind[] = [
  {
    // CAPA: spotMarketOptions asks for spot; newer releases also say marketType: Spot.
    kind: 'AWSMachineTemplate',
    versions: ['v1beta2', 'v1beta1'],
    spotField: (spec) => (present(spec.spotMarketOptions) ? 'spotMarketOptions' : spec.marketType === 'Spot' ? 'marketType: Spot' : undefined),
  },
  {
    kind: 'AzureMachineTemplate',
    versions: ['v1beta1'],
    spotField: (spec) => (present(spec.spotVMOptions) ? 'spotVMOptions' : undefined),
  },
  {
    // CAPG: preemptible VMs, or Spot VMs by provisioning model.
    kind: 'GCPMachineTemplate',
    versions: ['v1beta1'],
    spotField: (spec) => (spec.preemptible === true ? 'preemptible: true' : spec.provisioningModel === 'Spot' ? 'provisioningModel: Spot' : undefined),
  },
];

export function findMachineTemplateKind(group: string, kind: string): MachineTemplateKind | undefined {
  return group === INFRASTRUCTURE_GROUP ? MACHINE_TEMPLATE_KINDS.find((candidate) => candidate.kind === kind) : undefined;
}

export interface MachineTemplateView {
  kind: string;
  namespace: string;
  name: string;
  /** What in the template asks for spot machines; absent for on-demand templates. */
  spotField?: string;
}

export function machineTemplateKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${objectKey(namespace, name)}`;
}

export function toMachineTemplateView(object: KubeObject, kind: MachineTemplateKind): MachineTemplateView {
  const spec = ((object.spec as { template?: { spec?: MachineSpec } } | undefined)?.template?.spec ?? {}) as MachineSpec;
  const spotField = kind.spotField(spec);
  return {
    kind: kind.kind,
    namespace: object.metadata?.namespace ?? '',
    name: object.metadata?.name ?? '',
    ...(spotField ? { spotField } : {}),
  };
}

export class MachineTemplateStore extends IndexedStore<MachineTemplateView> {
  constructor() {
    super('machinetemplates', { kind: (view) => [view.kind] });
  }

  /** The view and key of a template object, or undefined for kinds levee does not read. */
  project(object: KubeObject, group: string): [string, MachineTemplateView] | undefined {
    const kind = findMachineTemplateKind(group, object.kind ?? '');
    if (!kind) return undefined;
    const view = toMachineTemplateView(object, kind);
    return [machineTemplateKey(view.kind, view.namespace, view.name), view];
  }

  /** Forgets every template of one kind, as when its CRD is deleted. */
  removeKind(kind: string): void {
    for (const view of this.byIndex('kind', kind)) this.remove(machineTemplateKey(view.kind, view.namespace, view.name));
  }
}
