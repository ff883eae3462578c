import type { FieldError, KubeObject } from '../../types.js';
import { bool, enumStr, int32, kindSchema, str } from '../../schema/builder.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { oneOf, type Obj } from '../../validation/fields.js';
import { forbidden, required } from '../../validation/errors.js';
import { resource } from '../shared/define.js';

export const HIGHEST_USER_PRIORITY = 1000000000;
const SYSTEM_NAMES = ['system-node-critical', 'system-cluster-critical'];

function validate(o: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const name = String(o.metadata?.name ?? '');
  if (typeof o.value !== 'number' || !Number.isInteger(o.value)) errs.push(required('value'));
  else if (o.value > HIGHEST_USER_PRIORITY && !SYSTEM_NAMES.includes(name))
    errs.push(forbidden('value', `maximum allowed value of a user defined priority is ${HIGHEST_USER_PRIORITY}`));
  if (name.startsWith('system-') && !SYSTEM_NAMES.includes(name))
    errs.push(forbidden('metadata.name', `priority class names with 'system-' prefix are reserved`));
  errs.push(...oneOf(o.preemptionPolicy, 'preemptionPolicy', ['PreemptLowerPriority', 'Never']));
  return errs;
}

export const priorityClass = resource({
  group: 'scheduling.k8s.io',
  version: 'v1',
  kind: 'PriorityClass',
  plural: 'priorityclasses',
  singular: 'priorityclass',
  namespaced: false,
  shortNames: ['pc'],
  // Upstream's strategy sets generation 1 on create.
  hasGeneration: true,
  schema: kindSchema(
    { group: 'scheduling.k8s.io', version: 'v1', kind: 'PriorityClass' },
    'PriorityClass maps a priority class name to an integer priority; pods name it in spec.priorityClassName.',
    {
      value: int32(
        'The priority; higher values are scheduled (and preempt) first. User classes may use up to 1000000000.',
      ),
      globalDefault: bool(
        "Whether this class's value is used for pods without a priorityClassName; only one class may be the global default.",
      ),
      description: str('When this priority class should be used.'),
      preemptionPolicy: enumStr('PreemptLowerPriority (default) or Never.', ['Never', 'PreemptLowerPriority']),
    },
    ['value'],
  ),
  defaults(obj: KubeObject) {
    (obj as Obj).preemptionPolicy ??= 'PreemptLowerPriority';
  },
  validate: (o: KubeObject) => validate(o as Obj),
  validateUpdate(o: KubeObject, old: KubeObject) {
    const errs: FieldError[] = [];
    if ((o as Obj).value !== (old as Obj).value) errs.push(forbidden('value', 'may not be changed in an update.'));
    if ((o as Obj).preemptionPolicy !== (old as Obj).preemptionPolicy)
      errs.push(forbidden('preemptionPolicy', 'may not be changed in an update.'));
    return errs;
  },
  columns: [
    nameColumn,
    col('Value', 'integer', 'The priority value.'),
    col('Global-Default', 'boolean', 'Whether this class is the global default.'),
    ageColumn,
    col('PreemptionPolicy', 'string', 'Whether pods of this class may preempt lower-priority pods.'),
  ],
  row: (obj, now) => {
    const o = obj as Obj;
    return [
      obj.metadata.name,
      o.value ?? 0,
      o.globalDefault === true,
      age(obj.metadata.creationTimestamp, now),
      o.preemptionPolicy ?? '',
    ];
  },
});
