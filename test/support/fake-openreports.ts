import type { ApiResponse, KubeApi } from '../../src/probe/kube-api.js';

interface Stored {
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/**
 * openreports.io/v1alpha1 as the API server serves it, in memory: creates (409 when the name
 * is taken), updates that must carry the current resourceVersion (409 otherwise), deletes with
 * a resourceVersion precondition, list by label selector with limit/continue, keys sorted as
 * the API server returns custom objects. `installed: false` answers 404 for the group.
 */
export class FakeOpenReports {
  readonly objects = new Map<string, Stored>();
  /** Every request, as `METHOD path` (query left out). */
  readonly requests: string[] = [];
  installed = true;
  /** Namespaces being deleted: a create there is refused as the API server refuses it. */
  readonly terminating = new Set<string>();
  private version = 1;
  /** Called before a request is answered: a test changes the store behind the writer's back. */
  beforeAnswer?: (method: string, path: string) => void;

  get api(): KubeApi {
    const call = (method: string) => async (path: string, second?: unknown) => this.answer(method, path, method === 'POST' || method === 'PUT' ? second : (second as { body?: unknown } | undefined)?.body);
    return { get: call('GET'), post: call('POST'), put: call('PUT'), delete: call('DELETE') } as unknown as KubeApi;
  }

  /** Puts an object in the store as if someone else had written it. */
  seed(object: Stored): Stored {
    const stored = sortKeys({ ...object, metadata: { ...object.metadata, resourceVersion: String(++this.version), uid: object.metadata.uid ?? `uid-${this.version}` } }) as Stored;
    this.objects.set(keyOf(object.kind === 'ClusterReport' ? 'clusterreports' : 'reports', object.metadata.namespace, object.metadata.name), stored);
    return stored;
  }

  private answer(method: string, path: string, body: unknown): ApiResponse {
    const url = new URL(path, 'http://fake');
    this.requests.push(`${method} ${url.pathname}`);
    this.beforeAnswer?.(method, url.pathname);
    const reply = (status: number, value?: unknown): ApiResponse => ({ status, body: value === undefined ? undefined : structuredClone(value), text: JSON.stringify(value ?? '') });
    if (!this.installed) return reply(404, { message: 'the server could not find the requested resource' });
    const parts = url.pathname.replace(/^\/apis\/openreports\.io\/v1alpha1\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
    if (parts.length === 0) return reply(200, { kind: 'APIResourceList' });
    const [resource, namespace, name] = parts[0] === 'namespaces' ? [parts[2]!, parts[1], parts[3]] : [parts[0]!, undefined, parts[1]];
    if (method === 'GET' && !name) {
      const selector = url.searchParams.get('labelSelector') ?? '';
      const [key, value] = selector.split('=');
      const items = [...this.objects.entries()]
        .filter(([stored]) => stored.startsWith(`${resource}|`) && (namespace === undefined || stored.startsWith(`${resource}|${namespace}|`)))
        .map(([, object]) => object)
        .filter((object) => !key || object.metadata.labels?.[key] === value);
      const limit = Number(url.searchParams.get('limit') ?? 0) || items.length;
      const from = Number(url.searchParams.get('continue') ?? 0);
      const more = from + limit < items.length;
      return reply(200, { items: items.slice(from, from + limit), metadata: more ? { continue: String(from + limit) } : {} });
    }
    const object = body as Stored | undefined;
    const key = keyOf(resource, namespace, name ?? object?.metadata.name ?? '');
    const current = this.objects.get(key);
    switch (method) {
      case 'GET':
        return current ? reply(200, current) : reply(404, { message: 'not found' });
      case 'POST':
        if (namespace && this.terminating.has(namespace)) {
          return reply(403, {
            kind: 'Status',
            reason: 'Forbidden',
            message: `reports.openreports.io "levee" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
            details: { causes: [{ type: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }] },
            code: 403,
          });
        }
        if (current) return reply(409, { message: 'already exists' });
        return reply(201, this.seed({ ...object!, metadata: { ...object!.metadata, ...(namespace ? { namespace } : {}) } }));
      case 'PUT':
        if (!current) return reply(404, { message: 'not found' });
        if (object?.metadata.resourceVersion !== current.metadata.resourceVersion) return reply(409, { message: 'the object has been modified' });
        return reply(200, this.seed({ ...object!, metadata: { ...object!.metadata, uid: current.metadata.uid! } }));
      case 'DELETE': {
        if (!current) return reply(404, { message: 'not found' });
        const wanted = (body as { preconditions?: { resourceVersion?: string } } | undefined)?.preconditions?.resourceVersion;
        if (wanted && wanted !== current.metadata.resourceVersion) return reply(409, { message: 'precondition failed' });
        this.objects.delete(key);
        return reply(200, { status: 'Success' });
      }
    }
    return reply(405, { message: `no ${method}` });
  }

  /** The stored Report of a namespace (or the ClusterReport), or undefined. */
  report(namespace?: string): Stored | undefined {
    return this.objects.get(keyOf(namespace ? 'reports' : 'clusterreports', namespace, 'levee'));
  }
}

function keyOf(resource: string, namespace: string | undefined, name: string): string {
  return `${resource}|${namespace ?? ''}|${name}`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, sortKeys(v)]));
  return value;
}
