import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contextKubeconfig } from '../../../../src/probe/fleet/run.js';

describe('probe/fleet/run: one kubeconfig context per member', () => {
  let dir: string;
  let file: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'levee-fleet-'));
    file = join(dir, 'kubeconfig');
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'a', cluster: { server: 'https://127.0.0.1:16801' } },
          { name: 'b', cluster: { server: 'https://127.0.0.1:16861' } },
        ],
        users: [{ name: 'admin', user: { token: 't' } }],
        contexts: [
          { name: 'hub', context: { cluster: 'a', user: 'admin' } },
          { name: 'admin@edge', context: { cluster: 'b', user: 'admin' } },
          { name: 'dangling', context: { cluster: 'nowhere', user: 'admin' } },
        ],
        'current-context': 'hub',
      }),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reaches each member through its own context, whatever the current one', () => {
    assert.equal(contextKubeconfig(file, 'admin@edge').getCurrentCluster()?.server, 'https://127.0.0.1:16861');
    assert.equal(contextKubeconfig(file, 'hub').getCurrentCluster()?.server, 'https://127.0.0.1:16801');
  });

  it('names a context the kubeconfig lacks, with the ones it has, and one whose cluster is not defined', () => {
    assert.throws(() => contextKubeconfig(file, 'gone'), /kubeconfig has no context "gone" \(it has: hub, admin@edge, dangling\)/);
    assert.throws(() => contextKubeconfig(file, 'dangling'), /kubeconfig context "dangling" names no cluster the kubeconfig defines/);
  });
});
