// User impersonation (`kubectl --as=USER --as-group=G --as-uid=U`), as upstream's impersonation
// filter: the Impersonate-User / -Uid / -Group / -Extra-<key> headers switch the request's identity
// after authentication, provided the real user may `impersonate` each of them — users, groups and
// serviceaccounts in the core group, uids and userextras/<key> in authentication.k8s.io.
import type { IncomingHttpHeaders } from 'node:http';
import { invalidArgument } from '../../../common/index.js';
import type { Authorizer, RequestAttributes } from './rbac-types.js';
import { forbiddenStatus, type Status } from './review.js';
import { parseServiceAccountUsername } from './serviceaccount.js';
import {
  ANONYMOUS_USER,
  AUTHENTICATED_GROUP,
  SERVICE_ACCOUNTS_GROUP,
  UNAUTHENTICATED_GROUP,
  type UserInfo,
} from './user.js';

const EXTRA_PREFIX = 'impersonate-extra-';
const AUTHN_GROUP = 'authentication.k8s.io';

function values(h: string | string[] | undefined): string[] {
  if (h === undefined) return [];
  // Node joins repeated unknown headers with ", "; kubectl sends one header per group.
  return (Array.isArray(h) ? h : h.split(',')).map((v) => v.trim()).filter(Boolean);
}

/** Whether the request asks to impersonate anyone. */
export function wantsImpersonation(headers: IncomingHttpHeaders): boolean {
  return Object.keys(headers).some((k) => k.startsWith('impersonate-'));
}

export type ImpersonationResult = { user: UserInfo; impersonated: boolean } | { forbidden: Status };

/** The identity to use for the request: the requester's, or the impersonated one when every
 *  impersonation is authorized; `{ forbidden }` (a 403 Status) when one is not. Malformed headers
 *  (groups, uid or extra without a user) throw InvalidArgument (400). */
export async function impersonate(
  authorizer: Authorizer,
  requester: UserInfo,
  headers: IncomingHttpHeaders,
): Promise<ImpersonationResult> {
  if (!wantsImpersonation(headers)) return { user: requester, impersonated: false };
  const userHeader = headers['impersonate-user'];
  const username = Array.isArray(userHeader) ? userHeader[0] : userHeader?.trim();
  const groups = values(headers['impersonate-group']);
  const uidHeader = headers['impersonate-uid'];
  const uid = (Array.isArray(uidHeader) ? uidHeader[0] : uidHeader)?.trim();
  const extra: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (!k.startsWith(EXTRA_PREFIX)) continue;
    let key: string;
    try {
      key = decodeURIComponent(k.slice(EXTRA_PREFIX.length));
    } catch {
      throw invalidArgument(`header ${k}: the extra key is not valid percent-encoding`, { field: k });
    }
    extra[key] = values(v);
  }
  if (!username) {
    throw invalidArgument(
      'requested impersonation of groups, uid or extra without impersonating a user (Impersonate-User)',
      { field: 'Impersonate-User' },
    );
  }

  const checks: RequestAttributes[] = [];
  const sa = parseServiceAccountUsername(username);
  if (sa)
    checks.push({
      resourceRequest: true,
      verb: 'impersonate',
      apiGroup: '',
      resource: 'serviceaccounts',
      namespace: sa.namespace,
      name: sa.name,
    });
  else checks.push({ resourceRequest: true, verb: 'impersonate', apiGroup: '', resource: 'users', name: username });
  for (const g of groups)
    checks.push({ resourceRequest: true, verb: 'impersonate', apiGroup: '', resource: 'groups', name: g });
  if (uid)
    checks.push({ resourceRequest: true, verb: 'impersonate', apiGroup: AUTHN_GROUP, resource: 'uids', name: uid });
  for (const [key, vals] of Object.entries(extra)) {
    for (const v of vals)
      checks.push({
        resourceRequest: true,
        verb: 'impersonate',
        apiGroup: AUTHN_GROUP,
        resource: 'userextras',
        subresource: key,
        name: v,
      });
  }
  for (const attrs of checks) {
    const d = await authorizer.authorize(requester, attrs);
    if (!d.allowed) return { forbidden: forbiddenStatus(requester, attrs, d.reason) };
  }

  let finalGroups = [...groups];
  if (sa && groups.length === 0) finalGroups = [SERVICE_ACCOUNTS_GROUP, `${SERVICE_ACCOUNTS_GROUP}:${sa.namespace}`];
  if (username !== ANONYMOUS_USER) {
    if (!finalGroups.includes(AUTHENTICATED_GROUP) && !finalGroups.includes(UNAUTHENTICATED_GROUP))
      finalGroups.push(AUTHENTICATED_GROUP);
  } else if (!finalGroups.includes(UNAUTHENTICATED_GROUP)) finalGroups.push(UNAUTHENTICATED_GROUP);
  return {
    user: { username, groups: finalGroups, ...(uid ? { uid } : {}), ...(Object.keys(extra).length ? { extra } : {}) },
    impersonated: true,
  };
}
