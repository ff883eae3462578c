// authorization.k8s.io/v1 access reviews: create-only virtual kinds (no storage). The server
// answers a create with the object plus a computed status; nothing is persisted, and get/list/
// watch are not served (verbs: ['create']).
import type { FieldError, KubeObject } from '../../types.js';
import { arr, bool, define, kindSchema, mapOf, obj, ref, str, strList } from '../../schema/builder.js';
import { ageColumn, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asObj, type Obj } from '../../validation/fields.js';
import { invalid } from '../../validation/errors.js';
import { resource } from '../shared/define.js';

const Z = (n: string) => `io.k8s.api.authorization.v1.${n}`;
const GROUP = 'authorization.k8s.io';
export const CREATE_ONLY = ['create'];

define(
  Z('FieldSelectorRequirement'),
  obj(
    'A field selector requirement.',
    { key: str('Field key.'), operator: str('In, NotIn, Exists or DoesNotExist.'), values: strList('Values.') },
    ['key', 'operator'],
  ),
);
define(
  Z('FieldSelectorAttributes'),
  obj('A field selector limiting the request.', {
    rawSelector: str('The serialized field selector.'),
    requirements: arr('Parsed requirements.', ref(Z('FieldSelectorRequirement')), { listType: 'atomic' }),
  }),
);
define(
  Z('LabelSelectorAttributes'),
  obj('A label selector limiting the request.', {
    rawSelector: str('The serialized label selector.'),
    requirements: arr('Parsed requirements.', ref('io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement'), {
      listType: 'atomic',
    }),
  }),
);
define(
  Z('ResourceAttributes'),
  obj('The attributes of a resource request.', {
    namespace: str('Namespace of the requested action; "" means all namespaces for namespaced actions.'),
    verb: str('A kubernetes resource API verb (get, list, watch, create, update, delete, proxy) or "*".'),
    group: str('API group of the resource; "*" means all.'),
    version: str('API version of the resource; "*" means all.'),
    resource: str('One of the existing resource types; "*" means all.'),
    subresource: str('One of the existing subresources; "" means none.'),
    name: str('Name of the resource being requested for a get or deleted for a delete; "" means all.'),
    fieldSelector: ref(Z('FieldSelectorAttributes'), 'Field selector on the request.'),
    labelSelector: ref(Z('LabelSelectorAttributes'), 'Label selector on the request.'),
  }),
);
define(
  Z('NonResourceAttributes'),
  obj('The attributes of a non-resource request.', {
    path: str('URL path of the request.'),
    verb: str('Standard HTTP verb.'),
  }),
);
const accessSpec = {
  resourceAttributes: ref(Z('ResourceAttributes'), 'Information for a resource access request.'),
  nonResourceAttributes: ref(Z('NonResourceAttributes'), 'Information for a non-resource access request.'),
};
define(
  Z('SelfSubjectAccessReviewSpec'),
  obj('The action to check, for the requesting user; exactly one of the attributes must be set.', accessSpec),
);
define(
  Z('SubjectAccessReviewSpec'),
  obj('The action to check and the user to check it for; exactly one of the attributes must be set.', {
    ...accessSpec,
    user: str('The user to test for; with groups, at least one must be set.'),
    groups: strList('The groups to test for.'),
    extra: mapOf('Extra attributes of the user.', { type: 'array', items: { type: 'string', default: '' } }),
    uid: str('UID of the user.'),
  }),
);
define(
  Z('SubjectAccessReviewStatus'),
  obj(
    'The answer.',
    {
      allowed: bool('Whether the action is allowed.'),
      denied: bool('Whether the action is explicitly denied.'),
      reason: str('Why the action is allowed or denied.'),
      evaluationError: str('An error while checking authorization, if any.'),
    },
    ['allowed'],
  ),
);
define(
  Z('ResourceRule'),
  obj(
    'Resource actions the subject may perform.',
    {
      verbs: strList('Verbs.'),
      apiGroups: strList('API groups.'),
      resources: strList('Resources.'),
      resourceNames: strList('Names.'),
    },
    ['verbs'],
  ),
);
define(
  Z('NonResourceRule'),
  obj(
    'Non-resource actions the subject may perform.',
    { verbs: strList('Verbs.'), nonResourceURLs: strList('URL paths.') },
    ['verbs'],
  ),
);
define(
  Z('SubjectRulesReviewStatus'),
  obj(
    'The rules a subject may use in a namespace.',
    {
      resourceRules: arr('Resource rules.', ref(Z('ResourceRule')), { listType: 'atomic' }),
      nonResourceRules: arr('Non-resource rules.', ref(Z('NonResourceRule')), { listType: 'atomic' }),
      incomplete: bool('True when the rule list is incomplete (e.g. an external authorizer).'),
      evaluationError: str('An error while evaluating the rules, if any.'),
    },
    ['resourceRules', 'nonResourceRules', 'incomplete'],
  ),
);
define(
  Z('SelfSubjectRulesReviewSpec'),
  obj('The namespace to list the rules in.', { namespace: str('Namespace to evaluate rules for. Required.') }),
);

function validateAccess(o: Obj, needUser: boolean): FieldError[] {
  const s = asObj(o.spec) ?? {};
  const errs: FieldError[] = [];
  const ra = s.resourceAttributes,
    na = s.nonResourceAttributes;
  if (ra && na)
    errs.push(invalid('spec.nonResourceAttributes', na, 'cannot be specified in combination with resourceAttributes'));
  if (!ra && !na)
    errs.push(
      invalid(
        'spec.resourceAttributes',
        'null',
        'exactly one of nonResourceAttributes or resourceAttributes must be specified',
      ),
    );
  if (needUser && !s.user && !(Array.isArray(s.groups) && s.groups.length))
    errs.push(invalid('spec.user', '', 'at least one of user or group must be specified'));
  return errs;
}

const table = {
  columns: [nameColumn, ageColumn],
  row: (obj: KubeObject, now: Date) => [obj.metadata.name ?? '', age(obj.metadata.creationTimestamp, now)],
};

export const selfSubjectAccessReview = resource({
  group: GROUP,
  version: 'v1',
  kind: 'SelfSubjectAccessReview',
  plural: 'selfsubjectaccessreviews',
  singular: 'selfsubjectaccessreview',
  namespaced: false,
  verbs: CREATE_ONLY,
  schema: kindSchema(
    { group: GROUP, version: 'v1', kind: 'SelfSubjectAccessReview' },
    'SelfSubjectAccessReview checks whether the current user can perform an action (kubectl auth can-i). Create only; not stored.',
    {
      spec: ref(Z('SelfSubjectAccessReviewSpec'), 'The action being evaluated.'),
      status: ref(Z('SubjectAccessReviewStatus'), 'Filled in by the server: whether the request is allowed.'),
    },
    ['spec'],
  ),
  validate: (o: KubeObject) => validateAccess(o as Obj, false),
  ...table,
});

export const subjectAccessReview = resource({
  group: GROUP,
  version: 'v1',
  kind: 'SubjectAccessReview',
  plural: 'subjectaccessreviews',
  singular: 'subjectaccessreview',
  namespaced: false,
  verbs: CREATE_ONLY,
  schema: kindSchema(
    { group: GROUP, version: 'v1', kind: 'SubjectAccessReview' },
    'SubjectAccessReview checks whether a given user or group can perform an action. Create only; not stored.',
    {
      spec: ref(Z('SubjectAccessReviewSpec'), 'The action being evaluated and the subject.'),
      status: ref(Z('SubjectAccessReviewStatus'), 'Filled in by the server: whether the request is allowed.'),
    },
    ['spec'],
  ),
  validate: (o: KubeObject) => validateAccess(o as Obj, true),
  ...table,
});

export const localSubjectAccessReview = resource({
  group: GROUP,
  version: 'v1',
  kind: 'LocalSubjectAccessReview',
  plural: 'localsubjectaccessreviews',
  singular: 'localsubjectaccessreview',
  namespaced: true,
  verbs: CREATE_ONLY,
  schema: kindSchema(
    { group: GROUP, version: 'v1', kind: 'LocalSubjectAccessReview' },
    'LocalSubjectAccessReview checks whether a user or group can perform an action in the namespace. Create only; not stored.',
    {
      spec: ref(
        Z('SubjectAccessReviewSpec'),
        "The action being evaluated; resourceAttributes.namespace must equal the object's namespace.",
      ),
      status: ref(Z('SubjectAccessReviewStatus'), 'Filled in by the server: whether the request is allowed.'),
    },
    ['spec'],
  ),
  validate(o: KubeObject) {
    const x = o as Obj;
    const errs = validateAccess(x, true);
    const ns = asObj(x.spec?.resourceAttributes)?.namespace;
    if (x.spec?.resourceAttributes && ns !== x.metadata?.namespace)
      errs.push(invalid('spec.resourceAttributes.namespace', ns ?? '', 'must match metadata.namespace'));
    if (x.spec?.nonResourceAttributes)
      errs.push(
        invalid('spec.nonResourceAttributes', x.spec.nonResourceAttributes, 'disallowed on this kind of request'),
      );
    return errs;
  },
  ...table,
});

export const selfSubjectRulesReview = resource({
  group: GROUP,
  version: 'v1',
  kind: 'SelfSubjectRulesReview',
  plural: 'selfsubjectrulesreviews',
  singular: 'selfsubjectrulesreview',
  namespaced: false,
  verbs: CREATE_ONLY,
  schema: kindSchema(
    { group: GROUP, version: 'v1', kind: 'SelfSubjectRulesReview' },
    'SelfSubjectRulesReview lists the actions the current user can perform in a namespace (kubectl auth can-i --list). Create only; not stored.',
    {
      spec: ref(Z('SelfSubjectRulesReviewSpec'), 'The namespace to evaluate.'),
      status: ref(Z('SubjectRulesReviewStatus'), 'Filled in by the server: the rules.'),
    },
    ['spec'],
  ),
  ...table,
});
