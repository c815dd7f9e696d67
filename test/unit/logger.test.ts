import assert from 'node:assert/strict';
import { createLogger } from '../../src/logger.js';

describe('logger: tokens, keys and Secret data never reach a log line', () => {
  it('censors them wherever levee logs them, and keeps the rest', () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    const secrets = ['tok-123', 'pem-key', 'pem-cert', 'Bearer abc', 'c2VjcmV0', 'plain-secret', 'pass-1'];
    logger.info({ token: secrets[0], key: secrets[1], cert: secrets[2], headers: { authorization: secrets[3] } }, 'top level');
    logger.info({ user: { token: secrets[0], password: secrets[6] }, request: { headers: { authorization: secrets[3] } }, tls: { key: secrets[1], cert: secrets[2] } }, 'one level down');
    logger.info({ object: { kind: 'Secret', data: { password: secrets[4] }, stringData: { password: secrets[5] } } }, 'an object');
    assert.equal(lines.length, 3);
    for (const line of lines) {
      for (const secret of secrets) assert.doesNotMatch(line, new RegExp(secret), `${secret} in ${line}`);
      assert.match(line, /\[redacted\]/);
    }
    assert.match(lines[2]!, /"kind":"Secret"/, 'what is not secret stays');
  });
});
