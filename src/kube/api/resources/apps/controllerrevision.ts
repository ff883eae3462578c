import type { FieldError, KubeObject } from '../../types.js';
import { int64, kindSchema } from '../../schema/builder.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asArr, type Obj } from '../../validation/fields.js';
import { immutable, invalid, required } from '../../validation/errors.js';
import { resource } from '../shared/define.js';

export const controllerRevision = resource({
  group: 'apps',
  version: 'v1',
  kind: 'ControllerRevision',
  plural: 'controllerrevisions',
  singular: 'controllerrevision',
  namespaced: true,
  schema: kindSchema(
    { group: 'apps', version: 'v1', kind: 'ControllerRevision' },
    'ControllerRevision is an immutable snapshot of state data, used by DaemonSet and StatefulSet controllers for updates and rollbacks.',
    {
      data: {
        type: 'object',
        description: 'The serialized state (for example a pod template patch).',
        'x-kubernetes-preserve-unknown-fields': true,
      },
      revision: int64('The revision number of the state represented by data.'),
    },
    ['revision'],
  ),
  validate(obj: KubeObject) {
    const o = obj as Obj;
    const errs: FieldError[] = [];
    if (o.revision === undefined) errs.push(required('revision'));
    else if (typeof o.revision !== 'number' || o.revision < 0)
      errs.push(invalid('revision', o.revision, 'must be greater than or equal to 0'));
    return errs;
  },
  validateUpdate: (o: KubeObject, old: KubeObject) => [...immutable('data', (o as Obj).data, (old as Obj).data)],
  columns: [
    nameColumn,
    col('Controller', 'string', 'The controller that owns the revision.'),
    col('Revision', 'integer', 'The revision number.'),
    ageColumn,
  ],
  row(obj, now) {
    const o = obj as Obj;
    const ctl = asArr(obj.metadata.ownerReferences).find((r) => r?.controller);
    let owner = '<none>';
    if (ctl) {
      const group = String(ctl.apiVersion ?? '').includes('/') ? String(ctl.apiVersion).split('/')[0] : '';
      owner = `${String(ctl.kind).toLowerCase()}${group ? `.${group}` : ''}/${ctl.name}`;
    }
    return [obj.metadata.name, owner, o.revision ?? 0, age(obj.metadata.creationTimestamp, now)];
  },
});
