import type { FieldError, KubeObject } from '../../types.js';
import { bool, kindSchema, mapOf, strMap } from '../../schema/builder.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asObj, type Obj } from '../../validation/fields.js';
import { immutable, invalid, forbidden, tooLong } from '../../validation/errors.js';
import { isConfigMapKey } from '../../validation/names.js';
import { resource } from '../shared/define.js';

export const MAX_DATA_SIZE = 1024 * 1024;

const schema = kindSchema(
  { group: '', version: 'v1', kind: 'ConfigMap' },
  'ConfigMap holds configuration data for pods to consume.',
  {
    data: strMap(
      'UTF-8 configuration data. Keys consist of alphanumerics, "-", "_" or "."; a key may not appear in both data and binaryData.',
    ),
    binaryData: mapOf("Binary configuration data, base64-encoded on the wire. Keys follow the same rules as data's.", {
      type: 'string',
      format: 'byte',
    }),
    immutable: bool(
      'If true, data and binaryData cannot be changed after creation (only metadata can); the object can still be deleted.',
    ),
  },
);

export function validateConfigMapData(o: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const data = asObj(o.data) ?? {},
    bin = asObj(o.binaryData) ?? {};
  let size = 0;
  for (const [k, v] of Object.entries(data)) {
    for (const m of isConfigMapKey(k)) errs.push(invalid('data', k, m));
    size += typeof v === 'string' ? Buffer.byteLength(v) : 0;
  }
  for (const [k, v] of Object.entries(bin)) {
    for (const m of isConfigMapKey(k)) errs.push(invalid('binaryData', k, m));
    if (k in data) errs.push(invalid('binaryData', k, 'duplicate of key present in data'));
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0)
      errs.push(invalid(`binaryData[${k}]`, '<binary data>', 'illegal base64 data'));
    size += typeof v === 'string' ? Buffer.from(v, 'base64').length : 0;
  }
  if (size > MAX_DATA_SIZE) errs.push(tooLong('', MAX_DATA_SIZE));
  return errs;
}

export const configMap = resource({
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  singular: 'configmap',
  namespaced: true,
  shortNames: ['cm'],
  schema,
  validate: (obj: KubeObject) => validateConfigMapData(obj as Obj),
  updateErrorsFirst: true,
  validateUpdate(obj: KubeObject, old: KubeObject) {
    const o = obj as Obj,
      p = old as Obj;
    if (p.immutable !== true) return [];
    const errs: FieldError[] = [];
    if (o.immutable !== true) errs.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
    for (const f of ['data', 'binaryData']) {
      if (immutable(f, o[f] ?? {}, p[f] ?? {}).length)
        errs.push(forbidden(f, 'field is immutable when `immutable` is set'));
    }
    return errs;
  },
  columns: [nameColumn, col('Data', 'string', 'Number of keys in data and binaryData'), ageColumn],
  row: (obj, now) => {
    const o = obj as Obj;
    return [
      obj.metadata.name,
      Object.keys(asObj(o.data) ?? {}).length + Object.keys(asObj(o.binaryData) ?? {}).length,
      age(obj.metadata.creationTimestamp, now),
    ];
  },
});
