import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readBundle } from '../../../src/engine/bundle.js';
import { LeveeError, type ErrorCode } from '../../../src/errors.js';
import { BUNDLE_PATH } from '../../support/bundle.js';
import { gzippedTar, tarArchive } from '../../support/tar.js';

const WASM = Buffer.concat([Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]), Buffer.alloc(700, 7)]);

function leveeError(code: ErrorCode, pattern: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof LeveeError, `expected a LeveeError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  };
}

describe('engine/bundle', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'levee-bundle-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function bundleFile(name: string, bytes: Buffer): string {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  }

  it('reads policy.wasm out of the bundle the build compiled', () => {
    const bundle = readBundle(BUNDLE_PATH);
    assert.equal(bundle.path, BUNDLE_PATH);
    assert.deepEqual([...bundle.wasm.subarray(0, 4)], [0x00, 0x61, 0x73, 0x6d]);
    assert.equal(bundle.digest, createHash('sha256').update(readFileSync(BUNDLE_PATH)).digest('hex').slice(0, 16));
  });

  it('finds policy.wasm named with a leading "/" as opa writes it, among other members', () => {
    const path = bundleFile('opa-style.tar.gz', gzippedTar([
      { name: '/data.json', content: '{}' },
      { name: '/policies/main.rego', content: 'package levee\n'.repeat(50) },
      { name: '/policy.wasm', content: WASM },
      { name: '/.manifest', content: '{"revision":""}' },
    ]));
    assert.deepEqual(readBundle(path).wasm, WASM);
  });

  it('finds policy.wasm named "./policy.wasm", after a directory entry', () => {
    const path = bundleFile('dot-style.tar.gz', gzippedTar([
      { name: './', type: '5' },
      { name: './policy.wasm', content: WASM },
    ]));
    assert.deepEqual(readBundle(path).wasm, WASM);
  });

  it('joins the ustar prefix field to the name', () => {
    const dotted = bundleFile('dot-prefix.tar.gz', gzippedTar([{ name: 'policy.wasm', prefix: '.', content: WASM }]));
    assert.deepEqual(readBundle(dotted).wasm, WASM);
    const nested = bundleFile('prefixed.tar.gz', gzippedTar([{ name: 'policy.wasm', prefix: 'build', content: WASM }]));
    assert.throws(() => readBundle(nested), leveeError('BUNDLE_INVALID', /holds no policy\.wasm/));
  });

  it('gives bundles with different bytes different digests', () => {
    const one = readBundle(bundleFile('one.tar.gz', gzippedTar([{ name: 'policy.wasm', content: WASM }])));
    const two = readBundle(bundleFile('two.tar.gz', gzippedTar([{ name: 'policy.wasm', content: Buffer.concat([WASM, Buffer.from([1])]) }])));
    assert.match(one.digest, /^[0-9a-f]{16}$/);
    assert.notEqual(one.digest, two.digest);
  });

  it('reports a missing file as unreadable, with the command that builds it', () => {
    const path = join(dir, 'absent.tar.gz');
    assert.throws(() => readBundle(path), leveeError('BUNDLE_UNREADABLE', /absent\.tar\.gz.*npm run build/));
  });

  it('reports a file that is not gzip as invalid', () => {
    const path = bundleFile('plain.tar', tarArchive([{ name: 'policy.wasm', content: WASM }]));
    assert.throws(() => readBundle(path), leveeError('BUNDLE_INVALID', /plain\.tar is not a gzipped tar archive/));
  });

  it('reports an archive without policy.wasm as invalid', () => {
    const path = bundleFile('no-wasm.tar.gz', gzippedTar([{ name: '/data.json', content: '{}' }]));
    assert.throws(() => readBundle(path), leveeError('BUNDLE_INVALID', /no-wasm\.tar\.gz holds no policy\.wasm/));
  });

  it('does not take a symlink called policy.wasm for the module', () => {
    const path = bundleFile('symlink.tar.gz', gzippedTar([{ name: 'policy.wasm', type: '2' }]));
    assert.throws(() => readBundle(path), leveeError('BUNDLE_INVALID', /holds no policy\.wasm/));
  });

  it('reports a truncated member as invalid', () => {
    const whole = tarArchive([{ name: 'policy.wasm', content: WASM }]);
    const path = bundleFile('truncated.tar.gz', gzipSync(whole.subarray(0, 512 + 100)));
    assert.throws(() => readBundle(path), leveeError('BUNDLE_INVALID', /truncated entry policy\.wasm/));
  });

  it('reports gzipped bytes that are not a tar archive as invalid', () => {
    const path = bundleFile('gzipped-text.gz', gzipSync(Buffer.from('not a tar archive at all\n'.repeat(40))));
    assert.throws(() => readBundle(path), leveeError('BUNDLE_INVALID', /gzipped-text\.gz/));
  });
});
