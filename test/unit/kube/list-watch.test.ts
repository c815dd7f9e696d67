import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListWatch, type ListWatchHandlers, type WatchTiming } from '../../../src/kube/list-watch.js';
import type { KubeObject } from '../../../src/kube/types.js';
import { kubeconfigFor } from '../../support/kubeconfig.js';

/**
 * An API server double for one collection: each list and each watch request is handed to the
 * test, which answers as it likes (pages, events, silence, errors) and sees the query it got.
 */
class Double {
  readonly lists: URL[] = [];
  readonly watches: URL[] = [];
  onList: (url: URL, res: ServerResponse) => void = (_url, res) => page(res, [], '1');
  onWatch: (url: URL, res: ServerResponse) => void = () => undefined;
  private server: Server | undefined;
  private readonly open = new Set<ServerResponse>();

  async start(): Promise<string> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://double');
      this.open.add(res);
      res.on('close', () => this.open.delete(res));
      if (url.searchParams.get('watch') === 'true') {
        this.watches.push(url);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.flushHeaders();
        this.onWatch(url, res);
      } else {
        this.lists.push(url);
        this.onList(url, res);
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

const pod = (name: string, resourceVersion: string): KubeObject => ({ metadata: { name, namespace: 'default', resourceVersion } });
const event = (type: string, object: unknown): string => `${JSON.stringify({ type, object })}\n`;

function page(res: ServerResponse, items: KubeObject[], resourceVersion: string, next = ''): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion, ...(next ? { continue: next } : {}) }, items }));
}

interface Seen {
  upserts: string[];
  removes: Array<{ name: string; kind: string | undefined }>;
  broken: Array<{ reason: string; since: number; message: string }>;
  synced: number;
  current: number;
}

const FAST: Partial<WatchTiming> = { watchTimeoutSeconds: 5, watchSilenceSeconds: 6, requestTimeoutMs: 2000, retryMinMs: 50, retryMaxMs: 200 };

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('kube/list-watch: the informer loop every watch runs through', function () {
  this.timeout(20_000);
  let double: Double;
  let watch: ListWatch | undefined;
  let seen: Seen;

  let requests: string[];

  async function start(timing: Partial<WatchTiming> = FAST): Promise<void> {
    const server = await double.start();
    seen = { upserts: [], removes: [], broken: [], synced: 0, current: 0 };
    const handlers: ListWatchHandlers = {
      upsert: (object) => seen.upserts.push(`${object.kind}/${object.metadata?.name}@${String(object.metadata?.resourceVersion)}`),
      remove: (object) => seen.removes.push({ name: object.metadata?.name ?? '', kind: object.kind }),
      broken: (error, since, reason) => seen.broken.push({ reason, since, message: error.message }),
      synced: () => seen.synced++,
      current: () => seen.current++,
    };
    requests = [];
    const onRequest = (verb: 'list' | 'watch'): void => void requests.push(verb);
    watch = new ListWatch({ kubeconfig: kubeconfigFor(server), path: '/api/v1/pods', apiVersion: 'v1', kind: 'Pod', timing, handlers, onRequest });
    watch.start();
  }

  beforeEach(() => {
    double = new Double();
  });

  afterEach(async () => {
    watch?.stop();
    watch = undefined;
    await double.stop();
  });

  it('lists every page from one snapshot, then watches from the list\'s resourceVersion with bookmarks and a timeout', async () => {
    double.onList = (url, res) => {
      if (!url.searchParams.get('continue')) page(res, [pod('a', '5')], '10', 'next-page');
      else page(res, [pod('b', '6')], '11');
    };
    await start();
    await until('a watch', () => double.watches.length === 1);
    assert.deepEqual(seen.upserts, ['Pod/a@5', 'Pod/b@6'], 'listed items get the kind lists leave out');
    assert.equal(seen.synced, 1);
    assert.equal(double.lists[0]!.searchParams.get('limit'), '500');
    assert.equal(double.lists[1]!.searchParams.get('continue'), 'next-page');
    const query = double.watches[0]!.searchParams;
    assert.equal(query.get('resourceVersion'), '10', 'the first page\'s version: the snapshot every page belongs to');
    assert.equal(query.get('allowWatchBookmarks'), 'true');
    assert.equal(query.get('timeoutSeconds'), '5');
  });

  it('delivers events, skips ones it has seen, and watches again from the last version after the server ends a watch', async () => {
    double.onList = (_url, res) => page(res, [pod('a', '5')], '10');
    double.onWatch = (url, res) => {
      if (double.watches.length === 1) {
        res.write(event('MODIFIED', pod('a', '5'))); // what the list already gave
        res.write(event('ADDED', pod('b', '12')));
        res.write(event('DELETED', pod('a', '13')));
        res.end(event('BOOKMARK', { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: '20' } }));
      } else assert.ok(url);
    };
    await start();
    await until('a second watch', () => double.watches.length === 2);
    assert.deepEqual(seen.upserts, ['Pod/a@5', 'Pod/b@12']);
    assert.deepEqual(seen.removes, [{ name: 'a', kind: 'Pod' }]);
    assert.equal(double.watches[1]!.searchParams.get('resourceVersion'), '20', 'from the bookmark');
    assert.equal(double.lists.length, 1, 'a watch the server ended is resumed, not relisted');
    assert.deepEqual(seen.broken, []);
  });

  it('tells onRequest of every list page and every watch it sends, as the server receives them', async () => {
    double.onList = (url, res) => {
      if (!url.searchParams.get('continue')) page(res, [pod('a', '5')], '10', 'next-page');
      else page(res, [pod('b', '6')], '11');
    };
    double.onWatch = (_url, res) => {
      if (double.watches.length === 1) res.end(event('BOOKMARK', { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: '20' } }));
    };
    await start();
    await until('a second watch', () => double.watches.length === 2);
    assert.deepEqual(requests, ['list', 'list', 'watch', 'watch']);
    assert.equal(requests.length, double.lists.length + double.watches.length);
  });

  it('reads events split anywhere across chunks, even inside a multi-byte character', async () => {
    double.onList = (_url, res) => page(res, [], '10');
    double.onWatch = (_url, res) => {
      if (double.watches.length !== 1) return;
      const bytes = Buffer.from(event('ADDED', { metadata: { name: 'café-☕', namespace: 'default', resourceVersion: '11' } }) + event('ADDED', pod('b', '12')), 'utf8');
      const cut = bytes.indexOf(Buffer.from('☕', 'utf8')) + 1; // inside the character's three bytes
      res.write(bytes.subarray(0, cut));
      setTimeout(() => res.write(bytes.subarray(cut, cut + 7)), 20);
      setTimeout(() => res.write(bytes.subarray(cut + 7)), 40);
    };
    await start();
    await until('both events', () => seen.upserts.length === 2);
    assert.deepEqual(seen.upserts, ['Pod/café-☕@11', 'Pod/b@12']);
  });

  it('relists after 410 Gone, and removes by tombstone what the relist no longer finds', async () => {
    double.onList = (_url, res) => {
      if (double.lists.length === 1) page(res, [pod('a', '5'), pod('b', '6')], '10');
      else page(res, [pod('b', '7'), pod('c', '8')], '30');
    };
    double.onWatch = (_url, res) => {
      if (double.watches.length === 1) res.end(event('ERROR', { kind: 'Status', code: 410, message: 'too old resource version' }));
    };
    await start();
    await until('a watch after the relist', () => double.watches.length === 2);
    assert.deepEqual(seen.upserts, ['Pod/a@5', 'Pod/b@6', 'Pod/b@7', 'Pod/c@8']);
    assert.deepEqual(seen.removes, [{ name: 'a', kind: 'Pod' }]);
    assert.equal(double.watches[1]!.searchParams.get('resourceVersion'), '30');
    assert.deepEqual(seen.broken, [], '410 is the normal end of a watch history, not a broken feed');
    assert.equal(seen.synced, 1, 'synced once, at the first list');
  });

  it('delivers each list page as it arrives, not the whole list at the end (a large collection is never held whole)', async () => {
    const seenBeforePage: string[][] = [];
    double.onList = (url, res) => {
      seenBeforePage.push([...seen.upserts]);
      const from = Number(url.searchParams.get('continue') ?? 0);
      page(res, [pod(`p${from}`, String(5 + from))], '10', from < 2 ? String(from + 1) : '');
    };
    await start();
    await until('a watch', () => double.watches.length === 1);
    assert.deepEqual(seenBeforePage, [[], ['Pod/p0@5'], ['Pod/p0@5', 'Pod/p1@6']]);
    assert.equal(seen.synced, 1);
  });

  it('starts a list again once when its continue token has expired (410), removing only what the new list lacks', async () => {
    double.onList = (url, res) => {
      const token = url.searchParams.get('continue');
      if (double.lists.length === 1) return page(res, [pod('a', '5')], '10', 'old-token');
      if (token === 'old-token') {
        res.writeHead(410, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ kind: 'Status', code: 410, reason: 'Expired', message: 'continue token expired' }));
      }
      if (!token) return page(res, [pod('b', '7')], '40', 'new-token');
      return page(res, [pod('c', '8')], '41');
    };
    await start();
    await until('a watch', () => double.watches.length === 1);
    assert.deepEqual(seen.upserts, ['Pod/a@5', 'Pod/b@7', 'Pod/c@8']);
    assert.deepEqual(seen.removes, [{ name: 'a', kind: 'Pod' }], 'a, listed by the expired attempt only, is gone from the snapshot');
    assert.equal(double.watches[0]!.searchParams.get('resourceVersion'), '40', 'from the new snapshot');
    assert.equal(seen.synced, 1);
  });

  it('finds a watch that says nothing, reports it broken since it last spoke, and relists', async () => {
    double.onList = (_url, res) => page(res, [pod('a', '5')], '10');
    let lastSpoke = 0;
    double.onWatch = (_url, res) => {
      if (double.watches.length === 1) {
        res.write(event('ADDED', pod('b', '11')));
        lastSpoke = Date.now();
      }
      // ...then nothing: the socket stays open, as behind a NAT that dropped the connection.
    };
    const began = Date.now();
    await start({ ...FAST, watchTimeoutSeconds: 1, watchSilenceSeconds: 2 });
    await until('the silence to be noticed', () => seen.broken.length === 1, 6000);
    const noticed = Date.now();
    assert.equal(seen.broken[0]!.reason, 'silent');
    assert.match(seen.broken[0]!.message, /said nothing \(no event, no bookmark, no end\) for 2 s/);
    // Well inside the 2 s bound: since the last thing it said, not since the silence was noticed.
    assert.ok(Math.abs(seen.broken[0]!.since - lastSpoke) < 1000, 'broken since the last thing it said');
    assert.ok(noticed - began >= 2000, `not before the silence bound (${noticed - began} ms)`);
    await until('a relist', () => double.lists.length === 2);
    await until('a new watch', () => double.watches.length === 2);
  });

  it('reports a failing watch and keeps relisting, more slowly, until the server answers', async () => {
    let failing = true;
    double.onList = (_url, res) => {
      if (double.lists.length > 1 && failing) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', code: 503, message: 'etcd is unavailable' }));
        return;
      }
      page(res, [pod('a', String(double.lists.length))], '10');
    };
    double.onWatch = (_url, res) => {
      if (double.watches.length === 1) res.destroy(); // connection reset mid-watch
    };
    await start();
    await until('three failed relists', () => seen.broken.length >= 4);
    assert.equal(seen.broken[0]!.reason, 'failed');
    assert.match(seen.broken[1]!.message, /HTTP 503: etcd is unavailable/);
    failing = false;
    await until('a watch after the recovery', () => double.watches.length === 2);
    assert.equal(seen.upserts.at(-1)?.startsWith('Pod/a@'), true, 'what changed meanwhile is delivered');
  });

  it('gives up on a list page that does not answer within the request timeout', async () => {
    double.onList = (_url, res) => {
      if (double.lists.length > 1) page(res, [], '10');
      // the first page never answers
      else assert.ok(res);
    };
    await start({ ...FAST, requestTimeoutMs: 300 });
    await until('the hung list to be abandoned', () => seen.broken.length === 1);
    assert.match(seen.broken[0]!.message, /no answer within 300 ms/);
    await until('a watch', () => double.watches.length === 1);
    assert.equal(seen.synced, 1);
  });

  it('stops listing and watching when stopped', async () => {
    await start();
    await until('a watch', () => double.watches.length === 1);
    watch!.stop();
    const requests = double.lists.length + double.watches.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(double.lists.length + double.watches.length, requests);
  });
});
