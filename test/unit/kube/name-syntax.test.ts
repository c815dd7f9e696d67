import assert from 'node:assert/strict';
import { labelKey, labelValue, namespacedName, namespaceName } from '../../../src/kube/name-syntax.js';

describe('kube/name-syntax', () => {
  describe('labelKey', () => {
    const valid = [
      'app',
      'levee.dev/critical',
      'karpenter.sh/capacity-type',
      'eks.amazonaws.com/capacityType',
      'node.kubernetes.io/instance-type',
      'a',
      'A_b.c-9',
      `${'a'.repeat(63)}`,
      `${'p'.repeat(63)}.${'q'.repeat(63)}.${'r'.repeat(63)}.${'s'.repeat(61)}/${'n'.repeat(63)}`,
      // A subdomain caps its whole length, not each label in it.
      `a${'b'.repeat(62)}c/x`,
      `x.a${'b'.repeat(98)}c.y/x`,
      `${'p'.repeat(253)}/x`,
    ];
    for (const key of valid) {
      it(`takes ${key.length > 40 ? `${key.slice(0, 20)}... (${key.length} characters)` : JSON.stringify(key)}`, () => {
        assert.equal(labelKey.safeParse(key).success, true);
      });
    }

    const invalid: Array<[string, string]> = [
      ['', 'empty'],
      ['capacity type', 'a space'],
      ['-app', 'a leading dash'],
      ['app.', 'a trailing dot'],
      ['Levee.dev/critical', 'an upper-case prefix'],
      ['levee.dev/', 'an empty name'],
      ['/critical', 'an empty prefix'],
      ['a/b/c', 'two slashes'],
      ['levee_dev/critical', 'an underscore in the prefix'],
      ['levee.dev/kritisch-ä', 'a non-ASCII letter'],
      [`${'a'.repeat(64)}`, 'a 64-character name'],
      [`${'p'.repeat(63)}.${'q'.repeat(63)}.${'r'.repeat(63)}.${'s'.repeat(62)}/n`, 'a 254-character prefix'],
      [`${'p'.repeat(254)}/n`, 'a 254-character prefix of one label'],
      ['app\n', 'a trailing newline'],
    ];
    for (const [key, why] of invalid) {
      it(`refuses a key with ${why}, naming it`, () => {
        const result = labelKey.safeParse(key);
        assert.equal(result.success, false);
        assert.match(result.error?.issues[0]?.message ?? '', /is not a label key/);
        assert.ok(result.error?.issues[0]?.message.startsWith(JSON.stringify(key)));
      });
    }
  });

  describe('labelValue', () => {
    for (const value of ['', 'true', 'on-demand', 'ON_DEMAND', 'v1.34.4', 'x'.repeat(63)]) {
      it(`takes ${JSON.stringify(value.length > 20 ? `${value.slice(0, 10)}...` : value)}`, () => {
        assert.equal(labelValue.safeParse(value).success, true);
      });
    }
    for (const value of ['on demand', '-spot', 'spot-', 'a/b', 'x'.repeat(64)]) {
      it(`refuses ${JSON.stringify(value.length > 20 ? `${value.slice(0, 10)}...` : value)}`, () => {
        const result = labelValue.safeParse(value);
        assert.equal(result.success, false);
        assert.match(result.error?.issues[0]?.message ?? '', /is not a label value/);
      });
    }
  });

  describe('namespaceName', () => {
    for (const name of ['kube-system', 'levee-system', 'a', '0', 'n'.repeat(63)]) {
      it(`takes ${JSON.stringify(name.length > 20 ? `${name.slice(0, 10)}...` : name)}`, () => {
        assert.equal(namespaceName.safeParse(name).success, true);
      });
    }
    for (const name of ['', 'Kube-System', 'kube_system', 'kube.system', '-a', 'a-', '*', 'n'.repeat(64)]) {
      it(`refuses ${JSON.stringify(name.length > 20 ? `${name.slice(0, 10)}...` : name)}`, () => {
        const result = namespaceName.safeParse(name);
        assert.equal(result.success, false);
        assert.match(result.error?.issues[0]?.message ?? '', /is not a namespace name/);
      });
    }
  });

  describe('namespacedName', () => {
    for (const value of ['shop/web', 'shop/*', 'a/b.c-d']) {
      it(`takes ${JSON.stringify(value)}`, () => assert.equal(namespacedName.safeParse(value).success, true));
    }
    for (const value of ['Shop/web', 'shop.prod/*', 'web', 'shop/', '/web', 'shop/web/x', `${'n'.repeat(64)}/web`]) {
      it(`refuses ${JSON.stringify(value.length > 30 ? `${value.slice(0, 10)}...` : value)}`, () => {
        const result = namespacedName.safeParse(value);
        assert.equal(result.success, false);
        assert.match(result.error?.issues[0]?.message ?? '', /is not namespace\/name/);
      });
    }
  });
});
