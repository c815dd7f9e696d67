import { Resolver } from 'node:dns/promises';
import { isIPv6 } from 'node:net';
import { expectStatus } from '../kube-api.js';
import type { ProbeContext, ProbeOutcome } from '../types.js';
import type { FeedName } from '../cache.js';
import { unreadFeeds } from './support.js';

interface ServiceObject {
  spec?: { clusterIP?: string; ports?: Array<{ name?: string; port?: number; protocol?: string }> };
}


/** What a query from this host to the DNS Service's address got. */
type HostQuery =
  | { answered: true; addresses: string[]; ms: number }
  /** A negative answer; `clusterZone` says whether that server also answered for the cluster's zone (is a cluster DNS at all). */
  | { answered: true; refusal: string; clusterZone: boolean }
  | { answered: false; why: string };

/** DNS answers that come from a DNS server: it is reachable, and says the name does not resolve. */
const SERVER_ANSWERS = new Set(['ENOTFOUND', 'ENODATA', 'ESERVFAIL', 'EREFUSED', 'EFORMERR', 'ENOTIMP', 'EBADRESP']);

/**
 * DNS Services (of a cluster, by its API server) whose last query from this host got no answer from this cluster's DNS (none at
 * all, or another network's server), when and why: the next query waits `hostRetrySeconds`,
 * so a host that cannot reach the service network does not send one (nor read the Service)
 * every run.
 */
const notReached = new Map<string, { at: number; why: string }>();

function remember(key: string, why: string): string {
  notReached.set(key, { at: Date.now(), why });
  return why;
}

/** Forgets every earlier query from this host (a new configuration, tests). */
export function forgetHostQueries(): void {
  notReached.clear();
}

export const DNS_FEEDS: readonly FeedName[] = ['services', 'endpointslices'];

/**
 * The dns probe when levee runs on a host: it asks the cluster DNS Service's address itself
 * when the host can reach this cluster's DNS (a node, a host with a route to the service
 * network); otherwise it checks what the API server can tell, the Service and its ready
 * endpoints (from the watch cache: no request), and says in its message that nobody asked
 * those endpoints a question, and why. The Service itself is read (one GET) only when a query
 * from the host is due.
 */
export async function dnsFromHost(context: ProbeContext): Promise<ProbeOutcome> {
  const { api, cache, config, signal } = context;
  const unread = await unreadFeeds(context, DNS_FEEDS);
  if (unread) return unread;
  const settings = config.probe.dns;
  const [namespace, name] = settings.service.split('/') as [string, string];
  const service = `${namespace}/${name}`;
  // One process may probe several clusters (a fleet): what one host learnt is per cluster.
  const memory = `${api.server.href} ${service}`;
  if (!cache.services().some((candidate) => candidate.namespace === namespace && candidate.name === name && !candidate.deleting)) {
    return { ok: false, stage: 'service', message: `the cluster DNS Service ${service} does not exist: nothing in the cluster answers DNS (probe.dns.service names another)` };
  }
  const fqdn = fullName(config.probe.dnsName, settings.clusterDomain);

  let notAsked: string;
  let address: string | undefined;
  const last = notReached.get(memory);
  if (!settings.queryFromHost) {
    notAsked = 'probe.dns.queryFromHost is false: no query is sent from this host';
  } else if (last !== undefined && Date.now() - last.at < settings.hostRetrySeconds * 1000) {
    notAsked = `${last.why}; so found at ${new Date(last.at).toISOString()}, asked again ${settings.hostRetrySeconds} s after that`;
  } else {
    const found = await api.get<ServiceObject>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}`, { signal });
    if (found.status === 404) {
      return { ok: false, stage: 'service', message: `the cluster DNS Service ${service} does not exist: nothing in the cluster answers DNS (probe.dns.service names another)` };
    }
    const spec = expectStatus(found, `reading Service ${service}`, 200).body.spec ?? {};
    address = spec.clusterIP && spec.clusterIP !== 'None' ? spec.clusterIP : undefined;
    const port = (spec.ports ?? []).find((candidate) => candidate.protocol === 'UDP' && (candidate.name === 'dns' || candidate.port === 53))
      ?? (spec.ports ?? []).find((candidate) => (candidate.protocol ?? 'TCP') === 'UDP');
    if (!address || !port?.port) {
      notAsked = `${service} has no cluster IP and UDP port to ask from this host`;
    } else {
      const server = isIPv6(address) ? `[${address}]:${port.port}` : `${address}:${port.port}`;
      const query = await askFromHost(server, fqdn, settings.clusterDomain, settings.hostQueryTimeoutMs, signal);
      if (query.answered && 'addresses' in query) {
        // The host may reach another network's server at that address (another cluster's DNS
        // at the same well-known IP): only an answer that names this cluster's Service counts.
        const expected = await serviceAddresses(api, fqdn, settings.clusterDomain, signal);
        const resolved = `${fqdn} resolved to ${query.addresses.join(', ')}`;
        if (!expected || query.addresses.some((resolvedAddress) => expected.includes(resolvedAddress))) {
          notReached.delete(memory);
          return { ok: true, stage: 'resolved', message: `${resolved} through the cluster DNS Service ${service} (${server}), asked from this host in ${query.ms} ms${expected ? ', the Service\'s own address' : ''}` };
        }
        notAsked = remember(memory, `${server} answered from this host, but ${resolved}, not this cluster's ${expected.join(', ')}: the host reaches another DNS server at that address, or a stale one`);
      } else if (query.answered && query.clusterZone) {
        notReached.delete(memory);
        return { ok: false, stage: 'resolved', message: `the cluster DNS Service ${service} (${server}) answered ${fqdn} with ${query.refusal}` };
      } else if (query.answered) {
        // Something answers DNS at that address for any name (a resolver of the host's network
        // catching port 53), but it does not serve the cluster's zone: not this cluster's DNS.
        notAsked = remember(memory, `${server} answered ${fqdn} from this host with ${query.refusal}, and has no SOA for ${settings.clusterDomain}: not a cluster DNS, another network's server at that address`);
      } else {
        notAsked = remember(memory, query.why);
      }
    }
  }

  const slices = cache.slicesOf(namespace, name);
  const ready = slices.reduce((sum, slice) => sum + slice.readyEndpoints, 0);
  const where = `${service}${address ? ` (${address})` : ''}`;
  const checked = `checked from this host: the Service and its EndpointSlices, not a DNS answer (${notAsked})`;
  if (ready === 0) {
    return { ok: false, stage: 'endpoints', message: `${where} has no ready endpoint (${slices.length} EndpointSlices): in-cluster DNS has nobody to answer it; ${checked}` };
  }
  return { ok: true, stage: 'endpoints', message: `${where} has ${ready} ready endpoint${ready === 1 ? '' : 's'}; ${checked}` };
}

/** The cluster IPs of the Service a `<service>.<namespace>.svc.<domain>` name stands for; undefined for any other name or a headless Service. */
async function serviceAddresses(api: ProbeContext['api'], fqdn: string, clusterDomain: string, signal: AbortSignal): Promise<string[] | undefined> {
  const suffix = `.svc.${clusterDomain}`;
  if (!fqdn.endsWith(suffix)) return undefined;
  const parts = fqdn.slice(0, -suffix.length).split('.');
  if (parts.length !== 2) return undefined;
  const [name, namespace] = parts as [string, string];
  const found = expectStatus(
    await api.get<{ spec?: { clusterIP?: string; clusterIPs?: string[] } }>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}`, { signal }),
    `reading Service ${namespace}/${name}`,
    200,
  ).body.spec;
  const addresses = found?.clusterIPs ?? (found?.clusterIP ? [found.clusterIP] : []);
  return addresses.length > 0 && !addresses.includes('None') ? addresses : undefined;
}

/** `kubernetes.default` → `kubernetes.default.svc.cluster.local`: a host has no cluster search domains. */
function fullName(name: string, clusterDomain: string): string {
  const bare = name.replace(/\.$/, '');
  if (bare.endsWith(`.${clusterDomain}`)) return bare;
  if (bare.endsWith('.svc')) return `${bare}.${clusterDomain}`;
  // <service>.<namespace>, as a pod would write it.
  return bare.split('.').length === 2 ? `${bare}.svc.${clusterDomain}` : bare;
}

/** Whether the server answers the SOA of the cluster's zone, as every cluster DNS (CoreDNS, kube-dns) does. */
async function servesZone(resolver: Resolver, clusterDomain: string): Promise<boolean> {
  try {
    await resolver.resolveSoa(clusterDomain);
    return true;
  } catch {
    return false;
  }
}

async function askFromHost(server: string, fqdn: string, clusterDomain: string, timeoutMs: number, signal: AbortSignal): Promise<HostQuery> {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  resolver.setServers([server]);
  const cancel = (): void => resolver.cancel();
  signal.addEventListener('abort', cancel, { once: true });
  const started = performance.now();
  try {
    const addresses = await resolver.resolve4(fqdn).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENODATA') return resolver.resolve6(fqdn);
      throw err;
    });
    return { answered: true, addresses, ms: Math.round(performance.now() - started) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (SERVER_ANSWERS.has(code)) {
      return { answered: true, refusal: code, clusterZone: await servesZone(resolver, clusterDomain) };
    }
    if (signal.aborted) return { answered: false, why: `the probe's deadline came before ${server} answered` };
    if (code === 'ETIMEOUT') return { answered: false, why: `${server} did not answer from this host within ${timeoutMs} ms: the service network is not reachable from here` };
    return { answered: false, why: `${server} could not be asked from this host (${code || (err as Error).message})` };
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}
