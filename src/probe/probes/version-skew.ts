import { expectStatus } from '../kube-api.js';
import type { ProbeDefinition, ProbeOutcome } from '../types.js';
import { listNames } from './nodes.js';
import { unreadFeeds } from './support.js';

/**
 * Version skew between the API server and the kubelets. An API server older than any
 * kubelet is critical: the ride-hailing outage's state, which no webhook sees happen because
 * replacing a binary is not an API write. Kubelets too far behind are only reported.
 * Behind a load balancer each run sees one API server instance.
 */
export const versionSkew: ProbeDefinition = {
  id: 'version-skew',
  summary: 'API server not older than any kubelet (critical); kubelets within the supported skew',
  feeds: ['nodes'],
  async run(context): Promise<ProbeOutcome> {
    const { api, config, signal, cache } = context;
    const version = expectStatus(await api.get<{ gitVersion?: string }>('/version', { signal }), 'reading /version', 200).body.gitVersion ?? '';
    const server = minorOf(version);
    if (!server) return { ok: true, message: `API server reports version ${JSON.stringify(version)}, not a release version; skew not judged` };

    const unread = await unreadFeeds(context, ['nodes']);
    if (unread) return unread;
    const nodes = cache.nodes();
    const newer: string[] = [];
    const tooOld: string[] = [];
    const seen = new Map<string, number>();
    for (const node of nodes) {
      const kubelet = node.kubeletVersion;
      const parsed = minorOf(kubelet);
      if (!parsed) continue;
      seen.set(kubelet, (seen.get(kubelet) ?? 0) + 1);
      const name = node.name || '?';
      if (parsed.major > server.major || (parsed.major === server.major && parsed.minor > server.minor)) newer.push(`${name} (${kubelet})`);
      else if (parsed.major === server.major && server.minor - parsed.minor > config.probe.thresholds.kubeletMaxMinorsBehind) tooOld.push(`${name} (${kubelet})`);
    }
    const details = { apiServer: version, kubelets: Object.fromEntries(seen) };
    if (newer.length > 0) {
      return {
        ok: false,
        severity: 'critical',
        message: `API server ${version} is older than the kubelets on ${newer.length} node(s): ${listNames(newer)}`,
        details,
      };
    }
    if (tooOld.length > 0) {
      return {
        ok: false,
        message: `${tooOld.length} node(s) run kubelets more than ${config.probe.thresholds.kubeletMaxMinorsBehind} minors behind API server ${version}: ${listNames(tooOld)}`,
        details,
      };
    }
    const spread = [...seen.entries()].sort().map(([kubelet, count]) => `${kubelet} x${count}`).join(', ');
    return { ok: true, message: `API server ${version}; kubelets ${spread || 'none reported'}: within skew`, details };
  },
};

function minorOf(version: string): { major: number; minor: number } | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!match) return undefined;
  const major = Number(match[1]);
  // v0.0.0-master: a build without version stamps, which says nothing about its age.
  return major === 0 ? undefined : { major, minor: Number(match[2]) };
}
