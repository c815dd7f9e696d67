import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeveeError } from '../../../src/errors.js';
import { readKeyPair } from '../../../src/server/tls.js';

describe('server/tls', () => {
  it('reads the certificate and key files as they are', () => {
    const dir = mkdtempSync(join(tmpdir(), 'levee-tls-'));
    writeFileSync(join(dir, 'tls.crt'), 'certificate');
    writeFileSync(join(dir, 'tls.key'), 'key');
    const pair = readKeyPair({ certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') });
    assert.deepEqual([pair.cert.toString(), pair.key.toString()], ['certificate', 'key']);
  });

  it('names a file it cannot read, with a code and the way to make one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'levee-tls-'));
    writeFileSync(join(dir, 'tls.crt'), 'certificate');
    assert.throws(
      () => readKeyPair({ certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'absent.key') }),
      (err: unknown) => err instanceof LeveeError && err.code === 'TLS_UNREADABLE' && /cannot read TLS key .*absent\.key.*levee certs --out certs/.test(err.message),
    );
  });
});
