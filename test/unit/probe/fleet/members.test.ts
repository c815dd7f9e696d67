import assert from 'node:assert/strict';
import { fleetMembers, memberName } from '../../../../src/probe/fleet/members.js';

describe('probe/fleet/members: one hub name per member cluster', () => {
  it('keeps a context that already is a valid name as it is', () => {
    assert.equal(memberName('prod-eu-1'), 'prod-eu-1');
    assert.equal(memberName('kind.staging'), 'kind.staging');
  });

  it('turns free-text contexts into valid names that stay apart', () => {
    const names = ['arn:aws:eks:eu-west-1:123456789012:cluster/prod', 'admin@Prod', 'admin@prod', 'Prod_EU', '---', 'x'.repeat(80), `${'y'.repeat(70)}-`].map(memberName);
    for (const name of names) assert.match(name, /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/, name);
    assert.equal(new Set(names).size, names.length, names.join('\n'));
    assert.match(names[0]!, /^arn-aws-eks-eu-west-1-123456789012-cluster-prod-[0-9a-f]{6}$/);
    assert.match(names[1]!, /^admin-prod-[0-9a-f]{6}$/);
    assert.match(names[4]!, /^context-[0-9a-f]{6}$/);
  });

  it('gives each member its name, or the one configured', () => {
    assert.deepEqual(fleetMembers([{ context: 'hub' }, { context: 'admin@edge', name: 'edge' }]), [
      { context: 'hub', name: 'hub' },
      { context: 'admin@edge', name: 'edge' },
    ]);
  });

  it('refuses a member named like the hub\'s own verdict, two members of one name, and a name that is not valid', () => {
    assert.throws(() => fleetMembers([{ context: 'cluster' }]), /the name "cluster" is the hub's own verdict/);
    assert.throws(() => fleetMembers([{ context: 'a', name: 'same' }, { context: 'b', name: 'same' }]), /members "a" and "b" would both publish ProbeVerdict same/);
    assert.throws(() => fleetMembers([{ context: 'a', name: 'Not_Valid' }]), /name "Not_Valid" is not a valid name/);
  });
});
