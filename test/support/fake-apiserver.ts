import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * Just enough of a kube-apiserver for levee's informers: lists from fixed items, watches that
 * stay open and quiet, /version. `stop()` drops every connection as a crashed or partitioned
 * API server would; `start()` brings it back on the same port. For fault tests that must not
 * touch the shared e2e cluster.
 */
export class FakeApiServer {
  port = 0;
  /** Every list request's path and query, in order (watches left out). */
  readonly lists: string[] = [];
  private server: Server | undefined;
  private readonly objects: Record<string, unknown[]>;

  constructor(objects: Record<string, unknown[]>) {
    this.objects = objects;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.answer(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A kubeconfig for this server, written into `dir`. */
  kubeconfig(dir: string): string {
    const file = join(dir, 'fake-apiserver.kubeconfig');
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster: { server: `http://127.0.0.1:${this.port}`, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'levee', user: { token: 'fake-token' } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'levee' } }],
        'current-context': 'fake',
      }),
    );
    return file;
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname === '/version') return json(res, 200, { major: '1', minor: '34', gitVersion: 'v1.34.4' });
    const items = this.objects[url.pathname];
    if (req.method === 'GET' && items) {
      if (url.searchParams.get('watch') === 'true') {
        // Open and quiet, as a watch on an idle cluster is.
        res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
        res.flushHeaders();
        return;
      }
      this.lists.push(`${url.pathname}${url.search}`);
      // Chunked lists as the API server answers them: `limit` items, and a token for the rest.
      const limit = Number(url.searchParams.get('limit') ?? 0);
      const from = Number(url.searchParams.get('continue') ?? 0);
      const page = limit > 0 ? items.slice(from, from + limit) : items;
      const more = limit > 0 && from + limit < items.length;
      return json(res, 200, { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '100', ...(more ? { continue: String(from + limit) } : {}) }, items: page });
    }
    json(res, 404, { apiVersion: 'v1', kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404, message: `the fake API server has no ${url.pathname}` });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The lists of a cluster with Deployment `web` (3 ready pods through a ReplicaSet) behind Service `web`. */
export function webBehindService(): Record<string, unknown[]> {
  const namespace = 'default';
  const labels = { app: 'web' };
  const pods = ['web-rs-a', 'web-rs-b', 'web-rs-c'];
  return {
    '/api/v1/services': [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace, resourceVersion: '10' }, spec: { selector: labels, ports: [{ port: 80 }] } }],
    '/apis/discovery.k8s.io/v1/endpointslices': [
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'web-abcde', namespace, resourceVersion: '11', labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        endpoints: pods.map((pod, i) => ({ addresses: [`10.0.0.${i + 1}`], conditions: { ready: true }, targetRef: { kind: 'Pod', name: pod, namespace } })),
      },
    ],
    '/api/v1/pods': pods.map((pod) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: pod, namespace, resourceVersion: '12', labels, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-rs', uid: 'uid-web-rs', controller: true }] },
      spec: { containers: [{ name: 'app', image: 'registry.example/web:1' }] },
    })),
    '/apis/apps/v1/replicasets': [
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'web-rs', namespace, resourceVersion: '13', uid: 'uid-web-rs', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'uid-web', controller: true }] },
        spec: { replicas: 3, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/web:1' }] } } },
      },
    ],
    '/apis/apps/v1/deployments': [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace, resourceVersion: '14', uid: 'uid-web' },
        spec: { replicas: 3, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'registry.example/web:1' }] } } },
      },
    ],
    '/apis/apps/v1/statefulsets': [],
    '/api/v1/replicationcontrollers': [],
    '/apis/apps/v1/daemonsets': [],
    '/apis/batch/v1/jobs': [],
    '/apis/batch/v1/cronjobs': [],
    '/apis/apps/v1/controllerrevisions': [],
    '/apis/autoscaling/v2/horizontalpodautoscalers': [],
    '/api/v1/nodes': [],
    '/apis/apiextensions.k8s.io/v1/customresourcedefinitions': [],
  };
}
