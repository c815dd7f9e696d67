import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import semver from 'semver';

/**
 * levee runs and is tested on a supported Node.js LTS: the official binary of the release
 * package.json pins (devDependency `node`), which npm scripts put first on PATH and scripts
 * started otherwise restart themselves on (scripts/lib/run.mjs). The image test checks the
 * Dockerfile runs the same release.
 */
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string }; devDependencies: Record<string, string> };
const pinned = pkg.devDependencies.node!;

describe('runtime: the pinned Node.js LTS', () => {
  it('pins an exact release of an LTS line that is still supported (22 or later, even)', () => {
    assert.ok(semver.valid(pinned), `devDependency node is an exact version, got ${pinned}`);
    const major = semver.major(pinned);
    assert.ok(major >= 22 && major % 2 === 0, `Node.js ${pinned} is not a supported LTS line`);
  });

  it('runs these tests on it', () => {
    assert.equal(process.versions.node, pinned);
  });

  it('is what a `node` on the tests\' PATH and process.execPath start', () => {
    for (const command of ['node', process.execPath]) {
      const result = spawnSync(command, ['-p', 'process.versions.node'], { encoding: 'utf8' });
      assert.equal(result.stdout.trim(), pinned, `${command}: ${result.stderr}`);
    }
  });

  it('engines accepts the pinned release and refuses Node.js 20, which is end of life', () => {
    assert.ok(semver.satisfies(pinned, pkg.engines.node), `${pinned} outside engines ${pkg.engines.node}`);
    assert.equal(semver.satisfies('20.20.2', pkg.engines.node), false);
  });
});
