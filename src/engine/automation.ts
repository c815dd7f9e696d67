import type { LeveeConfig } from '../config.js';
import { identityMatcher } from '../kube/identities.js';
import type { UserInfo } from '../kube/types.js';

const matchers = new WeakMap<object, (user: UserInfo) => string | undefined>();

/**
 * The configured automation identities (`overrides.automation`) as a test: what a user matched,
 * or undefined. Compiled once per configuration, which is frozen.
 */
export function automationOf(config: LeveeConfig): (user: UserInfo) => string | undefined {
  const identities = config.overrides.automation;
  let match = matchers.get(identities);
  if (!match) {
    const matcher = identityMatcher(identities);
    match = (user) => matcher.match(user);
    matchers.set(identities, match);
  }
  return match;
}
