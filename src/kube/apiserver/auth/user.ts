// Who made a request, as Kubernetes' user.Info: name, uid, groups, extra.

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export const AUTHENTICATED_GROUP = 'system:authenticated';
export const UNAUTHENTICATED_GROUP = 'system:unauthenticated';
export const SUPERUSER_GROUP = 'system:masters';
export const SERVICE_ACCOUNTS_GROUP = 'system:serviceaccounts';
export const ANONYMOUS_USER = 'system:anonymous';

/** The identity upstream gives requests without credentials (Skiff refuses them, but the
 *  authorizer and access reviews still understand it). */
export const ANONYMOUS: UserInfo = Object.freeze({
  username: ANONYMOUS_USER,
  groups: [UNAUTHENTICATED_GROUP],
}) as UserInfo;

/** Adds system:authenticated (once) to an authenticated user's groups. */
export function withAuthenticatedGroup(user: UserInfo): UserInfo {
  return user.groups.includes(AUTHENTICATED_GROUP) ? user : { ...user, groups: [...user.groups, AUTHENTICATED_GROUP] };
}
