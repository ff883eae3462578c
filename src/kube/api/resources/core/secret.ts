import type { FieldError, KubeObject } from '../../types.js';
import { bool, kindSchema, mapOf, str, strMap } from '../../schema/builder.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asObj, type Obj } from '../../validation/fields.js';
import { forbidden, immutable, invalid, required, tooLong } from '../../validation/errors.js';
import { isConfigMapKey } from '../../validation/names.js';
import { resource } from '../shared/define.js';

const MAX_SECRET_SIZE = 1024 * 1024;

export const SECRET_TYPES = {
  opaque: 'Opaque',
  serviceAccountToken: 'kubernetes.io/service-account-token',
  dockercfg: 'kubernetes.io/dockercfg',
  dockerConfigJson: 'kubernetes.io/dockerconfigjson',
  basicAuth: 'kubernetes.io/basic-auth',
  sshAuth: 'kubernetes.io/ssh-auth',
  tls: 'kubernetes.io/tls',
  bootstrapToken: 'bootstrap.kubernetes.io/token',
} as const;

const schema = kindSchema(
  { group: '', version: 'v1', kind: 'Secret' },
  'Secret holds secret data of a certain type. The total size of data and stringData must be at most 1 MiB.',
  {
    data: mapOf('Secret data, base64-encoded on the wire. Keys consist of alphanumerics, "-", "_" or ".".', {
      type: 'string',
      format: 'byte',
    }),
    stringData: strMap(
      'Write-only convenience field: plain-text values merged into data on write (stringData wins on conflicts); never returned on read.',
    ),
    type: str(
      'Used to facilitate programmatic handling of secret data: Opaque (default), kubernetes.io/service-account-token, kubernetes.io/dockercfg, kubernetes.io/dockerconfigjson, kubernetes.io/basic-auth, kubernetes.io/ssh-auth, kubernetes.io/tls, bootstrap.kubernetes.io/token.',
    ),
    immutable: bool(
      'If true, data cannot be changed after creation (only metadata can); the object can still be deleted.',
    ),
  },
);

const isBase64 = (v: unknown) => typeof v === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0;
const decode = (v: unknown) => (typeof v === 'string' ? Buffer.from(v, 'base64') : Buffer.alloc(0));

function validateSecret(o: Obj): FieldError[] {
  const errs: FieldError[] = [];
  const data = asObj(o.data) ?? {};
  let size = 0;
  for (const [k, v] of Object.entries(data)) {
    for (const m of isConfigMapKey(k)) errs.push(invalid('data', k, m));
    if (!isBase64(v)) errs.push(invalid(`data[${k}]`, '<secret contents redacted>', 'illegal base64 data'));
    size += decode(v).length;
  }
  if (size > MAX_SECRET_SIZE) errs.push(tooLong('data', MAX_SECRET_SIZE));
  const type = o.type as string;
  const need = (key: string) => {
    if (!(key in data)) errs.push(required(`data[${key}]`));
  };
  switch (type) {
    case SECRET_TYPES.serviceAccountToken: {
      const ann = o.metadata?.annotations ?? {};
      if (!ann['kubernetes.io/service-account.name'])
        errs.push(required('metadata.annotations[kubernetes.io/service-account.name]'));
      break;
    }
    case SECRET_TYPES.dockercfg:
      need('.dockercfg');
      if ('.dockercfg' in data && !isJson(decode(data['.dockercfg'])))
        errs.push(invalid('data[.dockercfg]', '<secret contents redacted>', 'invalid character in JSON'));
      break;
    case SECRET_TYPES.dockerConfigJson:
      need('.dockerconfigjson');
      if ('.dockerconfigjson' in data && !isJson(decode(data['.dockerconfigjson'])))
        errs.push(invalid('data[.dockerconfigjson]', '<secret contents redacted>', 'invalid character in JSON'));
      break;
    case SECRET_TYPES.basicAuth:
      if (!('username' in data) && !('password' in data)) errs.push(required('data[username]'));
      break;
    case SECRET_TYPES.sshAuth:
      need('ssh-privatekey');
      break;
    case SECRET_TYPES.tls:
      need('tls.crt');
      need('tls.key');
      break;
    default:
      break;
  }
  return errs;
}

function isJson(b: Buffer): boolean {
  try {
    JSON.parse(b.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

export const secret = resource({
  group: '',
  version: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  singular: 'secret',
  namespaced: true,
  schema,
  defaults(obj: KubeObject) {
    const o = obj as Obj;
    if (!o.type) o.type = SECRET_TYPES.opaque;
    // stringData is write-only: fold it into data (base64), then drop it.
    const sd = asObj(o.stringData);
    if (sd) {
      o.data = { ...(asObj(o.data) ?? {}) };
      for (const [k, v] of Object.entries(sd)) o.data[k] = Buffer.from(String(v), 'utf8').toString('base64');
      delete o.stringData;
    }
  },
  validate: (obj: KubeObject) => validateSecret(obj as Obj),
  updateErrorsFirst: true,
  validateUpdate(obj: KubeObject, old: KubeObject) {
    const o = obj as Obj,
      p = old as Obj;
    const errs: FieldError[] = [...immutable('type', o.type, p.type)];
    if (p.immutable === true) {
      if (o.immutable !== true) errs.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
      if (immutable('data', o.data ?? {}, p.data ?? {}).length)
        errs.push(forbidden('data', 'field is immutable when `immutable` is set'));
    }
    return errs;
  },
  columns: [
    nameColumn,
    col('Type', 'string', 'The type of the secret'),
    col('Data', 'string', 'Number of keys in the secret'),
    ageColumn,
  ],
  row: (obj, now) => {
    const o = obj as Obj;
    return [
      obj.metadata.name,
      o.type ?? '',
      Object.keys(asObj(o.data) ?? {}).length,
      age(obj.metadata.creationTimestamp, now),
    ];
  },
  fieldSelectors: { type: (o) => String((o as Obj).type ?? '') },
});
