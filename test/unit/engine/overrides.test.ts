import assert from 'node:assert/strict';
import type { UserInfo } from '../../../src/kube/types.js';
import type { PolicyId } from '../../../src/config.js';
import {
  EXPIRES_ANNOTATION,
  OVERRIDE_ANNOTATION,
  REASON_ANNOTATION,
  resolveOverrides,
  type OverrideAuthorizer,
} from '../../../src/engine/overrides.js';
import type { Author } from '../../../src/engine/authorship.js';

const now = new Date('2026-11-23T12:00:00Z');
const alice: UserInfo = { username: 'alice', groups: ['oncall'] };

function recordingAuthorizer(allowed: (user: UserInfo, policy: PolicyId) => boolean) {
  const asked: string[] = [];
  const authorizer: OverrideAuthorizer = {
    mayOverride: async (user, policy) => {
      asked.push(`${user.username}:${policy}`);
      return allowed(user, policy) ? { allowed: true } : { allowed: false, reason: 'RBAC: no rule' };
    },
  };
  return { authorizer, asked };
}

function annotations(overrides: Record<string, string | undefined>): Record<string, string> {
  const base: Record<string, string | undefined> = {
    [OVERRIDE_ANNOTATION]: 'scale-to-zero',
    [REASON_ANNOTATION]: 'INC-4521: draining ledger before migration',
    [EXPIRES_ANNOTATION]: '2026-11-23T18:00:00Z',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(base).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

const argo: UserInfo = { username: 'system:serviceaccount:argocd:argocd-application-controller', groups: ['system:serviceaccounts', 'system:serviceaccounts:argocd'] };
const automation = (user: UserInfo): string | undefined => (user.username === argo.username ? 'service account */argocd-application-controller' : undefined);

async function resolve(values: Record<string, string>, options: { denied?: string[]; allowed?: boolean | ((user: UserInfo) => boolean); maxHours?: number; author?: Author; requester?: UserInfo } = {}) {
  const allowed = options.allowed;
  const { authorizer, asked } = recordingAuthorizer((user) => (typeof allowed === 'function' ? allowed(user) : allowed ?? true));
  const author = options.author ?? { source: 'request', user: alice };
  const outcome = await resolveOverrides({
    annotations: values,
    deniedPolicies: new Set(options.denied ?? ['scale-to-zero']),
    author,
    requester: options.requester ?? (author.source === 'unknown' ? alice : author.user),
    automation,
    now,
    maxHours: options.maxHours ?? 24,
    authorizer,
  });
  return { outcome, asked };
}

describe('engine/overrides', () => {
  it('honours an authorized, reasoned, unexpired override of a denying policy', async () => {
    const { outcome, asked } = await resolve(annotations({}));
    assert.deepEqual(outcome.honoured, [{ policy: 'scale-to-zero', reason: 'INC-4521: draining ledger before migration', expires: '2026-11-23T18:00:00Z', author: 'alice' }]);
    assert.deepEqual(outcome.ignored, []);
    assert.deepEqual(asked, ['alice:scale-to-zero']);
  });

  it('does not ask the API server when no policy denies the request', async () => {
    const { outcome, asked } = await resolve(annotations({}), { denied: [] });
    assert.deepEqual(outcome, { honoured: [], ignored: [] });
    assert.deepEqual(asked, []);
  });

  it('does not ask about policies the override does not name', async () => {
    const { outcome, asked } = await resolve(annotations({}), { denied: ['version-skew'] });
    assert.deepEqual(outcome, { honoured: [], ignored: [] });
    assert.deepEqual(asked, []);
  });

  it('ignores an unauthorized user and says so, with the RBAC way to grant it', async () => {
    const { outcome } = await resolve(annotations({}), { allowed: false });
    assert.deepEqual(outcome.honoured, []);
    assert.match(outcome.ignored[0]!.why, /^not authorized: alice may not override scale-to-zero \(RBAC: no rule\).*levee-override/);
  });

  const invalid: Array<[string, Record<string, string | undefined>, RegExp]> = [
    ['no reason', { [REASON_ANNOTATION]: undefined }, /^no reason given/],
    ['a blank reason', { [REASON_ANNOTATION]: '   ' }, /^no reason given/],
    ['no expiry', { [EXPIRES_ANNOTATION]: undefined }, /^no expiry given/],
    ['a malformed expiry', { [EXPIRES_ANNOTATION]: 'tomorrow' }, /^malformed expiry "tomorrow"/],
    ['a date without a time', { [EXPIRES_ANNOTATION]: '2026-11-24' }, /^malformed expiry/],
    ['a past expiry', { [EXPIRES_ANNOTATION]: '2026-11-23T11:59:59Z' }, /^expired at 2026-11-23T11:59:59Z/],
    ['an expiry beyond the maximum', { [EXPIRES_ANNOTATION]: '2026-11-25T12:00:00Z' }, /more than 24h ahead/],
  ];
  for (const [what, change, pattern] of invalid) {
    it(`ignores an override with ${what}, without asking the API server`, async () => {
      const { outcome, asked } = await resolve(annotations(change));
      assert.deepEqual(outcome.honoured, []);
      assert.equal(outcome.ignored.length, 1);
      assert.match(outcome.ignored[0]!.why, pattern);
      assert.deepEqual(asked, []);
    });
  }

  it('accepts an expiry with an offset inside the window', async () => {
    const { outcome } = await resolve(annotations({ [EXPIRES_ANNOTATION]: '2026-11-23T14:30:00+02:00' }));
    assert.equal(outcome.honoured.length, 1);
  });

  it('names an unknown policy id and still honours the known one', async () => {
    const { outcome } = await resolve(annotations({ [OVERRIDE_ANNOTATION]: 'scale-to-zro, scale-to-zero' }));
    assert.equal(outcome.honoured.length, 1);
    assert.match(outcome.ignored[0]!.why, /unknown policy "scale-to-zro"/);
  });

  it('respects a configured maximum', async () => {
    const { outcome } = await resolve(annotations({}), { maxHours: 2 });
    assert.match(outcome.ignored[0]!.why, /more than 2h ahead/);
  });

  describe('who must be authorized: the author of the override', () => {
    it('asks about the author levee recorded, with their groups, and about the requester', async () => {
      const bob: UserInfo = { username: 'bob', uid: 'b-1', groups: ['oncall'], extra: { scopes: ['all'] } };
      const users: UserInfo[] = [];
      const outcome = await resolveOverrides({
        annotations: annotations({}),
        deniedPolicies: new Set(['scale-to-zero']),
        author: { source: 'record', user: bob },
        requester: alice,
        automation,
        now,
        maxHours: 24,
        authorizer: { mayOverride: async (user) => (users.push(user), { allowed: true }) },
      });
      assert.deepEqual(outcome.honoured.map((override) => override.author), ['bob']);
      assert.deepEqual(users, [bob, alice]);
    });

    it('refuses a requester who may not override, though the recorded author may: an author never lends their right', async () => {
      const bob: UserInfo = { username: 'bob', groups: ['oncall'] };
      const developer: UserInfo = { username: 'developer', groups: ['developers'] };
      const { outcome, asked } = await resolve(annotations({}), { author: { source: 'record', user: bob }, requester: developer, allowed: (user) => user.username === 'bob' });
      assert.deepEqual(outcome.honoured, []);
      assert.match(outcome.ignored[0]!.why, /^not authorized: developer may not override scale-to-zero \(RBAC: no rule\); the override was set by bob, but the requester must be allowed to override too/);
      assert.deepEqual(asked, ['bob:scale-to-zero', 'developer:scale-to-zero']);
    });

    it('asks once when the requester is the recorded author', async () => {
      const bob: UserInfo = { username: 'bob', groups: ['oncall'] };
      const { outcome, asked } = await resolve(annotations({}), { author: { source: 'record', user: bob }, requester: { username: 'bob', groups: ['oncall'] } });
      assert.deepEqual(outcome.honoured.map((override) => override.author), ['bob']);
      assert.deepEqual(asked, ['bob:scale-to-zero']);
    });

    it('says so when the recorded author may no longer override', async () => {
      const { outcome } = await resolve(annotations({}), { allowed: false, author: { source: 'record', user: { username: 'bob', groups: [] } } });
      assert.match(outcome.ignored[0]!.why, /^not authorized: bob, who set this override as levee recorded, may not override scale-to-zero/);
    });

    it('never honours an override whose author levee does not know, and asks nobody', async () => {
      const { outcome, asked } = await resolve(annotations({}), { author: { source: 'unknown' } });
      assert.deepEqual(outcome.honoured, []);
      assert.match(outcome.ignored[0]!.why, /^not authorized: levee has no record of who set this override/);
      assert.deepEqual(asked, []);
    });

    it('never honours an override an automation identity sets, whatever its rights', async () => {
      const { outcome, asked } = await resolve(annotations({}), { author: { source: 'request', user: argo } });
      assert.deepEqual(outcome.honoured, []);
      assert.match(outcome.ignored[0]!.why, /^not authorized: system:serviceaccount:argocd:argocd-application-controller sets this override but is an automation identity \(overrides\.automation: service account \*\/argocd-application-controller\)/);
      assert.deepEqual(asked, []);
    });

    it('nor one recorded for an automation identity (the configuration changed since)', async () => {
      const { outcome } = await resolve(annotations({}), { author: { source: 'record', user: argo } });
      assert.match(outcome.ignored[0]!.why, /automation identity/);
    });

    it('says first what is wrong with the annotations themselves', async () => {
      const { outcome } = await resolve(annotations({ [EXPIRES_ANNOTATION]: '2020-01-01T00:00:00Z' }), { author: { source: 'unknown' } });
      assert.match(outcome.ignored[0]!.why, /^expired at/);
    });
  });
});
