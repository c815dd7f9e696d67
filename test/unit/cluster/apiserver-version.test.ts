import assert from 'node:assert/strict';
import { ApiServerVersion } from '../../../src/cluster/apiserver-version.js';
import { parseKubeVersion } from '../../../src/cluster/versions.js';

describe('cluster/apiserver-version', () => {
  it('knows nothing before the first answer', () => {
    assert.equal(new ApiServerVersion(60_000).current(), undefined);
  });

  it('answers the oldest version seen within the last few refreshes (HA behind a load balancer)', () => {
    const holder = new ApiServerVersion(60_000);
    holder.record(parseKubeVersion('v1.34.4')!, 0);
    holder.record(parseKubeVersion('v1.33.7')!, 60_000);
    holder.record(parseKubeVersion('v1.34.4')!, 120_000);
    assert.equal(holder.current()?.text, 'v1.33.7');
  });

  it('forgets answers older than three refresh periods, so a finished upgrade shows', () => {
    const holder = new ApiServerVersion(60_000);
    holder.record(parseKubeVersion('v1.33.7')!, 0);
    holder.record(parseKubeVersion('v1.34.4')!, 181_000);
    assert.equal(holder.current()?.text, 'v1.34.4');
  });
});
