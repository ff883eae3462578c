// Create-only virtual resources answered from the request instead of stored: access reviews
// (authorization.k8s.io/v1 SelfSubjectAccessReview, SubjectAccessReview), SelfSubjectReview
// (`kubectl auth whoami`). They call the configured authorizer; without one everything is allowed.
import type { KubeObject, ResourceDefinition } from '../api/index.js';
import type { AuthzAttributes, HandlerResult, RequestScope, UserInfo } from './context.js';
import { decodeRequest } from './handlers/create.js';
import { nowRFC3339 } from './meta.js';
import { checkBody } from './rest.js';
import { errBadRequest } from './status.js';

export type VirtualHandler = (r: RequestScope) => Promise<HandlerResult>;

interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}
interface NonResourceAttributes {
  path?: string;
  verb?: string;
}

async function review(
  r: RequestScope,
  user: UserInfo,
  spec: { resourceAttributes?: ResourceAttributes; nonResourceAttributes?: NonResourceAttributes },
) {
  let attrs: AuthzAttributes;
  if (spec.resourceAttributes) {
    const a = spec.resourceAttributes;
    attrs = {
      user,
      verb: a.verb ?? '',
      resourceRequest: true,
      path: '',
      group: a.group ?? '',
      version: a.version,
      resource: a.resource,
      subresource: a.subresource,
      namespace: a.namespace,
      name: a.name,
    };
  } else if (spec.nonResourceAttributes) {
    attrs = {
      user,
      verb: spec.nonResourceAttributes.verb ?? '',
      resourceRequest: false,
      path: spec.nonResourceAttributes.path ?? '',
    };
  } else
    throw errBadRequest(
      'spec.resourceAttributes: Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified',
    );
  const d = r.ctx.auth ? await r.ctx.auth.authorize(attrs) : { allowed: true, reason: 'no authorizer configured' };
  const status: Record<string, unknown> = { allowed: d.allowed };
  if (d.reason) status.reason = d.reason;
  return status;
}

const anonymous: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] };

export function createVirtualHandlers(): Record<string, VirtualHandler> {
  return {
    'authorization.k8s.io/selfsubjectaccessreviews': async (r) => {
      const obj = checkBody(r, await decodeRequest(r));
      const status = await review(r, r.user ?? anonymous, (obj.spec ?? {}) as object);
      return { code: 201, body: { ...obj, metadata: { creationTimestamp: null }, status } };
    },
    'authorization.k8s.io/subjectaccessreviews': async (r) => {
      const obj = checkBody(r, await decodeRequest(r));
      const spec = (obj.spec ?? {}) as {
        user?: string;
        groups?: string[];
        uid?: string;
        extra?: Record<string, string[]>;
      };
      if (!spec.user && !spec.groups?.length)
        throw errBadRequest('spec.user: Invalid value: "": at least one of user or group must be specified');
      const status = await review(
        r,
        { username: spec.user ?? '', groups: spec.groups ?? [], uid: spec.uid, extra: spec.extra },
        obj.spec as object,
      );
      return { code: 201, body: { ...obj, metadata: { creationTimestamp: null }, status } };
    },
    'authorization.k8s.io/localsubjectaccessreviews': async (r) => {
      const obj = checkBody(r, await decodeRequest(r));
      const spec = (obj.spec ?? {}) as { user?: string; groups?: string[]; resourceAttributes?: ResourceAttributes };
      if (spec.resourceAttributes) spec.resourceAttributes.namespace = r.info.namespace;
      const status = await review(r, { username: spec.user ?? '', groups: spec.groups ?? [] }, spec);
      return {
        code: 201,
        body: { ...obj, metadata: { namespace: r.info.namespace, creationTimestamp: null }, status },
      };
    },
    'authentication.k8s.io/selfsubjectreviews': async (r) => {
      const obj = checkBody(r, await decodeRequest(r)) as KubeObject;
      const u = r.user ?? anonymous;
      return {
        code: 201,
        body: {
          ...obj,
          metadata: { creationTimestamp: nowRFC3339() },
          status: { userInfo: { username: u.username, uid: u.uid, groups: u.groups, extra: u.extra } },
        },
      };
    },
  };
}

const vdef = (group: string, kind: string, plural: string, namespaced = false): ResourceDefinition => ({
  group,
  version: 'v1',
  kind,
  listKind: `${kind}List`,
  plural,
  singular: kind.toLowerCase(),
  namespaced,
  verbs: ['create'],
  schema: {
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    },
  },
  columns: [],
  row: (o) => [o.metadata.name],
});

/** Discovery entries for the virtual kinds (added unless the resource set defines them). */
export const VIRTUAL_DEFINITIONS: ResourceDefinition[] = [
  vdef('authorization.k8s.io', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews'),
  vdef('authorization.k8s.io', 'SelfSubjectRulesReview', 'selfsubjectrulesreviews'),
  vdef('authorization.k8s.io', 'SubjectAccessReview', 'subjectaccessreviews'),
  vdef('authorization.k8s.io', 'LocalSubjectAccessReview', 'localsubjectaccessreviews', true),
  vdef('authentication.k8s.io', 'SelfSubjectReview', 'selfsubjectreviews'),
  vdef('authentication.k8s.io', 'TokenReview', 'tokenreviews'),
];
