// Role, ClusterRole, RoleBinding, ClusterRoleBinding with upstream's rule and binding checks.
import type { FieldError, KubeObject, ResourceDefinition } from '../../types.js';
import { arr, kindSchema, ref } from '../../schema/builder.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asArr, asObj, validateLabelSelector, type Obj } from '../../validation/fields.js';
import { deepEqual, goValue, invalid, invalidRaw, notSupported, required } from '../../validation/errors.js';
import { isPathSegmentName } from '../../validation/names.js';
import { resource } from '../shared/define.js';
import { R, RBAC_GROUP } from './schema.js';

function validateRules(rules: unknown, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  asArr(rules).forEach((r: Obj, i: number) => {
    const p = `rules[${i}]`;
    if (!asArr(r?.verbs).length) errs.push(required(`${p}.verbs`, 'verbs must contain at least one value'));
    const nru = asArr(r?.nonResourceURLs);
    if (nru.length) {
      if (namespaced)
        errs.push(invalid(`${p}.nonResourceURLs`, nru, 'namespaced rules cannot apply to non-resource URLs'));
      if (asArr(r?.apiGroups).length || asArr(r?.resources).length || asArr(r?.resourceNames).length) {
        errs.push(
          invalid(`${p}.nonResourceURLs`, nru, 'rules cannot apply to both regular resources and non-resource URLs'),
        );
      }
      return;
    }
    if (!asArr(r?.apiGroups).length)
      errs.push(required(`${p}.apiGroups`, 'resource rules must supply at least one api group'));
    if (!asArr(r?.resources).length)
      errs.push(required(`${p}.resources`, 'resource rules must supply at least one resource'));
  });
  return errs;
}

const ruleCells = {
  columns: [
    nameColumn,
    { name: 'Created At', type: 'date' as const, description: 'When the object was created.', priority: 0 },
  ],
  row: (obj: KubeObject) => [obj.metadata.name, obj.metadata.creationTimestamp ?? ''],
};

export const role = resource({
  group: RBAC_GROUP,
  version: 'v1',
  kind: 'Role',
  plural: 'roles',
  singular: 'role',
  namespaced: true,
  nameRule: 'path',
  schema: kindSchema(
    { group: RBAC_GROUP, version: 'v1', kind: 'Role' },
    'Role is a namespaced, logical grouping of PolicyRules that can be referenced as a unit by a RoleBinding.',
    {
      rules: arr('All the rules of this role.', ref(R('PolicyRule')), { listType: 'atomic' }),
    },
  ),
  // `rules` has no omitempty upstream: a role without rules answers `rules: null`.
  defaults: (o: KubeObject) => void ((o as Obj).rules === undefined && ((o as Obj).rules = null)),
  validate: (o: KubeObject) => validateRules((o as Obj).rules, true),
  ...ruleCells,
});

export const clusterRole = resource({
  group: RBAC_GROUP,
  version: 'v1',
  kind: 'ClusterRole',
  plural: 'clusterroles',
  singular: 'clusterrole',
  namespaced: false,
  nameRule: 'path',
  schema: kindSchema(
    { group: RBAC_GROUP, version: 'v1', kind: 'ClusterRole' },
    'ClusterRole is a cluster-level, logical grouping of PolicyRules that can be referenced as a unit by a RoleBinding or ClusterRoleBinding.',
    {
      rules: arr('All the rules of this cluster role.', ref(R('PolicyRule')), { listType: 'atomic' }),
      aggregationRule: ref(
        R('AggregationRule'),
        'How to build the rules of this role from other ClusterRoles; if set, rules are controller-managed.',
      ),
    },
  ),
  defaults: (o: KubeObject) => void ((o as Obj).rules === undefined && ((o as Obj).rules = null)),
  validate(o: KubeObject) {
    const c = o as Obj;
    const errs = validateRules(c.rules, false);
    const ag = asObj(c.aggregationRule);
    if (ag) {
      if (!asArr(ag.clusterRoleSelectors).length)
        errs.push(
          required(
            'aggregationRule.clusterRoleSelectors',
            'at least one clusterRoleSelector required if aggregationRule is non-nil',
          ),
        );
      asArr(ag.clusterRoleSelectors).forEach((s: unknown, i: number) =>
        errs.push(...validateLabelSelector(s, `aggregationRule.clusterRoleSelectors[${i}]`)),
      );
    }
    return errs;
  },
  ...ruleCells,
});

function defaultSubjects(o: Obj): void {
  for (const s of asArr(o.subjects)) {
    if (!asObj(s) || s.apiGroup !== undefined) continue;
    if (s.kind === 'ServiceAccount') s.apiGroup = '';
    else if (s.kind === 'User' || s.kind === 'Group') s.apiGroup = RBAC_GROUP;
  }
}

function validateBinding(o: Obj, cluster: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const rr = asObj(o.roleRef);
  if (!rr) errs.push(required('roleRef'));
  else {
    if (rr.apiGroup !== RBAC_GROUP) errs.push(notSupported('roleRef.apiGroup', rr.apiGroup ?? '', [RBAC_GROUP]));
    const kinds = cluster ? ['ClusterRole'] : ['Role', 'ClusterRole'];
    if (!kinds.includes(rr.kind)) errs.push(notSupported('roleRef.kind', rr.kind ?? '', kinds));
    if (!rr.name) errs.push(required('roleRef.name'));
    else errs.push(...isPathSegmentName(rr.name).map((m) => invalid('roleRef.name', rr.name, m)));
  }
  asArr(o.subjects).forEach((s: Obj, i: number) => {
    const p = `subjects[${i}]`;
    if (!s?.name) errs.push(required(`${p}.name`));
    switch (s?.kind) {
      case 'ServiceAccount':
        if (s.apiGroup) errs.push(notSupported(`${p}.apiGroup`, s.apiGroup, ['']));
        if (s.name) errs.push(...isPathSegmentName(s.name).map((m) => invalid(`${p}.name`, s.name, m)));
        if (cluster && !s.namespace) errs.push(required(`${p}.namespace`));
        break;
      case 'User':
      case 'Group':
        if (s.apiGroup !== RBAC_GROUP) errs.push(notSupported(`${p}.apiGroup`, s.apiGroup ?? '', [RBAC_GROUP]));
        break;
      default:
        errs.push(notSupported(`${p}.kind`, s?.kind ?? '', ['ServiceAccount', 'User', 'Group']));
    }
  });
  return errs;
}

function roleRefUpdate(o: Obj, old: Obj): FieldError[] {
  if (deepEqual(o.roleRef, old.roleRef)) return [];
  const r = asObj(o.roleRef) ?? {};
  return [
    invalidRaw(
      'roleRef',
      `rbac.RoleRef{APIGroup:${goValue(r.apiGroup ?? '')}, Kind:${goValue(r.kind ?? '')}, Name:${goValue(r.name ?? '')}}`,
      'cannot change roleRef',
    ),
  ];
}

function bindingRow(obj: KubeObject, now: Date): unknown[] {
  const o = obj as Obj,
    rr = asObj(o.roleRef) ?? {};
  const subs = asArr(o.subjects).filter(asObj);
  const users = subs
    .filter((s) => s.kind === 'User')
    .map((s) => s.name)
    .join(', ');
  const groups = subs
    .filter((s) => s.kind === 'Group')
    .map((s) => s.name)
    .join(', ');
  const sas = subs
    .filter((s) => s.kind === 'ServiceAccount')
    .map((s) => `${s.namespace ?? ''}/${s.name}`)
    .join(', ');
  return [obj.metadata.name, `${rr.kind}/${rr.name}`, age(obj.metadata.creationTimestamp, now), users, groups, sas];
}

const bindingColumns = [
  nameColumn,
  col('Role', 'string', 'The role referenced by the binding.'),
  ageColumn,
  col('Users', 'string', 'Users bound.', 1),
  col('Groups', 'string', 'Groups bound.', 1),
  col('ServiceAccounts', 'string', 'Service accounts bound.', 1),
];

function bindingDef(kind: 'RoleBinding' | 'ClusterRoleBinding'): ResourceDefinition {
  const cluster = kind === 'ClusterRoleBinding';
  return resource({
    group: RBAC_GROUP,
    version: 'v1',
    kind,
    plural: `${kind.toLowerCase()}s`,
    singular: kind.toLowerCase(),
    namespaced: !cluster,
    nameRule: 'path',
    schema: kindSchema(
      { group: RBAC_GROUP, version: 'v1', kind },
      cluster
        ? 'ClusterRoleBinding references a ClusterRole and grants it cluster-wide to a set of subjects.'
        : "RoleBinding references a Role or ClusterRole and grants it within the binding's namespace to a set of subjects.",
      {
        subjects: arr('The subjects the role applies to.', ref(R('Subject')), { listType: 'atomic' }),
        roleRef: ref(
          R('RoleRef'),
          'The Role or ClusterRole granted; cannot be changed (delete and recreate the binding instead).',
        ),
      },
      ['roleRef'],
    ),
    defaults: (o: KubeObject) => defaultSubjects(o as Obj),
    validate: (o: KubeObject) => validateBinding(o as Obj, cluster),
    validateUpdate: (o: KubeObject, old: KubeObject) => roleRefUpdate(o as Obj, old as Obj),
    columns: bindingColumns,
    row: bindingRow,
  });
}

export const roleBinding = bindingDef('RoleBinding');
export const clusterRoleBinding = bindingDef('ClusterRoleBinding');
