import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../src/logger.js';
import { ProbeCache } from '../../../src/probe/cache.js';
import { startTriggers } from '../../../src/probe/triggers.js';
import { kubeconfigFor } from '../../support/kubeconfig.js';

/**
 * An API server double: an empty list, then a watch that streams events as the real one does
 * (one JSON object per line).
 */
function watchServer(streams: Record<string, (res: ServerResponse) => void>): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://double');
    const stream = streams[url.pathname];
    if (!stream) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    if (url.searchParams.get('watch') !== 'true') {
      res.end(JSON.stringify({ metadata: { resourceVersion: '1' }, items: [] }));
      return;
    }
    stream(res);
  });
}

const event = (type: string, object: unknown): string => `${JSON.stringify({ type, object })}\n`;
const node = (ready: string) => ({ metadata: { name: 'ondemand-1' }, status: { conditions: [{ type: 'Ready', status: ready }] } });

describe('probe/triggers: runs on cluster events, read from the watch cache', () => {
  let server: Server;
  let dir: string;
  let stop: () => void = () => undefined;

  afterEach(async () => {
    stop();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(streams: Record<string, (res: ServerResponse) => void>, reasons: string[], configFile?: string): Promise<void> {
    dir = mkdtempSync(join(tmpdir(), 'levee-triggers-'));
    server = watchServer(streams);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const kubeconfig = kubeconfigFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const cache = new ProbeCache({ kubeconfig });
    const triggers = startTriggers({ cache, logger: createLogger('silent'), trigger: (reason) => reasons.push(reason), leaseGraceSeconds: 0, ...(configFile ? { configFile } : {}) });
    stop = () => {
      triggers.stop();
      cache.stop();
    };
  }

  async function until(what: string, check: () => boolean, timeoutMs = 8000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('asks for a run when a Ready node turns NotReady, not when a node is first seen NotReady', async () => {
    const reasons: string[] = [];
    await start({
      '/api/v1/nodes': (res) => {
        res.write(event('ADDED', { metadata: { name: 'spot-9' }, status: { conditions: [{ type: 'Ready', status: 'False' }] } }));
        res.write(event('ADDED', node('True')));
        setTimeout(() => res.write(event('MODIFIED', node('Unknown'))), 50);
      },
    }, reasons);
    await until('a node trigger', () => reasons.length > 0);
    assert.deepEqual(reasons, ['node ondemand-1 NotReady']);
  });

  it('asks for a run when kube-controller-manager lets its Lease run out, and ignores other Leases', async () => {
    const reasons: string[] = [];
    const renewTime = new Date(Date.now() - 500).toISOString();
    await start({
      '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases': (res) => {
        res.write(event('ADDED', { metadata: { name: 'apiserver-abc' }, spec: { renewTime, leaseDurationSeconds: 1 } }));
        res.write(event('ADDED', { metadata: { name: 'kube-controller-manager' }, spec: { renewTime, leaseDurationSeconds: 1 } }));
      },
    }, reasons);
    await until('a Lease trigger', () => reasons.length > 0);
    assert.deepEqual(reasons, ['Lease kube-system/kube-controller-manager not renewed']);
  });

  it("asks for a run when levee's configuration file changes", async () => {
    const reasons: string[] = [];
    const configDir = mkdtempSync(join(tmpdir(), 'levee-config-'));
    const configFile = join(configDir, 'config.yaml');
    writeFileSync(configFile, 'logLevel: info\n');
    try {
      await start({}, reasons, configFile);
      await new Promise((resolve) => setTimeout(resolve, 100));
      writeFileSync(configFile, 'logLevel: debug\n');
      await until('a configuration trigger', () => reasons.includes('configuration file changed'));
    } finally {
      rmSync(configDir, { recursive: true, force: true });
    }
  });
});
