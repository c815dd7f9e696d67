import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiRequestError, expectStatus, KubeApi, verbOf, type ApiVerb } from '../../../src/probe/kube-api.js';
import { kubeconfigFor } from '../../support/kubeconfig.js';

function clientFor(server: string, timeoutMs: number): KubeApi {
  return new KubeApi(kubeconfigFor(server, 'secret-token'), timeoutMs);
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('probe/kube-api: a client that fails fast', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('sends JSON with the kubeconfig credentials and parses the JSON answer', async () => {
    let seen: { method?: string; url?: string; auth?: string; type?: string; body?: string } = {};
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        seen = { method: req.method, url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], body };
        res.writeHead(201, { 'Content-Type': 'application/json' }).end('{"metadata":{"name":"x"}}');
      });
    });
    servers.push(server);
    const api = clientFor(await listen(server), 2000);
    const response = await api.mergePatch<{ metadata: { name: string } }>('/api/v1/namespaces/a/configmaps/x?dryRun=All', { data: { a: '1' } });
    assert.equal(response.status, 201);
    assert.equal(response.body.metadata.name, 'x');
    assert.deepEqual(seen, {
      method: 'PATCH',
      url: '/api/v1/namespaces/a/configmaps/x?dryRun=All',
      auth: 'Bearer secret-token',
      type: 'application/merge-patch+json',
      body: '{"data":{"a":"1"}}',
    });
  });

  it('gives up on a server that never answers after the per-request timeout, saying "context deadline exceeded"', async () => {
    const server = createServer(() => undefined);
    servers.push(server);
    const api = clientFor(await listen(server), 200);
    const started = Date.now();
    await assert.rejects(api.get('/readyz/etcd'), (err: unknown) => {
      assert.ok(err instanceof ApiRequestError);
      assert.equal(err.code, 'PROBE_REQUEST');
      assert.match(err.message, /^GET \/readyz\/etcd: context deadline exceeded \(no answer within 200 ms\)$/);
      return true;
    });
    assert.ok(Date.now() - started < 5000, 'the request was abandoned, not waited out');
  });

  it("follows the caller's abort signal", async () => {
    const server = createServer(() => undefined);
    servers.push(server);
    const api = clientFor(await listen(server), 60_000);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('probe deadline')), 50);
    await assert.rejects(api.get('/version', { signal: controller.signal }), /GET \/version: aborted \(probe deadline\)/);
    await assert.rejects(api.get('/version', { signal: controller.signal }), /aborted before it was sent/);
  });

  it('says "connection refused" when nothing listens', async () => {
    const server = createServer();
    const url = await listen(server);
    await new Promise((resolve) => server.close(resolve));
    await assert.rejects(clientFor(url, 2000).get('/version'), /GET \/version: connection refused/);
  });

  it('turns an unexpected status into an error carrying the API server message', () => {
    const response = { status: 403, body: { message: 'configmaps is forbidden: User "x" cannot create' }, text: '' };
    assert.throws(() => expectStatus(response, 'creating ConfigMap a/b', 201), /creating ConfigMap a\/b: HTTP 403: configmaps is forbidden/);
    assert.equal(expectStatus(response, 'reading', 403, 404), response);
  });

  it('names the Kubernetes verb of a request: list for collections, get for one object or a non-resource path, watch', () => {
    const verb = (method: string, path: string): ApiVerb => verbOf(method, new URL(path, 'https://127.0.0.1:6443'));
    assert.equal(verb('GET', '/api/v1/nodes'), 'list');
    assert.equal(verb('GET', '/api/v1/nodes/n1'), 'get');
    assert.equal(verb('GET', '/api/v1/namespaces/levee-system/configmaps?limit=500'), 'list');
    assert.equal(verb('GET', '/api/v1/namespaces/levee-system/configmaps/x'), 'get');
    assert.equal(verb('GET', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler'), 'get');
    assert.equal(verb('GET', '/apis/discovery.k8s.io/v1/endpointslices?labelSelector=a%3Db'), 'list');
    assert.equal(verb('GET', '/api/v1/pods?watch=true'), 'watch');
    assert.equal(verb('GET', '/version'), 'get');
    assert.equal(verb('GET', '/readyz/etcd'), 'get');
    assert.deepEqual(['POST', 'PUT', 'PATCH', 'DELETE'].map((method) => verb(method, '/api/v1/namespaces/a/configmaps/x')), ['create', 'update', 'patch', 'delete']);
  });

  it('counts every request it sends under the caller of the view that sent it (not one aborted before it was sent)', async () => {
    const server = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}'));
    servers.push(server);
    const api = clientFor(await listen(server), 2000);
    const counted: string[] = [];
    api.countRequests((verb, caller) => counted.push(`${caller} ${verb}`));
    await api.as('dns').get('/api/v1/namespaces/kube-system/services/kube-dns');
    await api.as('api-write-path').post('/api/v1/namespaces/levee-system/configmaps', {});
    await api.get('/api/v1/nodes');
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(api.as('etcd').get('/readyz/etcd', { signal: aborted.signal }));
    assert.deepEqual(counted, ['dns get', 'api-write-path create', 'levee list']);
  });

  it('tells its answer observer of every answer (any status) and every request left unanswered, but not of a caller\'s own abort', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/silent') return; // never answers
      res.writeHead(req.url === '/missing' ? 404 : 200, { 'Content-Type': 'application/json' }).end('{}');
    });
    servers.push(server);
    const url = await listen(server);
    const api = clientFor(url, 300);
    const seen: string[] = [];
    api.observeAnswers((answered, error) => seen.push(answered ? 'answered' : `unanswered: ${error?.message ?? '?'}`));
    await api.as('etcd').get('/readyz/etcd');
    await api.get('/missing');
    await assert.rejects(api.get('/silent'));
    const aborted = new AbortController();
    const pending = api.get('/silent', { signal: aborted.signal });
    aborted.abort(new Error('probe deadline'));
    await assert.rejects(pending);
    const refused = clientFor('http://127.0.0.1:1', 300);
    refused.observeAnswers((answered, error) => seen.push(answered ? 'answered' : `refused: ${error?.message ?? '?'}`));
    await assert.rejects(refused.get('/version'));
    assert.equal(seen.length, 4, seen.join('\n'));
    assert.deepEqual(seen.slice(0, 2), ['answered', 'answered']);
    assert.match(seen[2]!, /^unanswered: GET \/silent: context deadline exceeded/);
    assert.match(seen[3]!, /^refused: GET \/version: /);
  });

  it('fails a request whose kubeconfig credentials cannot be used, and tells its observer the server was not reached', async () => {
    const kubeconfig = new KubeConfig();
    kubeconfig.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u', certFile: '/nonexistent/levee-client.crt', keyFile: '/nonexistent/levee-client.key' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const api = new KubeApi(kubeconfig, 1000);
    const seen: Array<[boolean, string | undefined]> = [];
    api.observeAnswers((answered, error) => seen.push([answered, error?.message]));
    await assert.rejects(api.get('/version'), (err: unknown) => err instanceof ApiRequestError && /GET \/version: the kubeconfig's credentials could not be used: .*nonexistent/.test(err.message));
    assert.equal(seen.length, 1);
    assert.equal(seen[0]![0], false);
  });
});
