import { KubernetesObjectApi, type KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../kube/types.js';
import { customKindsOf, discoverControlPlanes } from '../cluster/custom-kind-sinks.js';
import { watchCustomKinds } from '../cluster/custom-kinds.js';
import { pollApiServerVersion } from '../cluster/apiserver-version.js';
import { builtinFeeds, upsertInto } from '../cluster/informers.js';
import type { CrdView } from '../cluster/custom-kinds.js';
import type { ClusterOptions } from '../cluster/options.js';
import { ClusterState } from '../cluster/state.js';
import { LeveeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { JudgedKind } from '../policies/types.js';
import { selfSubjectAccessReviewAuthorizer } from '../cluster/authorizer.js';
import { whoAmI } from '../cluster/identity.js';
import { loadKubeConfig } from '../cluster/kubeconfig.js';
import { clusterOptionsFrom } from '../cluster/options.js';
import type { LeveeConfig } from '../config.js';
import type { PolicyEvaluator } from '../engine/evaluator.js';
import { POLICIES } from '../policies/registry.js';
import { judgeObjects, type AuditReport, type SourcedObject } from './audit.js';

/**
 * `levee audit --cluster`: with -f inputs, each is judged as an UPDATE of its live object;
 * without, every live object of a judged kind is judged as it stands. Context comes from the
 * same caches `serve` fills, filled once.
 */
export async function auditLiveCluster(options: {
  config: LeveeConfig;
  logger: Logger;
  base: { evaluator: PolicyEvaluator; config: LeveeConfig; namespace: string; now: () => Date };
  inputs: SourcedObject[];
  report: AuditReport;
  progress?: (line: string) => void;
}): Promise<void> {
  const { config, logger, base, inputs, report } = options;
  const kubeconfig = loadKubeConfig(config.kubeconfig);
  const live = await liveState(kubeconfig, logger, clusterOptionsFrom(config), options.progress ? { progress: options.progress } : {});
  try {
    const deps = { ...base, cluster: live.cluster, authorizer: selfSubjectAccessReviewAuthorizer(kubeconfig), user: await whoAmI(kubeconfig) };
    if (inputs.length > 0) {
      await judgeObjects(inputs, { ...deps, liveObject: liveReader(kubeconfig) }, report);
    } else {
      await judgeObjects(scanLive(kubeconfig, liveKinds(live.cluster, config), logger, 500, options.progress), deps, report);
    }
  } finally {
    live.stop();
  }
}

/**
 * The kinds to scan: every kind a policy judges whose resource the cluster serves. A custom
 * kind is listed in the version its CRD stores, when its CRD exists (a provider may serve an
 * older version than the one levee names); kinds a policy judges by group (control planes of
 * providers levee does not list) come from the CRDs too. Built-in kinds are always listed.
 */
export function liveKinds(cluster: ClusterState, config: LeveeConfig): JudgedKind[] {
  const crds = new Map<string, CrdView>();
  for (const crd of cluster.crds.values()) if (crd.established) crds.set(`${crd.group}/${crd.kind}`, crd);
  const kinds: JudgedKind[] = [];
  const listed = new Set<string>();
  const add = (kind: JudgedKind): void => {
    const key = `${kind.group}/${kind.kind}`;
    if (listed.has(key)) return;
    listed.add(key);
    const crd = crds.get(key);
    const version = crd ? (crd.storageVersion ?? crd.servedVersions[0]) : kind.version;
    if (crd && version) kinds.push({ ...kind, version, resource: crd.plural });
    else if (!crd && !isCustomGroup(kind.group)) kinds.push(kind);
  };
  for (const policy of POLICIES) for (const kind of policy.kinds) add(kind);
  for (const crd of crds.values()) {
    for (const policy of POLICIES) {
      const found = policy.judgedKindOf?.(crd.group, crd.kind, config);
      if (found) add(found);
    }
  }
  return kinds;
}

/** Groups only CRDs serve: dotted, and not one of Kubernetes' own (`*.k8s.io`). */
function isCustomGroup(group: string): boolean {
  return group.includes('.') && !group.endsWith('.k8s.io');
}

/**
 * The cluster as `serve` sees it, read once for an audit run: the built-in kinds listed in
 * pages (limit/continue), each page projected into the stores and dropped, so memory holds the
 * trimmed views of a large cluster, never its list responses; custom kinds (Cluster API,
 * Karpenter) and the API server's version from the watchers `serve` uses, until they have listed.
 */
export async function liveState(
  kubeconfig: KubeConfig,
  logger: Logger,
  options: ClusterOptions,
  { pageSize = 500, timeoutMs = 60_000, progress }: { pageSize?: number; timeoutMs?: number; progress?: (line: string) => void } = {},
): Promise<{ cluster: ClusterState; stop(): void }> {
  const cluster = new ClusterState(options);
  const customKinds = watchCustomKinds(kubeconfig, cluster.crds, customKindsOf(cluster), logger, { discover: discoverControlPlanes(cluster) });
  const apiServerVersion = pollApiServerVersion(kubeconfig, cluster.apiServer, logger);
  const stop = (): void => {
    customKinds.stop();
    apiServerVersion.stop();
  };
  try {
    const feeds = builtinFeeds(kubeconfig, cluster);
    let listed = 0;
    for (const feed of feeds) {
      let continueToken: string | undefined;
      do {
        let page;
        try {
          page = await feed.list({ limit: pageSize, ...(continueToken ? { _continue: continueToken } : {}) });
        } catch (err) {
          throw new LeveeError('KUBECONFIG_MISSING', `cannot list ${feed.path}: ${(err as Error).message}; is the API server reachable?`);
        }
        for (const item of page.items) upsertInto(feed, item);
        listed += page.items.length;
        progress?.(`levee audit: ${listed} objects read from the cluster (${feed.path})`);
        continueToken = page.metadata?._continue || undefined;
      } while (continueToken);
    }
    for (const feed of feeds) for (const { store } of feed.sinks) store.markSynced();
    const deadline = Date.now() + timeoutMs;
    while (!cluster.synced) {
      if (Date.now() > deadline) {
        const waiting = cluster.stats().filter((stats) => !stats.synced).map((stats) => stats.name);
        throw new LeveeError('KUBECONFIG_MISSING', `cluster caches did not sync within ${timeoutMs / 1000} s (${waiting.join(', ')}); is the API server reachable?`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { cluster, stop };
  } catch (err) {
    stop();
    throw err;
  }
}

/** Reads the live version of an input object, or null when it does not exist yet. */
export function liveReader(kubeconfig: KubeConfig): (object: KubeObject) => Promise<KubeObject | null> {
  const api = KubernetesObjectApi.makeApiClient(kubeconfig);
  return async (object) => {
    try {
      const header = { apiVersion: object.apiVersion!, kind: object.kind!, metadata: { name: object.metadata?.name ?? '', namespace: object.metadata?.namespace ?? '' } };
      return (await api.read(header)) as KubeObject;
    } catch (err) {
      if ((err as { code?: number }).code === 404) return null;
      throw new LeveeError('KUBECONFIG_MISSING', `cannot read ${object.kind}/${object.metadata?.name}: ${(err as Error).message}`);
    }
  };
}

/**
 * Every live object of the kinds policies judge, listed in pages so a large cluster is
 * never held in one response. Kinds whose CRD is not installed are passed over.
 */
export async function* scanLive(
  kubeconfig: KubeConfig,
  kinds: readonly JudgedKind[],
  logger: Logger,
  pageSize = 500,
  progress?: (line: string) => void,
): AsyncGenerator<SourcedObject> {
  const api = KubernetesObjectApi.makeApiClient(kubeconfig);
  let listed = 0;
  for (const kind of kinds) {
    const apiVersion = kind.group ? `${kind.group}/${kind.version}` : kind.version;
    let continueToken: string | undefined;
    do {
      let page;
      try {
        page = await api.list(apiVersion, kind.kind, undefined, undefined, undefined, undefined, undefined, undefined, pageSize, continueToken);
      } catch (err) {
        const code = (err as { code?: number }).code;
        // A kind whose group is served but not the kind itself: the client fails before any request.
        if (code === 404 || /Unrecognized API version and kind/.test((err as Error).message ?? '')) {
          logger.debug({ kind: kind.kind }, 'kind not served by this cluster; skipped');
          break;
        }
        throw new LeveeError('KUBECONFIG_MISSING', `cannot list ${kind.resource}: ${(err as Error).message}`);
      }
      for (const item of page.items) {
        const object = { ...item, apiVersion, kind: kind.kind } as KubeObject;
        yield { object, source: `cluster:${kind.resource}` };
      }
      listed += page.items.length;
      progress?.(`levee audit: ${listed} objects listed (${kind.resource})`);
      continueToken = page.metadata?._continue || undefined;
    } while (continueToken);
  }
}
