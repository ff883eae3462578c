// authorization.k8s.io/v1 reviews — SelfSubjectAccessReview, SubjectAccessReview,
// LocalSubjectAccessReview (what `kubectl auth can-i` sends) and SelfSubjectRulesReview (what
// `kubectl auth can-i --list` sends) — and the 401/403 Status bodies the server answers with.
import { invalidArgument } from '../../../common/index.js';
import type { Authorizer, PolicyRule, RequestAttributes } from './rbac-types.js';
import type { UserInfo } from './user.js';
import { arrayOf, object, parseSpec as checkSpec, recordOf, str } from './shape.js';

const ResourceAttributes = object({
  namespace: str,
  verb: str,
  group: str,
  version: str,
  resource: str,
  subresource: str,
  name: str,
});
const NonResourceAttributes = object({ path: str, verb: str });

/** Checks a SubjectAccessReview spec's shape (fields named in the error). */
export const SubjectAccessReviewSpec = object({
  resourceAttributes: ResourceAttributes,
  nonResourceAttributes: NonResourceAttributes,
  user: str,
  groups: arrayOf(str),
  uid: str,
  extra: recordOf(arrayOf(str)),
});
export interface SubjectAccessReviewSpec {
  resourceAttributes?: {
    namespace?: string;
    verb?: string;
    group?: string;
    version?: string;
    resource?: string;
    subresource?: string;
    name?: string;
    [k: string]: unknown;
  } | null;
  nonResourceAttributes?: { path?: string; verb?: string } | null;
  user?: string;
  groups?: string[] | null;
  uid?: string;
  extra?: Record<string, string[]> | null;
  [k: string]: unknown;
}

export interface SubjectAccessReviewStatus {
  allowed: boolean;
  denied?: boolean;
  reason?: string;
  evaluationError?: string;
}

function parseSpec(spec: unknown): SubjectAccessReviewSpec {
  const s = checkSpec<SubjectAccessReviewSpec>(SubjectAccessReviewSpec, spec);
  if (!!s.resourceAttributes === !!s.nonResourceAttributes) {
    throw invalidArgument(
      'spec.resourceAttributes: Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified',
      { field: 'spec.resourceAttributes' },
    );
  }
  return s;
}

/** The attributes a review asks about. */
export function reviewAttributes(spec: SubjectAccessReviewSpec): RequestAttributes {
  if (spec.resourceAttributes) {
    const a = spec.resourceAttributes;
    return {
      resourceRequest: true,
      verb: a.verb ?? '',
      apiGroup: a.group ?? '',
      apiVersion: a.version ?? '',
      resource: a.resource ?? '',
      subresource: a.subresource ?? '',
      namespace: a.namespace ?? '',
      name: a.name ?? '',
    };
  }
  const n = spec.nonResourceAttributes!;
  return { resourceRequest: false, verb: n.verb ?? '', path: n.path ?? '' };
}

/** The user a SubjectAccessReview asks about (spec.user / groups / uid / extra). */
export function reviewSubject(spec: unknown): UserInfo {
  const s = parseSpec(spec);
  if (!s.user && !(s.groups && s.groups.length)) {
    throw invalidArgument('spec.user: Invalid value: "": at least one of user or group must be specified', {
      field: 'spec.user',
    });
  }
  return {
    username: s.user ?? '',
    groups: s.groups ?? [],
    ...(s.uid ? { uid: s.uid } : {}),
    ...(s.extra ? { extra: s.extra } : {}),
  };
}

/** Answers an access review for `user` (the requester for SelfSubjectAccessReview; reviewSubject(spec)
 *  for SubjectAccessReview). For LocalSubjectAccessReview the server checks that
 *  spec.resourceAttributes.namespace equals the URL's namespace before calling this. */
export async function reviewAccess(
  authorizer: Authorizer,
  user: UserInfo,
  spec: unknown,
): Promise<SubjectAccessReviewStatus> {
  const s = parseSpec(spec);
  const d = await authorizer.authorize(user, reviewAttributes(s));
  const status: SubjectAccessReviewStatus = { allowed: d.allowed };
  if (d.reason) status.reason = d.reason;
  return status;
}

export interface ResourceRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
}
export interface NonResourceRule {
  verbs: string[];
  nonResourceURLs?: string[];
}
export interface SubjectRulesReviewStatus {
  resourceRules: ResourceRule[];
  nonResourceRules: NonResourceRule[];
  incomplete: boolean;
  evaluationError?: string;
}

/** SelfSubjectRulesReview: the rules that apply to `user` in `namespace` (spec.namespace). */
export async function reviewRules(
  authorizer: Authorizer,
  user: UserInfo,
  namespace: string,
): Promise<SubjectRulesReviewStatus> {
  const { rules, errors } = await authorizer.rulesFor(user, namespace ?? '');
  const resourceRules: ResourceRule[] = [];
  const nonResourceRules: NonResourceRule[] = [];
  for (const rule of rules as PolicyRule[]) {
    if (rule.resources?.length) {
      const rr: ResourceRule = { verbs: rule.verbs, apiGroups: rule.apiGroups ?? [], resources: rule.resources };
      if (rule.resourceNames?.length) rr.resourceNames = rule.resourceNames;
      resourceRules.push(rr);
    }
    if (rule.nonResourceURLs?.length)
      nonResourceRules.push({ verbs: rule.verbs, nonResourceURLs: rule.nonResourceURLs });
  }
  return {
    resourceRules,
    nonResourceRules,
    incomplete: errors.length > 0,
    ...(errors.length ? { evaluationError: errors.join('; ') } : {}),
  };
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: 'Unauthorized' | 'Forbidden';
  details?: { name?: string; group?: string; kind?: string };
  code: 401 | 403;
}

/** The 401 body for requests without valid credentials (kubectl: "You must be logged in to the server"). */
export function unauthorizedStatus(): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'Unauthorized',
    reason: 'Unauthorized',
    code: 401,
  };
}

/** Upstream's wording: `User "u" cannot list resource "pods" in API group "" in the namespace "default"`. */
export function forbiddenMessage(user: UserInfo, attrs: RequestAttributes): string {
  const u = JSON.stringify(user.username);
  if (!attrs.resourceRequest) return `User ${u} cannot ${attrs.verb} path ${JSON.stringify(attrs.path ?? '')}`;
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : (attrs.resource ?? '');
  const where = attrs.namespace ? `in the namespace ${JSON.stringify(attrs.namespace)}` : 'at the cluster scope';
  return `User ${u} cannot ${attrs.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(attrs.apiGroup ?? '')} ${where}`;
}

/** The 403 body: `pods "x" is forbidden: User ... [: reason]` (kubectl: `Error from server (Forbidden): …`). */
export function forbiddenStatus(user: UserInfo, attrs: RequestAttributes, reason = ''): Status {
  let message = forbiddenMessage(user, attrs);
  if (reason) message += `: ${reason}`;
  if (!attrs.resourceRequest) {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `forbidden: ${message}`,
      reason: 'Forbidden',
      details: {},
      code: 403,
    };
  }
  const resource = attrs.resource ?? ''; // the group-resource, without the subresource (as upstream)
  const qualified = attrs.apiGroup ? `${resource}.${attrs.apiGroup}` : resource;
  const head = attrs.name ? `${qualified} ${JSON.stringify(attrs.name)}` : qualified;
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `${head} is forbidden: ${message}`,
    reason: 'Forbidden',
    details: {
      ...(attrs.name ? { name: attrs.name } : {}),
      ...(attrs.apiGroup ? { group: attrs.apiGroup } : {}),
      kind: attrs.resource ?? '',
    },
    code: 403,
  };
}
