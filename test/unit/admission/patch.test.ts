import assert from 'node:assert/strict';
import { encodePatch } from '../../../src/admission/patch.js';
import { patchBetween } from '../../../src/engine/mutation.js';

describe('admission/patch', () => {
  it('encodes a patch as base64 JSON', () => {
    const patch = patchBetween({ spec: { replicas: 1 } }, { spec: { replicas: 2 } });
    const decoded: unknown = JSON.parse(Buffer.from(encodePatch(patch), 'base64').toString('utf8'));
    assert.deepEqual(decoded, [{ op: 'replace', path: '/spec/replicas', value: 2 }]);
  });
});
