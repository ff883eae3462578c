// The endpoints that answer from the auth module rather than the store: TokenReview (is this
// token valid, and whose is it), SelfSubjectRulesReview (`kubectl auth can-i --list`) and
// TokenRequest (`kubectl create token SA`: POST serviceaccounts/NAME/token).
import {
  type Authenticator,
  type Authorizer,
  requestServiceAccountToken,
  reviewRules,
  reviewToken,
  type ServiceAccountKey,
} from './auth/index.js';
import { decodeRequestBody } from './handlers/create.js';
import { readObject } from './rest.js';
import { errNotFound } from './status.js';
import type { VirtualHandler } from './virtual.js';

const anonymous = { username: 'system:anonymous', groups: ['system:unauthenticated'] };

/** Create-only virtual kinds answered by the auth module (by `group/plural`). */
export function authReviewHandlers(authn: Authenticator, authorizer: Authorizer): Record<string, VirtualHandler> {
  return {
    'authentication.k8s.io/tokenreviews': async (r) => {
      const body = ((await decodeRequestBody(r.req)) ?? {}) as { spec?: unknown };
      const status = await reviewToken(authn, body.spec ?? {});
      return {
        code: 201,
        body: {
          kind: 'TokenReview',
          apiVersion: 'authentication.k8s.io/v1',
          metadata: { creationTimestamp: null },
          spec: body.spec ?? {},
          status,
        },
      };
    },
    // `kubectl auth can-i --list`: the rules that apply to the requesting user in a namespace.
    'authorization.k8s.io/selfsubjectrulesreviews': async (r) => {
      const body = ((await decodeRequestBody(r.req)) ?? {}) as { spec?: { namespace?: string } };
      const status = await reviewRules(authorizer, r.user ?? anonymous, body.spec?.namespace ?? '');
      return {
        code: 201,
        body: {
          kind: 'SelfSubjectRulesReview',
          apiVersion: 'authorization.k8s.io/v1',
          metadata: { creationTimestamp: null },
          spec: body.spec ?? {},
          status,
        },
      };
    },
  };
}

/** `POST serviceaccounts/NAME/token` (TokenRequest), signed with the cluster's service-account key. */
export function tokenRequestHandler(serviceAccountKey: ServiceAccountKey): Record<string, VirtualHandler> {
  return {
    '/serviceaccounts/token': async (r) => {
      if (r.info.verb !== 'create') throw errNotFound({ resource: 'serviceaccounts/token', name: r.info.name });
      const body = ((await decodeRequestBody(r.req)) ?? {}) as { spec?: unknown };
      const sa = await readObject(r.ctx, r.def, r.info.namespace, r.info.name!);
      if (!sa) throw errNotFound({ resource: 'serviceaccounts', name: r.info.name });
      const lookup = async (ref: { kind: string; name: string; namespace: string }) => {
        const def = r.ctx.registry.byKind('', ref.kind);
        const got = def
          ? await readObject(r.ctx, def, def.namespaced ? ref.namespace : undefined, ref.name)
          : undefined;
        return got?.obj.metadata.uid ? { uid: got.obj.metadata.uid } : undefined;
      };
      const status = await requestServiceAccountToken(
        serviceAccountKey,
        { namespace: r.info.namespace!, name: r.info.name!, uid: sa.obj.metadata.uid! },
        body.spec ?? {},
        { lookupBoundObject: lookup },
      );
      return {
        code: 201,
        body: {
          kind: 'TokenRequest',
          apiVersion: 'authentication.k8s.io/v1',
          metadata: { name: r.info.name, namespace: r.info.namespace, creationTimestamp: null },
          spec: body.spec ?? {},
          status,
        },
      };
    },
  };
}
