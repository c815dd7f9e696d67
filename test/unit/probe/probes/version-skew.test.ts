import assert from 'node:assert/strict';
import { versionSkew } from '../../../../src/probe/probes/version-skew.js';
import { context, node, NODES } from '../../../support/probe-context.js';

describe('probe/probes/version-skew', () => {
  it('is critical when the API server is older than a kubelet (the ride-hailing outage)', async () => {
    const outcome = await versionSkew.run(context({ '/version': { gitVersion: 'v1.33.5' }, [NODES]: { items: [node('a', 'v1.34.4'), node('b', 'v1.33.5')] } }));
    assert.equal(outcome.ok, false);
    assert.equal(outcome.severity, 'critical');
    assert.match(outcome.message, /API server v1\.33\.5 is older than the kubelets on 1 node\(s\): a \(v1\.34\.4\)/);
  });

  it('reports kubelets too far behind without making it critical', async () => {
    const outcome = await versionSkew.run(context({ '/version': { gitVersion: 'v1.34.4' }, [NODES]: { items: [node('old', 'v1.30.2'), node('b', 'v1.33.7')] } }));
    assert.equal(outcome.ok, false);
    assert.equal(outcome.severity, undefined);
    assert.match(outcome.message, /1 node\(s\) run kubelets more than 3 minors behind API server v1\.34\.4: old \(v1\.30\.2\)/);
  });

  it('passes the local cluster mix (one kubelet a minor behind) and does not judge an unversioned build', async () => {
    const healthy = await versionSkew.run(context({ '/version': { gitVersion: 'v1.34.4' }, [NODES]: { items: [node('a', 'v1.34.4'), node('b', 'v1.33.7')] } }));
    assert.equal(healthy.ok, true, healthy.message);
    const unversioned = await versionSkew.run(context({ '/version': { gitVersion: 'v0.0.0-master+$Format:%H$' }, [NODES]: { items: [node('a', 'v1.34.4')] } }));
    assert.equal(unversioned.ok, true);
    assert.match(unversioned.message, /not a release version/);
  });
});
