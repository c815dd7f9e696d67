import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { liveState } from '../../../src/audit/live.js';
import { loadKubeConfig } from '../../../src/cluster/kubeconfig.js';
import { DEFAULT_CLUSTER_OPTIONS } from '../../../src/cluster/options.js';
import { createLogger } from '../../../src/logger.js';
import { FakeApiServer, webBehindService } from '../../support/fake-apiserver.js';

describe('audit/live', () => {
  const pods = Array.from({ length: 1201 }, (_, i) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}`, namespace: 'big', resourceVersion: '1' }, spec: {} }));
  const server = new FakeApiServer({ ...webBehindService(), '/api/v1/pods': pods });

  before(() => server.start());
  after(() => server.stop());

  it('reads the cluster once, in pages of `limit` objects, following continue tokens, with a progress line', async () => {
    const kubeconfig = loadKubeConfig(server.kubeconfig(mkdtempSync(join(tmpdir(), 'levee-live-'))));
    const progress: string[] = [];
    const live = await liveState(kubeconfig, createLogger('silent'), DEFAULT_CLUSTER_OPTIONS, { pageSize: 500, progress: (line) => progress.push(line) });
    try {
      assert.equal(live.cluster.pods.size, 1201);
      assert.ok(live.cluster.synced);
      assert.deepEqual(server.lists.filter((list) => list.startsWith('/api/v1/pods')), ['/api/v1/pods?limit=500', '/api/v1/pods?continue=500&limit=500', '/api/v1/pods?continue=1000&limit=500']);
      assert.ok(server.lists.filter((list) => !list.startsWith('/apis/apiextensions')).every((list) => /[?&]limit=500/.test(list)), server.lists.join('\n'));
      assert.match(progress.at(-1) ?? '', /levee audit: \d+ objects read from the cluster/);
    } finally {
      live.stop();
    }
  });
});
