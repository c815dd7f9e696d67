// Just enough of a kube-apiserver for `levee probe`, on 127.0.0.1, over a synthetic cluster
// held in memory: paged lists (limit/continue), watches that stream events and end after
// their timeoutSeconds as the real one does, label and name selectors, create/read/patch/
// update/delete of the objects the probes write, the two control-plane Leases renewed every
// 2 s, and a controller stand-in that turns the lifecycle probe's Deployment into a pod that
// is scheduled, Ready and behind an endpoint. `breakScheduler()` stops the scheduler's Lease
// and leaves new pods unscheduled, as a dead kube-scheduler does. It counts every request it
// receives, by verb, so the probe's own count can be checked against what was sent.
import { createServer } from 'node:http';

const KEYED = (object) => `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;

/** /api/v1/[namespaces/ns/]resource[/name] or /apis/group/version/[namespaces/ns/]resource[/name]. */
function parsePath(pathname) {
  const parts = pathname.split('/').filter(Boolean);
  let rest;
  let prefix;
  if (parts[0] === 'api' && parts[1] === 'v1') {
    prefix = '/api/v1';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    prefix = `/apis/${parts[1]}/${parts[2]}`;
    rest = parts.slice(3);
  } else return undefined;
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  } else if (rest[0] === 'namespaces' && rest.length <= 2) {
    return { resource: `${prefix}/namespaces`, namespace: '', name: rest[1] ?? '' };
  }
  return { resource: `${prefix}/${rest[0]}`, namespace, name: rest[1] ?? '' };
}

function matchesLabels(object, selector) {
  if (!selector) return true;
  const labels = object.metadata?.labels ?? {};
  return selector.split(',').every((term) => {
    const [key, value] = term.split('=');
    return labels[key] === value;
  });
}

function matchesFields(object, selector) {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [key, value] = term.split('=');
    return key === 'metadata.name' ? object.metadata?.name === value : key === 'metadata.namespace' ? object.metadata?.namespace === value : false;
  });
}

export function verbOf(method, url) {
  switch (method) {
    case 'POST': return 'create';
    case 'PUT': return 'update';
    case 'PATCH': return 'patch';
    case 'DELETE': return 'delete';
  }
  if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') return 'watch';
  const parsed = parsePath(url.pathname);
  return parsed && !parsed.name ? 'list' : 'get';
}

export class ProbeApiServer {
  /** requests received, by verb */
  counts = new Map();
  /** Every request received (time, verb, method, path), when set to an array. */
  log = undefined;
  port = 0;
  #server;
  #version = 1000;
  /** resource path -> Map(ns/name -> object) */
  #stores = new Map();
  /** resource path -> Set of watchers */
  #watchers = new Map();
  #timers = [];
  #schedulerAlive = true;

  /** `collections`: resource path (e.g. /api/v1/pods) -> objects. */
  constructor(collections) {
    for (const [resource, objects] of Object.entries(collections)) {
      const store = this.#store(resource);
      for (const object of objects) store.set(KEYED(object), { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.#version) } });
    }
    const now = new Date().toISOString();
    for (const name of ['kube-scheduler', 'kube-controller-manager']) {
      this.#put('/apis/coordination.k8s.io/v1/leases', {
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease',
        metadata: { name, namespace: 'kube-system' },
        spec: { holderIdentity: `${name}-host_1`, leaseDurationSeconds: 15, renewTime: now, acquireTime: now },
      });
    }
    this.#put('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'levee-system' } });
  }

  get total() {
    return [...this.counts.values()].reduce((sum, count) => sum + count, 0);
  }

  async start() {
    this.#server = createServer((req, res) => this.#answer(req, res));
    await new Promise((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = this.#server.address().port;
    // The control plane renews its Leases every 2 s, as kube-scheduler and kube-controller-manager do.
    this.#timers.push(setInterval(() => {
      for (const name of ['kube-scheduler', 'kube-controller-manager']) {
        if (name === 'kube-scheduler' && !this.#schedulerAlive) continue;
        const lease = this.#store('/apis/coordination.k8s.io/v1/leases').get(`kube-system/${name}`);
        this.#put('/apis/coordination.k8s.io/v1/leases', { ...lease, spec: { ...lease.spec, renewTime: new Date().toISOString() } });
      }
    }, 2000));
    return this;
  }

  async stop() {
    for (const timer of this.#timers) clearInterval(timer);
    for (const watchers of this.#watchers.values()) for (const watcher of watchers) watcher.res.destroy();
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve) ?? resolve());
  }

  /** kube-scheduler dies: its Lease is no longer renewed and new pods stay unscheduled. */
  breakScheduler() {
    this.#schedulerAlive = false;
  }

  kubeconfig() {
    return {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'bench', cluster: { server: `http://127.0.0.1:${this.port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'levee', user: { token: 'bench' } }],
      contexts: [{ name: 'bench', context: { cluster: 'bench', user: 'levee' } }],
      'current-context': 'bench',
    };
  }

  #store(resource) {
    let store = this.#stores.get(resource);
    if (!store) this.#stores.set(resource, (store = new Map()));
    return store;
  }

  /** Stores an object (a new resourceVersion) and tells the watchers. */
  #put(resource, object, type) {
    const store = this.#store(resource);
    const key = KEYED(object);
    const event = type ?? (store.has(key) ? 'MODIFIED' : 'ADDED');
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.#version) } };
    if (!stored.metadata.creationTimestamp) stored.metadata.creationTimestamp = new Date().toISOString();
    store.set(key, stored);
    this.#tell(resource, event, stored);
    return stored;
  }

  #remove(resource, key) {
    const store = this.#store(resource);
    const object = store.get(key);
    if (!object) return undefined;
    store.delete(key);
    this.#tell(resource, 'DELETED', { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.#version) } });
    return object;
  }

  #tell(resource, type, object) {
    for (const watcher of this.#watchers.get(resource) ?? []) {
      if (watcher.namespace && watcher.namespace !== object.metadata?.namespace) continue;
      if (!matchesLabels(object, watcher.labelSelector) || !matchesFields(object, watcher.fieldSelector)) continue;
      watcher.res.write(`${JSON.stringify({ type, object })}\n`);
    }
  }

  /** What controllers, the scheduler and the kubelet would make of the lifecycle probe's Deployment. */
  #reconcile(deployment) {
    const { namespace, name } = deployment.metadata;
    const labels = deployment.spec.template.metadata.labels;
    const later = (ms, action) => this.#timers.push(setTimeout(action, ms));
    later(50, () => {
      if (!this.#store('/apis/apps/v1/deployments').has(`${namespace}/${name}`)) return;
      this.#put('/apis/apps/v1/replicasets', { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: `${name}-5b8c`, namespace, labels }, spec: { replicas: 1 } });
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: `${name}-5b8c-q7x`, namespace, labels, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${name}-5b8c`, uid: 'u', controller: true }] }, spec: { containers: [{ name: 'pause', image: 'pause' }] }, status: { phase: 'Pending' } };
      this.#put('/api/v1/pods', pod);
      if (!this.#schedulerAlive) return;
      later(100, () => {
        if (!this.#store('/api/v1/pods').has(KEYED(pod))) return;
        this.#put('/api/v1/pods', { ...pod, spec: { ...pod.spec, nodeName: 'node-00001' }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } });
        this.#put('/apis/discovery.k8s.io/v1/endpointslices', {
          apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
          metadata: { name: `${name}-k2p`, namespace, labels: { 'kubernetes.io/service-name': name } },
          endpoints: [{ addresses: ['10.244.0.9'], conditions: { ready: true } }],
        });
      });
    });
  }

  #answer(req, res) {
    const url = new URL(req.url ?? '/', 'http://bench');
    const verb = verbOf(req.method, url);
    this.counts.set(verb, (this.counts.get(verb) ?? 0) + 1);
    this.log?.push(`${new Date().toISOString()} ${verb} ${req.method} ${url.pathname}${url.search}`);
    const send = (status, body) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const notFound = (what) => send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `${what} not found` });
    if (url.pathname === '/version') return send(200, { major: '1', minor: '34', gitVersion: 'v1.34.4' });
    if (url.pathname === '/readyz/etcd') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end('ok');
    }
    const parsed = parsePath(url.pathname);
    if (!parsed) return notFound(url.pathname);
    const { resource, namespace, name } = parsed;
    const store = this.#store(resource);
    const labelSelector = url.searchParams.get('labelSelector') ?? '';
    const fieldSelector = url.searchParams.get('fieldSelector') ?? '';

    if (verb === 'watch') {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      const watcher = { res, namespace, labelSelector, fieldSelector };
      let watchers = this.#watchers.get(resource);
      if (!watchers) this.#watchers.set(resource, (watchers = new Set()));
      watchers.add(watcher);
      const timeout = setTimeout(() => res.end(), Number(url.searchParams.get('timeoutSeconds') ?? 1800) * 1000);
      res.on('close', () => {
        clearTimeout(timeout);
        watchers.delete(watcher);
      });
      return;
    }
    if (verb === 'list') {
      const items = [...store.values()].filter((object) => (!namespace || object.metadata?.namespace === namespace) && matchesLabels(object, labelSelector) && matchesFields(object, fieldSelector));
      const limit = Number(url.searchParams.get('limit') ?? 0);
      const from = Number(url.searchParams.get('continue') ?? 0);
      const page = limit > 0 ? items.slice(from, from + limit) : items;
      const more = limit > 0 && from + limit < items.length;
      return send(200, { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: String(this.#version), ...(more ? { continue: String(from + limit) } : {}) }, items: page });
    }
    const key = `${namespace}/${name}`;
    if (verb === 'get') {
      const object = store.get(key);
      return object ? send(200, object) : notFound(`${resource} ${key}`);
    }
    if (verb === 'delete') {
      const object = this.#remove(resource, key);
      if (!object) return notFound(`${resource} ${key}`);
      // Garbage collection: the lifecycle's pod and ReplicaSet go with their Deployment, the slice with its Service.
      if (resource === '/apis/apps/v1/deployments') {
        for (const owned of ['/apis/apps/v1/replicasets', '/api/v1/pods']) {
          for (const [ownedKey, candidate] of this.#store(owned)) if (candidate.metadata?.name?.startsWith(`${name}-`) && candidate.metadata?.namespace === namespace) this.#remove(owned, ownedKey);
        }
      }
      if (resource === '/api/v1/services') this.#remove('/apis/discovery.k8s.io/v1/endpointslices', `${namespace}/${name}-k2p`);
      return send(200, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const object = body ? JSON.parse(body) : {};
      if (verb === 'create') {
        const created = { ...object, metadata: { ...object.metadata, namespace: object.metadata?.namespace ?? namespace } };
        if (store.has(KEYED(created))) return send(409, { kind: 'Status', code: 409, reason: 'AlreadyExists', message: 'exists' });
        const stored = this.#put(resource, created);
        if (resource === '/apis/apps/v1/deployments') this.#reconcile(stored);
        return send(201, stored);
      }
      const existing = store.get(key);
      if (!existing) return notFound(`${resource} ${key}`);
      if (verb === 'update') return send(200, this.#put(resource, object));
      // A JSON merge patch, one level deep: enough for the write path's ConfigMap.
      const merged = { ...existing };
      for (const [field, value] of Object.entries(object)) merged[field] = value && typeof value === 'object' && !Array.isArray(value) ? { ...existing[field], ...value } : value;
      return send(200, this.#put(resource, merged));
    });
  }
}
