import { fieldAt, groupOf } from '../kube/fields.js';
import { CLUSTER_NAME_LABEL, type ControlPlaneDiscovery, type UpgradeIntentKind } from '../kube/cluster-api.js';
import type { KubeObject } from '../kube/types.js';
import { IndexedStore } from './store.js';
import { parseKubeVersion, VersionTally, type KubeVersion } from './versions.js';

/**
 * Upgrade-intent objects: custom resources that declare the Kubernetes version a workload
 * cluster's control plane or workers should run (Cluster API's KubeadmControlPlane,
 * MachineDeployment, Cluster topology...). Which kinds, and where their version and
 * cluster live, is configuration.
 */

export interface IntentView {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  /** The workload cluster, or undefined when the object does not say. */
  cluster?: string;
  role: 'control-plane' | 'workers' | 'both';
  version?: KubeVersion;
}

export function findIntentKind(kinds: readonly UpgradeIntentKind[], group: string, kind: string): UpgradeIntentKind | undefined {
  return kinds.find((candidate) => candidate.group === group && candidate.kind === kind);
}

export const NO_DISCOVERY: ControlPlaneDiscovery = { groups: [], kinds: [], exclude: [], versionField: 'spec.version' };

/**
 * The upgrade intent a kind is: a configured one, or a control plane found by its group or
 * kind (`versions`: the API versions its CRD serves, when known). Templates of control planes
 * (`...ControlPlaneTemplate`) carry no version of their own and are not control planes.
 */
export function intentKindFor(kinds: readonly UpgradeIntentKind[], discovery: ControlPlaneDiscovery, group: string, kind: string, versions: readonly string[] = []): UpgradeIntentKind | undefined {
  const configured = findIntentKind(kinds, group, kind);
  if (configured) return configured;
  if (!kind || kind.endsWith('Template') || discovery.exclude.includes(kind)) return undefined;
  const listed = discovery.kinds.find((candidate) => candidate.group === group && candidate.kind === kind);
  if (!listed && !discovery.groups.includes(group)) return undefined;
  const fallbackVersionField = listed?.fallbackVersionField;
  return { group, kind, versions, versionField: discovery.versionField, ...(fallbackVersionField ? { fallbackVersionField } : {}), role: 'control-plane', clusterLabel: CLUSTER_NAME_LABEL };
}

function clusterOf(object: KubeObject, kind: UpgradeIntentKind): string | undefined {
  const fromLabel = kind.clusterLabel ? object.metadata?.labels?.[kind.clusterLabel] : undefined;
  if (fromLabel) return fromLabel;
  const fromField = kind.clusterField ? fieldAt(object, kind.clusterField) : undefined;
  if (typeof fromField === 'string' && fromField) return fromField;
  // A control plane created by a Cluster is owned by it even before it is labelled. Its uid is
  // not compared: the label and field read first are the writer's as much as the reference,
  // and Cluster API links a control plane to its Cluster by name too; what version-skew asks
  // is which versions one workload cluster runs, not who may speak for an owner.
  const owner = object.metadata?.ownerReferences?.find((ref) => ref.kind === 'Cluster' && groupOf(ref.apiVersion) === 'cluster.x-k8s.io');
  return owner?.name;
}

export function toIntentView(object: KubeObject, kind: UpgradeIntentKind, fallbackNamespace = ''): IntentView {
  const labels = object.metadata?.labels ?? {};
  const role =
    kind.role === 'control-plane-and-workers'
      ? 'both'
      : kind.role === 'workers' && kind.controlPlaneLabel && kind.controlPlaneLabel in labels
        ? 'control-plane'
        : kind.role === 'control-plane'
          ? 'control-plane'
          : 'workers';
  const cluster = clusterOf(object, kind);
  const version = parseKubeVersion(fieldAt(object, kind.versionField)) ?? (kind.fallbackVersionField ? parseKubeVersion(fieldAt(object, kind.fallbackVersionField)) : undefined);
  return {
    group: kind.group,
    kind: kind.kind,
    namespace: object.metadata?.namespace ?? fallbackNamespace,
    name: object.metadata?.name ?? '',
    ...(cluster ? { cluster } : {}),
    role,
    ...(version ? { version } : {}),
  };
}

export function intentKey(view: Pick<IntentView, 'group' | 'kind' | 'namespace' | 'name'>): string {
  return `${view.group}/${view.kind}/${view.namespace}/${view.name}`;
}

export function clusterKey(namespace: string, cluster: string): string {
  return `${namespace}/${cluster}`;
}

interface ClusterTallies {
  controlPlane: VersionTally;
  workers: VersionTally;
}

export interface VersionRange {
  min: KubeVersion;
  max: KubeVersion;
  count: number;
}

/**
 * Upgrade intents of every configured kind, with per-workload-cluster version ranges of the
 * control plane and of the workers kept up to date on each event.
 */
export class UpgradeIntentStore extends IndexedStore<IntentView> {
  readonly kinds: readonly UpgradeIntentKind[];
  readonly discovery: ControlPlaneDiscovery;
  private readonly clusters = new Map<string, ClusterTallies>();

  constructor(kinds: readonly UpgradeIntentKind[], discovery: ControlPlaneDiscovery = NO_DISCOVERY) {
    super('upgradeintents', { kind: (view) => [`${view.group}/${view.kind}`] });
    this.kinds = kinds;
    this.discovery = discovery;
  }

  project(object: KubeObject): [string, IntentView] | undefined {
    const kind = intentKindFor(this.kinds, this.discovery, groupOf(object.apiVersion), object.kind ?? '');
    if (!kind) return undefined;
    const view = toIntentView(object, kind);
    return [intentKey(view), view];
  }

  protected override added(view: IntentView): void {
    this.count(view, +1);
  }

  protected override removed(view: IntentView): void {
    this.count(view, -1);
  }

  override replaceAll(entries: Iterable<[string, IntentView]>): void {
    this.clusters.clear();
    super.replaceAll(entries);
  }

  /** Forgets every object of one kind, as when its CRD is deleted. */
  removeKind(group: string, kind: string): void {
    this.removeByIndex('kind', `${group}/${kind}`);
  }

  /** The control plane's and the workers' version ranges of one workload cluster, leaving out `except` (the object being judged). */
  ranges(namespace: string, cluster: string, except?: IntentView): { controlPlane?: VersionRange; workers?: VersionRange } {
    const tallies = this.clusters.get(clusterKey(namespace, cluster));
    if (!tallies) return {};
    const excludedFrom = except?.version && except.cluster === cluster && except.namespace === namespace ? except.role : undefined;
    const controlPlane = tallies.controlPlane.range(excludedFrom && excludedFrom !== 'workers' ? except!.version : undefined);
    const workers = tallies.workers.range(excludedFrom === 'workers' ? except!.version : undefined);
    return { ...(controlPlane ? { controlPlane } : {}), ...(workers ? { workers } : {}) };
  }

  /**
   * The version ranges of one workload cluster as the tallies hold them, corrected: `without`
   * are objects the tallies count that are to be left out (the one a request replaces, those a
   * change allowed moments ago replaces), `added` objects to count besides.
   */
  rangesAdjusted(namespace: string, cluster: string, without: readonly IntentView[], added: readonly IntentView[]): { controlPlane?: VersionRange; workers?: VersionRange } {
    const tallies = this.clusters.get(clusterKey(namespace, cluster)) ?? { controlPlane: new VersionTally(), workers: new VersionTally() };
    const versions = (views: readonly IntentView[], workers: boolean): KubeVersion[] =>
      views.flatMap((view) => (view.version && (view.role === 'workers') === workers ? [view.version] : []));
    const controlPlane = tallies.controlPlane.rangeAdjusted(versions(without, false), versions(added, false));
    const workers = tallies.workers.rangeAdjusted(versions(without, true), versions(added, true));
    return { ...(controlPlane ? { controlPlane } : {}), ...(workers ? { workers } : {}) };
  }

  private count(view: IntentView, delta: 1 | -1): void {
    if (!view.cluster || !view.version) return;
    const key = clusterKey(view.namespace, view.cluster);
    let tallies = this.clusters.get(key);
    if (!tallies) this.clusters.set(key, (tallies = { controlPlane: new VersionTally(), workers: new VersionTally() }));
    const tally = view.role === 'workers' ? tallies.workers : tallies.controlPlane;
    if (delta > 0) tally.add(view.version);
    else tally.remove(view.version);
    if (tallies.controlPlane.size === 0 && tallies.workers.size === 0) this.clusters.delete(key);
  }
}
