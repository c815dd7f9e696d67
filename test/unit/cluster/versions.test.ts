import assert from 'node:assert/strict';
import { compareVersions, parseKubeVersion, versionKey, VersionTally, type KubeVersion } from '../../../src/cluster/versions.js';

function v(text: string): KubeVersion {
  const version = parseKubeVersion(text);
  assert.ok(version, `${text} should parse`);
  return version;
}

describe('cluster/versions', () => {
  describe('parseKubeVersion', () => {
    it('keeps major.minor.patch of provider-decorated versions and the text as written', () => {
      assert.deepEqual(parseKubeVersion('v1.29.3-eks-abc'), { major: 1, minor: 29, patch: 3, text: 'v1.29.3-eks-abc' });
      assert.deepEqual(parseKubeVersion('v1.30.0+k3s1'), { major: 1, minor: 30, patch: 0, text: 'v1.30.0+k3s1' });
      assert.deepEqual(parseKubeVersion('1.28.3-gke.1286000'), { major: 1, minor: 28, patch: 3, text: '1.28.3-gke.1286000' });
      assert.deepEqual(parseKubeVersion(' v1.20.2 '), { major: 1, minor: 20, patch: 2, text: 'v1.20.2' });
    });

    it('fills a missing patch with 0', () => {
      assert.deepEqual(parseKubeVersion('v1.29'), { major: 1, minor: 29, patch: 0, text: 'v1.29' });
    });

    it('answers undefined for what is not a version', () => {
      for (const raw of ['latest', '', undefined, null, 42, {}]) assert.equal(parseKubeVersion(raw), undefined, String(raw));
    });
  });

  it('compares by major, then minor, then patch; decoration does not count', () => {
    assert.ok(compareVersions(v('v1.12.10'), v('v1.20.2')) < 0);
    assert.ok(compareVersions(v('v1.20.10'), v('v1.20.2')) > 0);
    assert.ok(compareVersions(v('v2.0.0'), v('v1.99.99')) > 0);
    assert.equal(compareVersions(v('v1.29.3-eks-abc'), v('1.29.3+k3s1')), 0);
    assert.equal(versionKey(v('v1.29.3-eks-abc')), 'v1.29.3');
  });

  describe('VersionTally', () => {
    it('tracks the oldest and newest as versions come and go', () => {
      const tally = new VersionTally();
      assert.equal(tally.range(), undefined);
      tally.add(v('v1.34.4'));
      tally.add(v('v1.33.7'));
      tally.add(v('v1.34.4'));
      assert.deepEqual(
        [tally.range()?.min.text, tally.range()?.max.text, tally.range()?.count, tally.size],
        ['v1.33.7', 'v1.34.4', 3, 3],
      );
      tally.remove(v('v1.33.7'));
      assert.deepEqual([tally.range()?.min.text, tally.range()?.max.text], ['v1.34.4', 'v1.34.4']);
      tally.remove(v('v1.34.4'));
      tally.remove(v('v1.34.4'));
      assert.equal(tally.range(), undefined);
      assert.equal(tally.size, 0);
    });

    it('counts decorated versions under their core', () => {
      const tally = new VersionTally();
      tally.add(v('v1.29.3-eks-abc'));
      tally.remove(v('v1.29.3'));
      assert.equal(tally.size, 0);
    });

    it('ignores the removal of a version it never held', () => {
      const tally = new VersionTally();
      tally.add(v('v1.30.0'));
      tally.remove(v('v1.31.0'));
      assert.equal(tally.size, 1);
    });

    it('leaves one occurrence out on request, and only one', () => {
      const tally = new VersionTally();
      tally.add(v('v1.20.2'));
      tally.add(v('v1.21.0'));
      assert.equal(tally.range(v('v1.21.0'))?.max.text, 'v1.20.2');
      tally.add(v('v1.21.0'));
      assert.equal(tally.range(v('v1.21.0'))?.max.text, 'v1.21.0');
      const single = new VersionTally();
      single.add(v('v1.20.2'));
      assert.equal(single.range(v('v1.20.2')), undefined);
    });
  });
});
