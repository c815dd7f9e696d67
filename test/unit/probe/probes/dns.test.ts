import assert from 'node:assert/strict';
import { dns } from '../../../../src/probe/probes/dns.js';
import { context } from '../../../support/probe-context.js';

describe('probe/probes/dns', () => {
  it('resolves the configured name in a pod, and fails a name that does not resolve', async () => {
    const resolved = await dns.run(context({}, { dnsName: 'localhost' }, { inCluster: true }));
    assert.equal(resolved.ok, true, resolved.message);
    const unresolved = await dns.run(context({}, { dnsName: 'no-such-name.invalid' }, { inCluster: true }));
    assert.equal(unresolved.ok, false);
    assert.match(unresolved.message, /resolving no-such-name\.invalid failed/);
  });
});
