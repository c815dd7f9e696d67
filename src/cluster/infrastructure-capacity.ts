import { fieldAt, recordOf } from '../kube/fields.js';
import type { KubeObject } from '../kube/types.js';
import { IndexedStore } from './store.js';
import { objectKey } from './views.js';

/**
 * Cluster API provider objects that say whether the machines of a worker pool are spot (or
 * preemptible): the machine templates MachineDeployments and ClusterClasses point at, and the
 * infrastructure machine pools (and their templates) MachinePools point at. Each is reduced
 * to the field that asks for spot capacity, if any. Read from the providers' API types
 * (cluster-api-provider-aws, -azure, -gcp).
 */

export const INFRASTRUCTURE_GROUP = 'infrastructure.cluster.x-k8s.io';

type Fields = Readonly<Record<string, unknown>>;

export interface InfrastructureKind {
  kind: string;
  versions: readonly string[];
  /** Dot path of the machine spec inside the object. */
  specPath: string;
  /** The field that makes its machines spot, or undefined when they are not. */
  spotField(spec: Fields): string | undefined;
}

const present = (value: unknown): boolean => value !== undefined && value !== null;
const is = (value: unknown, expected: string): boolean => typeof value === 'string' && value.toLowerCase() === expected.toLowerCase();
const record = (value: unknown): Fields => recordOf(value) ?? {};

/** CAPA EC2 instances: `spotMarketOptions` (even empty) asks for spot; newer releases also say `marketType: Spot`. */
function awsInstance(spec: Fields, prefix = ''): string | undefined {
  if (present(spec.spotMarketOptions)) return `${prefix}spotMarketOptions`;
  if (is(spec.marketType, 'Spot')) return `${prefix}marketType: Spot`;
  return undefined;
}

/**
 * An AWSMachinePool's Auto Scaling group: its launch template, or a mixed instances policy
 * that launches no on-demand instance at all (no base capacity, 0% above it). A policy with
 * some on-demand share can make on-demand machines and counts as on-demand.
 */
function awsMachinePool(spec: Fields): string | undefined {
  const launchTemplate = awsInstance(record(spec.awsLaunchTemplate), 'awsLaunchTemplate.');
  if (launchTemplate) return launchTemplate;
  const distribution = record(record(spec.mixedInstancesPolicy).instancesDistribution);
  const percentage = distribution.onDemandPercentageAboveBaseCapacity;
  const base = distribution.onDemandBaseCapacity ?? 0;
  if (typeof percentage === 'number' && percentage <= 0 && typeof base === 'number' && base <= 0) {
    return 'mixedInstancesPolicy.instancesDistribution.onDemandPercentageAboveBaseCapacity: 0';
  }
  return undefined;
}

/** EKS managed node groups: `capacityType: spot`. */
function awsManagedMachinePool(spec: Fields): string | undefined {
  if (is(spec.capacityType, 'spot')) return 'capacityType: spot';
  return awsInstance(record(spec.awsLaunchTemplate), 'awsLaunchTemplate.');
}

const azureVm = (spec: Fields): string | undefined => (present(spec.spotVMOptions) ? 'spotVMOptions' : undefined);

/** CAPG instances: preemptible VMs, or Spot VMs by provisioning model. */
function gcpInstance(spec: Fields): string | undefined {
  if (spec.preemptible === true) return 'preemptible: true';
  if (is(spec.provisioningModel, 'Spot')) return 'provisioningModel: Spot';
  return undefined;
}

/** GKE node pools: `spot: true` or `preemptible: true`. */
function gkeNodePool(spec: Fields): string | undefined {
  if (spec.spot === true) return 'spot: true';
  if (spec.preemptible === true) return 'preemptible: true';
  return undefined;
}

const TEMPLATE = 'spec.template.spec';

export const INFRASTRUCTURE_KINDS: readonly InfrastructureKind[] = [
  // Machine templates, for MachineDeployments and ClusterClass machineDeployments classes.
  { kind: 'AWSMachineTemplate', versions: ['v1beta2', 'v1beta1'], specPath: TEMPLATE, spotField: (spec) => awsInstance(spec) },
  { kind: 'AzureMachineTemplate', versions: ['v1beta1'], specPath: TEMPLATE, spotField: azureVm },
  { kind: 'GCPMachineTemplate', versions: ['v1beta1'], specPath: TEMPLATE, spotField: gcpInstance },
  // Infrastructure machine pools, for MachinePools, and their templates, for ClusterClass machinePools classes.
  { kind: 'AWSMachinePool', versions: ['v1beta2', 'v1beta1'], specPath: 'spec', spotField: awsMachinePool },
  { kind: 'AWSMachinePoolTemplate', versions: ['v1beta2'], specPath: TEMPLATE, spotField: awsMachinePool },
  { kind: 'AWSManagedMachinePool', versions: ['v1beta2', 'v1beta1'], specPath: 'spec', spotField: awsManagedMachinePool },
  { kind: 'AWSManagedMachinePoolTemplate', versions: ['v1beta2'], specPath: TEMPLATE, spotField: awsManagedMachinePool },
  { kind: 'AzureMachinePool', versions: ['v1beta1'], specPath: 'spec.template', spotField: azureVm },
  { kind: 'AzureManagedMachinePool', versions: ['v1beta1'], specPath: 'spec', spotField: (spec) => (is(spec.scaleSetPriority, 'Spot') ? 'scaleSetPriority: Spot' : undefined) },
  {
    kind: 'AzureManagedMachinePoolTemplate',
    versions: ['v1beta1'],
    specPath: TEMPLATE,
    spotField: (spec) => (is(spec.scaleSetPriority, 'Spot') ? 'scaleSetPriority: Spot' : undefined),
  },
  { kind: 'GCPMachinePool', versions: ['v1beta1'], specPath: 'spec', spotField: gcpInstance },
  { kind: 'GCPManagedMachinePool', versions: ['v1beta1'], specPath: 'spec', spotField: gkeNodePool },
  { kind: 'GCPManagedMachinePoolTemplate', versions: ['v1beta1'], specPath: TEMPLATE, spotField: gkeNodePool },
];

export function findInfrastructureKind(group: string, kind: string): InfrastructureKind | undefined {
  return group === INFRASTRUCTURE_GROUP ? INFRASTRUCTURE_KINDS.find((candidate) => candidate.kind === kind) : undefined;
}

/** A reference from a worker pool (or a ClusterClass) to the provider object its machines are made from. */
export interface InfrastructureRef {
  group: string;
  kind: string;
  /** Empty for a reference without one: the referring object's own namespace. */
  namespace: string;
  name: string;
}

export interface InfrastructureView {
  kind: string;
  namespace: string;
  name: string;
  /** What in the object asks for spot machines; absent for on-demand ones. */
  spotField?: string;
}

export function infrastructureKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${objectKey(namespace, name)}`;
}

function fieldsAt(object: unknown, path: string): Fields {
  return record(fieldAt(object, path));
}

export function toInfrastructureView(object: KubeObject, kind: InfrastructureKind): InfrastructureView {
  const spotField = kind.spotField(fieldsAt(object, kind.specPath));
  return {
    kind: kind.kind,
    namespace: object.metadata?.namespace ?? '',
    name: object.metadata?.name ?? '',
    ...(spotField ? { spotField } : {}),
  };
}

/** The provider objects levee reads, by kind, namespace and name. */
export class InfrastructureStore extends IndexedStore<InfrastructureView> {
  constructor() {
    super('infrastructure', { kind: (view) => [view.kind] });
  }

  /** The view and key of a provider object, or undefined for kinds levee does not read. */
  project(object: KubeObject, group: string): [string, InfrastructureView] | undefined {
    const kind = findInfrastructureKind(group, object.kind ?? '');
    if (!kind) return undefined;
    const view = toInfrastructureView(object, kind);
    return [infrastructureKey(view.kind, view.namespace, view.name), view];
  }

  /** Forgets every object of one kind, as when its CRD is deleted. */
  removeKind(kind: string): void {
    this.removeByIndex('kind', kind);
  }
}
