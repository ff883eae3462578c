import type { KubeObject } from '../../types.js';
import { arr, bool, kindSchema, ref } from '../../schema/builder.js';
import { ageColumn, col, nameColumn } from '../../printing/columns.js';
import { age } from '../../printing/duration.js';
import { asArr, type Obj } from '../../validation/fields.js';
import { required } from '../../validation/errors.js';
import { resource } from '../shared/define.js';
import { CORE } from './container-schema.js';
import './storage-schema.js';

const schema = kindSchema(
  { group: '', version: 'v1', kind: 'ServiceAccount' },
  'ServiceAccount binds together a name understood by users and other subsystems, a principal that can be authenticated and authorized, and a set of secrets.',
  {
    secrets: arr(
      'Secrets in the same namespace that pods running as this service account may use.',
      ref(CORE('ObjectReference')),
      { mergeKey: 'name' },
    ),
    imagePullSecrets: arr(
      'Secrets in the same namespace used to pull images in pods that reference this service account.',
      ref(CORE('LocalObjectReference')),
      { listType: 'atomic' },
    ),
    automountServiceAccountToken: bool(
      'Whether pods running as this service account get an API token mounted automatically.',
    ),
  },
);

export const serviceAccount = resource({
  group: '',
  version: 'v1',
  kind: 'ServiceAccount',
  plural: 'serviceaccounts',
  singular: 'serviceaccount',
  namespaced: true,
  shortNames: ['sa'],
  subresources: {
    extra: [{ name: 'token', kind: 'TokenRequest', group: 'authentication.k8s.io', version: 'v1', verbs: ['create'] }],
  },
  schema,
  validate: (o: KubeObject) =>
    asArr((o as Obj).imagePullSecrets).flatMap((r: Obj, i: number) =>
      r?.name ? [] : [required(`imagePullSecrets[${i}].name`)],
    ),
  columns: [nameColumn, col('Secrets', 'string', 'Number of secrets listed by the service account.'), ageColumn],
  row: (obj, now) => [obj.metadata.name, asArr((obj as Obj).secrets).length, age(obj.metadata.creationTimestamp, now)],
});
