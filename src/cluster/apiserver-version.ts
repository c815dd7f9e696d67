import type { KubeConfig, VersionApi } from '@kubernetes/client-node';
import type { Logger } from '../logger.js';
import { compareVersions, parseKubeVersion, type KubeVersion } from './versions.js';

// Behind a load balancer each call reaches one API server; the oldest recent answer is the
// one kubelets must not outrun, so answers are remembered for a few refresh periods.
const REMEMBERED_PERIODS = 3;

/** The API server's own version, as last fetched from GET /version, off the admission path. */
export class ApiServerVersion {
  private samples: Array<{ version: KubeVersion; at: number }> = [];
  readonly refreshMs: number;

  constructor(refreshMs: number) {
    this.refreshMs = refreshMs;
  }

  record(version: KubeVersion, at: number = Date.now()): void {
    const horizon = at - this.refreshMs * REMEMBERED_PERIODS;
    this.samples = [...this.samples.filter((sample) => sample.at >= horizon), { version, at }];
  }

  /** The oldest version seen recently, or undefined before the first answer. */
  current(): KubeVersion | undefined {
    let oldest: KubeVersion | undefined;
    for (const { version } of this.samples) if (!oldest || compareVersions(version, oldest) < 0) oldest = version;
    return oldest;
  }
}

/**
 * Fetches /version now and then every `refreshMs`, each fetch within `timeoutMs`; a failed
 * fetch keeps the last answer, and fetches never pile up behind an API server that stopped
 * answering.
 */
export function pollApiServerVersion(kubeconfig: KubeConfig, holder: ApiServerVersion, logger: Logger, timeoutMs = 10_000): { stop(): void } {
  // The API client is loaded here, not with the module: ClusterState needs this file, and an
  // offline `levee audit` builds a ClusterState without ever talking to a cluster.
  let api: VersionApi | undefined;
  let stopped = false;
  const fetchOnce = async (): Promise<void> => {
    try {
      const { apiClientWithDeadline } = await import('../kube/deadline.js');
      api ??= apiClientWithDeadline(kubeconfig, (await import('@kubernetes/client-node')).VersionApi, Math.min(timeoutMs, holder.refreshMs));
      const info = await api.getCode();
      const version = parseKubeVersion(info.gitVersion);
      if (!version) {
        logger.warn({ gitVersion: info.gitVersion }, 'API server version not understood');
        return;
      }
      const before = holder.current();
      holder.record(version);
      if (!before || compareVersions(before, version) !== 0) logger.info({ apiServer: version.text }, 'API server version');
    } catch (err) {
      if (!stopped) logger.warn({ err: String((err as Error)?.message ?? err) }, 'API server version not fetched; keeping the last one');
    }
  };
  void fetchOnce();
  const timer = setInterval(() => void fetchOnce(), holder.refreshMs);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
