// authentication.k8s.io/v1 TokenReview and SelfSubjectReview: create-only virtual kinds (no
// storage; verbs ['create']). The server fills status from its authenticators.
import type { KubeObject } from '../../types.js';
import { bool, define, kindSchema, mapOf, obj, ref, str, strList } from '../../schema/builder.js';
import { ageColumn, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asObj, type Obj } from '../../validation/fields.js';
import { required } from '../../validation/errors.js';
import { resource } from '../shared/define.js';

const U = (n: string) => `io.k8s.api.authentication.v1.${n}`;
const GROUP = 'authentication.k8s.io';

define(
  U('UserInfo'),
  obj('Information about a user.', {
    username: str('The name that uniquely identifies this user among all active users.'),
    uid: str('A unique value that identifies this user across time.'),
    groups: strList('The names of groups this user is a part of.'),
    extra: mapOf('Any additional information provided by the authenticator.', {
      type: 'array',
      items: { type: 'string', default: '' },
    }),
  }),
);
define(
  U('TokenReviewSpec'),
  obj('The token to authenticate.', {
    token: str('The opaque bearer token.'),
    audiences: strList('Identifiers the resource server presented with the token identifies as.'),
  }),
);
define(
  U('TokenReviewStatus'),
  obj('The result of the token authentication.', {
    authenticated: bool('Whether the token is associated with a known user.'),
    user: ref(U('UserInfo'), 'The user associated with the token.'),
    audiences: strList(
      'Audience identifiers chosen by the authenticator that are compatible with the token and the requested audiences.',
    ),
    error: str('Why the token could not be checked.'),
  }),
);
define(
  U('SelfSubjectReviewStatus'),
  obj('The user information of the requester.', { userInfo: ref(U('UserInfo'), 'User attributes of the requester.') }),
);

const table = {
  columns: [nameColumn, ageColumn],
  row: (obj: KubeObject, now: Date) => [obj.metadata.name ?? '', age(obj.metadata.creationTimestamp, now)],
};

export const tokenReview = resource({
  group: GROUP,
  version: 'v1',
  kind: 'TokenReview',
  plural: 'tokenreviews',
  singular: 'tokenreview',
  namespaced: false,
  verbs: ['create'],
  schema: kindSchema(
    { group: GROUP, version: 'v1', kind: 'TokenReview' },
    'TokenReview attempts to authenticate a token to a known user. Create only; not stored.',
    {
      spec: ref(U('TokenReviewSpec'), 'The token being reviewed.'),
      status: ref(U('TokenReviewStatus'), 'Filled in by the server: whether the token can be authenticated.'),
    },
    ['spec'],
  ),
  validate: (o: KubeObject) => (asObj((o as Obj).spec)?.token ? [] : [required('spec.token')]),
  ...table,
});

export const selfSubjectReview = resource({
  group: GROUP,
  version: 'v1',
  kind: 'SelfSubjectReview',
  plural: 'selfsubjectreviews',
  singular: 'selfsubjectreview',
  namespaced: false,
  verbs: ['create'],
  schema: kindSchema(
    { group: GROUP, version: 'v1', kind: 'SelfSubjectReview' },
    'SelfSubjectReview returns the user attributes the server sees for the requester (kubectl auth whoami). Create only; not stored.',
    {
      status: ref(U('SelfSubjectReviewStatus'), "Filled in by the server: the requester's user information."),
    },
  ),
  ...table,
});
