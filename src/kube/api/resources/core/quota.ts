// LimitRange and ResourceQuota: per-namespace resource policies.
import type { FieldError, KubeObject } from '../../types.js';
import { arr, define, kindSchema, mapOf, obj, ref, str, strList } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asArr, asObj, type Obj } from '../../validation/fields.js';
import { invalid, notSupported, required } from '../../validation/errors.js';
import { compareQuantity, formatQuantity, isValidQuantity, parseQuantity } from '../../quantity/quantity.js';
import { resource } from '../shared/define.js';
import { CORE } from './container-schema.js';

const quantities = (d: string) => mapOf(d, ref(N.Quantity));

define(
  CORE('LimitRangeItem'),
  obj(
    'Limits for one kind of object (Pod, Container, PersistentVolumeClaim).',
    {
      type: str('Type of resource the limits apply to: Pod, Container or PersistentVolumeClaim.'),
      max: quantities('Maximum usage per resource name.'),
      min: quantities('Minimum usage per resource name.'),
      default: quantities('Default limits per resource name, applied when a container omits them.'),
      defaultRequest: quantities('Default requests per resource name, applied when a container omits them.'),
      maxLimitRequestRatio: quantities('Maximum ratio of limit to request per resource name.'),
    },
    ['type'],
  ),
);
define(
  CORE('LimitRangeSpec'),
  obj(
    'Limits enforced in a namespace.',
    {
      limits: arr('Limits that are enforced.', ref(CORE('LimitRangeItem')), { listType: 'atomic' }),
    },
    ['limits'],
  ),
);

const LIMIT_TYPES = ['Container', 'PersistentVolumeClaim', 'Pod'];

function validateLimitRange(o: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const limits = asArr(asObj(o.spec)?.limits);
  limits.forEach((l: Obj, i: number) => {
    const p = `spec.limits[${i}]`;
    if (!l?.type) errs.push(required(`${p}.type`));
    else if (!LIMIT_TYPES.includes(l.type)) errs.push(notSupported(`${p}.type`, l.type, LIMIT_TYPES));
    const parsed: Record<string, Record<string, ReturnType<typeof parseQuantity>>> = {};
    for (const k of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio']) {
      parsed[k] = {};
      for (const [name, v] of Object.entries(asObj(l?.[k]) ?? {})) {
        if (!isValidQuantity(v)) {
          errs.push(invalid(`${p}.${k}[${name}]`, v, 'must be a valid quantity'));
          continue;
        }
        parsed[k][name] = parseQuantity(v as string);
      }
    }
    if (l?.type === 'Pod') {
      for (const k of ['default', 'defaultRequest'])
        if (Object.keys(parsed[k]).length)
          errs.push(required(`${p}.${k}`, "may not be specified when `type` is 'Pod'"));
    }
    const names = new Set(Object.values(parsed).flatMap((m) => Object.keys(m)));
    for (const n of names) {
      const {
        min,
        max,
        default: def,
        defaultRequest: req,
      } = {
        min: parsed.min[n],
        max: parsed.max[n],
        default: parsed.default[n],
        defaultRequest: parsed.defaultRequest[n],
      };
      if (min && max && compareQuantity(min, max) > 0)
        errs.push(
          invalid(
            `${p}.min[${n}]`,
            formatQuantity(min),
            `min value ${formatQuantity(min)} is greater than max value ${formatQuantity(max)}`,
          ),
        );
      if (req && max && compareQuantity(req, max) > 0)
        errs.push(
          invalid(
            `${p}.defaultRequest[${n}]`,
            formatQuantity(req),
            `default request value ${formatQuantity(req)} is greater than max value ${formatQuantity(max)}`,
          ),
        );
      if (req && min && compareQuantity(min, req) > 0)
        errs.push(
          invalid(
            `${p}.defaultRequest[${n}]`,
            formatQuantity(req),
            `min value ${formatQuantity(min)} is greater than default request value ${formatQuantity(req)}`,
          ),
        );
      if (def && max && compareQuantity(def, max) > 0)
        errs.push(
          invalid(
            `${p}.default[${n}]`,
            formatQuantity(def),
            `default value ${formatQuantity(def)} is greater than max value ${formatQuantity(max)}`,
          ),
        );
      if (def && min && compareQuantity(min, def) > 0)
        errs.push(
          invalid(
            `${p}.default[${n}]`,
            formatQuantity(def),
            `min value ${formatQuantity(min)} is greater than default value ${formatQuantity(def)}`,
          ),
        );
      if (req && def && compareQuantity(req, def) > 0)
        errs.push(
          invalid(
            `${p}.defaultRequest[${n}]`,
            formatQuantity(req),
            `default request value ${formatQuantity(req)} is greater than default limit value ${formatQuantity(def)}`,
          ),
        );
    }
  });
  return errs;
}

export const limitRange = resource({
  group: '',
  version: 'v1',
  kind: 'LimitRange',
  plural: 'limitranges',
  singular: 'limitrange',
  namespaced: true,
  shortNames: ['limits'],
  schema: kindSchema(
    { group: '', version: 'v1', kind: 'LimitRange' },
    'LimitRange sets resource usage limits for each kind of resource in a namespace.',
    {
      spec: ref(CORE('LimitRangeSpec'), 'The limits enforced.'),
    },
  ),
  defaults(obj: KubeObject) {
    // Upstream: for Container limits, default falls back to max, defaultRequest to default.
    for (const l of asArr(asObj((obj as Obj).spec)?.limits)) {
      if (!asObj(l) || l.type !== 'Container') continue;
      for (const [n, v] of Object.entries(asObj(l.max) ?? {})) {
        l.default = asObj(l.default) ?? {};
        l.default[n] ??= v;
      }
      for (const [n, v] of Object.entries(asObj(l.default) ?? {})) {
        l.defaultRequest = asObj(l.defaultRequest) ?? {};
        l.defaultRequest[n] ??= v;
      }
      for (const [n, v] of Object.entries(asObj(l.min) ?? {})) {
        if (!(n in (asObj(l.defaultRequest) ?? {}))) {
          l.defaultRequest = asObj(l.defaultRequest) ?? {};
          l.defaultRequest[n] = v;
        }
      }
    }
  },
  validate: (o: KubeObject) => validateLimitRange(o as Obj),
  columns: [nameColumn, { name: 'Created At', type: 'date', description: 'When the object was created.', priority: 0 }],
  row: (obj) => [obj.metadata.name, obj.metadata.creationTimestamp ?? ''],
});

define(
  CORE('ScopedResourceSelectorRequirement'),
  obj(
    'A selector over quota scopes.',
    {
      scopeName: str(
        'The scope: Terminating, NotTerminating, BestEffort, NotBestEffort, PriorityClass, CrossNamespacePodAffinity.',
      ),
      operator: str('In, NotIn, Exists or DoesNotExist.'),
      values: strList('Values for In/NotIn.'),
    },
    ['scopeName', 'operator'],
  ),
);
define(CORE('ScopeSelector'), {
  ...obj('A selector over quota scopes, ANDed.', {
    matchExpressions: arr('Scope requirements.', ref(CORE('ScopedResourceSelectorRequirement')), {
      listType: 'atomic',
    }),
  }),
  'x-kubernetes-map-type': 'atomic',
});
define(
  CORE('ResourceQuotaSpec'),
  obj('The desired hard limits.', {
    hard: quantities('Hard limits per named resource, e.g. pods, requests.cpu, limits.memory, count/deployments.apps.'),
    scopes: strList('Filters over the objects the quota tracks.'),
    scopeSelector: ref(CORE('ScopeSelector'), 'A selector over scopes; combined with scopes by AND.'),
  }),
);
define(
  CORE('ResourceQuotaStatus'),
  obj('Enforced hard limits and observed use.', {
    hard: quantities('Enforced hard limits.'),
    used: quantities('Current observed total usage in the namespace.'),
  }),
);

const QUOTA_SCOPES = [
  'BestEffort',
  'CrossNamespacePodAffinity',
  'NotBestEffort',
  'NotTerminating',
  'PriorityClass',
  'Terminating',
];

function quotaCells(o: Obj): [string, string] {
  // What the quota controller has enforced (status), as upstream prints it; nothing before that.
  const hard = asObj(o.status?.hard) ?? {},
    used = asObj(o.status?.used) ?? {};
  const req: string[] = [],
    lim: string[] = [];
  for (const k of Object.keys(hard).sort()) {
    const cell = `${k}: ${used[k] ?? '0'}/${hard[k]}`;
    (k.startsWith('limits.') ? lim : req).push(cell);
  }
  return [req.join(', '), lim.join(', ')];
}

export const resourceQuota = resource({
  group: '',
  version: 'v1',
  kind: 'ResourceQuota',
  plural: 'resourcequotas',
  singular: 'resourcequota',
  namespaced: true,
  shortNames: ['quota'],
  subresources: { status: true },
  schema: kindSchema(
    { group: '', version: 'v1', kind: 'ResourceQuota' },
    'ResourceQuota sets aggregate quota restrictions enforced per namespace.',
    {
      spec: ref(CORE('ResourceQuotaSpec'), 'The desired quota.'),
      status: ref(CORE('ResourceQuotaStatus'), 'The actual enforced quota and its current usage. Read-only.'),
    },
  ),
  defaults(obj: KubeObject) {
    // A struct upstream: `status: {}` until the quota controller fills it.
    (obj as Obj).status = asObj((obj as Obj).status) ?? {};
  },
  validate(obj: KubeObject) {
    const s = asObj((obj as Obj).spec) ?? {};
    const errs: FieldError[] = [];
    for (const [k, v] of Object.entries(asObj(s.hard) ?? {})) {
      if (!isValidQuantity(v)) errs.push(invalid(`spec.hard[${k}]`, v, 'must be a valid quantity'));
      else if (parseQuantity(v as string).mantissa < 0n)
        errs.push(invalid(`spec.hard[${k}]`, v, 'must be greater than or equal to 0'));
    }
    asArr(s.scopes).forEach((sc: unknown, i: number) => {
      if (!QUOTA_SCOPES.includes(sc as string)) errs.push(notSupported(`spec.scopes[${i}]`, sc, QUOTA_SCOPES));
    });
    return errs;
  },
  columns: [
    nameColumn,
    ageColumn,
    col('Request', 'string', 'Request represents a minimum amount of cpu/memory that a container may consume.'),
    col(
      'Limit',
      'string',
      'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.',
    ),
  ],
  row: (obj, now) => [obj.metadata.name, age(obj.metadata.creationTimestamp, now), ...quotaCells(obj as Obj)],
});
