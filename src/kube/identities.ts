import type { UserInfo } from './types.js';

/**
 * A set of Kubernetes identities as configuration names them: usernames, groups, and service
 * accounts as `namespace/name`. `*` in a username or a service account matches any run of
 * characters, so `*\/argocd-application-controller` is Argo CD's controller in any namespace.
 */
export interface IdentitySet {
  users: readonly string[];
  groups: readonly string[];
  serviceAccounts: readonly string[];
}

export interface IdentityMatcher {
  /** What in the set `user` matched (`user x`, `group y`, `service account ns/name`), or undefined. */
  match(user: UserInfo): string | undefined;
}

const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

/** Compiles the set once; matching is a few regular expression tests. */
export function identityMatcher(set: IdentitySet): IdentityMatcher {
  const users = set.users.map((pattern) => ({ pattern, regex: glob(pattern) }));
  const accounts = set.serviceAccounts.map((entry) => {
    const [namespace, name] = entry.split('/') as [string, string];
    return { entry, regex: glob(`${SERVICE_ACCOUNT_PREFIX}${namespace}:${name}`) };
  });
  const groups = new Set(set.groups);
  return {
    match(user) {
      const byName = users.find(({ regex }) => regex.test(user.username));
      if (byName) return `user ${byName.pattern}`;
      if (user.username.startsWith(SERVICE_ACCOUNT_PREFIX)) {
        // A service account's namespace and name never contain ':', so a `*` cannot reach across them.
        const account = accounts.find(({ regex }) => regex.test(user.username) && user.username.split(':').length === 4);
        if (account) return `service account ${account.entry}`;
      }
      const group = user.groups.find((candidate) => groups.has(candidate));
      return group === undefined ? undefined : `group ${group}`;
    },
  };
}

/**
 * One user as the API server vouched for them, whole: username, uid, groups and extra, in a
 * canonical order. Two credentials of one user can differ in uid and extra (a scoped token, an
 * impersonated subset of groups), and an authorizer may answer them differently, so none of it
 * is left out.
 */
export function userKey(user: UserInfo): string {
  const extra = Object.entries(user.extra ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([user.username, user.uid ?? null, [...user.groups].sort(), extra]);
}

/**
 * The cluster's own machinery: kube-controller-manager (as itself or as its controllers' kube-system
 * service accounts: the garbage collector's cascades, namespace teardowns, scale-downs) and
 * kubelets. Their writes carry out what was decided elsewhere. The API server authenticates these
 * names: nobody else can send them.
 */
export function isClusterMachinery(user: UserInfo): boolean {
  return user.username === 'system:kube-controller-manager' || user.username.startsWith(`${SERVICE_ACCOUNT_PREFIX}kube-system:`) || user.username.startsWith('system:node:');
}
