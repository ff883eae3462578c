// ObjectMeta rules every kind shares (apimachinery's ValidateObjectMeta): name and generateName,
// namespace, labels, annotations, finalizers; plus the system fields the server owns.
import { randomUUID } from 'node:crypto';
import type { FieldError, KubeObject, ResourceDefinition } from '../api/index.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const QNAME_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

const inv = (field: string, value: unknown, detail: string): FieldError => ({
  type: 'FieldValueInvalid',
  field,
  message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
});

export function validateName(
  name: string,
  rule: ResourceDefinition['nameRule'],
  field = 'metadata.name',
): FieldError[] {
  if (rule === 'path') {
    if (name === '.' || name === '..') return [inv(field, name, `may not be '${name}'`)];
    if (/[/%]/.test(name)) return [inv(field, name, `may not contain '/' or '%'`)];
    return [];
  }
  if (rule === 'label') {
    const errs: FieldError[] = [];
    if (name.length > 63) errs.push(inv(field, name, 'must be no more than 63 characters'));
    if (!DNS1123_LABEL.test(name)) errs.push(inv(field, name, LABEL_MSG));
    return errs;
  }
  const errs: FieldError[] = [];
  if (name.length > 253) errs.push(inv(field, name, 'must be no more than 253 characters'));
  if (!DNS1123_SUBDOMAIN.test(name)) errs.push(inv(field, name, SUBDOMAIN_MSG));
  return errs;
}

function validateQualifiedKey(key: string, field: string): FieldError[] {
  const slash = key.lastIndexOf('/');
  const [prefix, name] = slash >= 0 ? [key.slice(0, slash), key.slice(slash + 1)] : ['', key];
  const errs: FieldError[] = [];
  if (slash >= 0 && (prefix.length === 0 || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) {
    errs.push(inv(field, key, `prefix part ${SUBDOMAIN_MSG}`));
  }
  if (name.length === 0) errs.push(inv(field, key, 'name part must be non-empty'));
  else if (name.length > 63) errs.push(inv(field, key, 'name part must be no more than 63 characters'));
  else if (!QUALIFIED_NAME.test(name)) errs.push(inv(field, key, QNAME_MSG));
  return errs;
}

export function validateMeta(obj: KubeObject, def: ResourceDefinition): FieldError[] {
  const m = obj.metadata ?? {};
  const errs: FieldError[] = [];
  if (!m.name)
    errs.push({
      type: 'FieldValueRequired',
      field: 'metadata.name',
      message: 'Required value: name or generateName is required',
    });
  else errs.push(...validateName(m.name, def.nameRule ?? 'subdomain'));
  if (def.namespaced) {
    if (!m.namespace) errs.push({ type: 'FieldValueRequired', field: 'metadata.namespace', message: 'Required value' });
    else errs.push(...validateName(m.namespace, 'label', 'metadata.namespace'));
  } else if (m.namespace) {
    errs.push({
      type: 'FieldValueForbidden',
      field: 'metadata.namespace',
      message: 'Forbidden: not allowed on this type',
    });
  }
  for (const [k, v] of Object.entries(m.labels ?? {})) {
    errs.push(...validateQualifiedKey(k, 'metadata.labels'));
    if (typeof v !== 'string' || v.length > 63 || !LABEL_VALUE.test(v))
      errs.push(
        inv(
          'metadata.labels',
          v,
          typeof v === 'string' && v.length > 63 ? 'must be no more than 63 characters' : LABEL_VALUE_MSG,
        ),
      );
  }
  let annSize = 0;
  for (const [k, v] of Object.entries(m.annotations ?? {})) {
    errs.push(...validateQualifiedKey(k.toLowerCase(), 'metadata.annotations'));
    annSize += k.length + String(v).length;
  }
  if (annSize > 256 * 1024)
    errs.push({
      type: 'FieldValueTooLong',
      field: 'metadata.annotations',
      message: `Too long: may not be more than 262144 bytes`,
    });
  for (const [i, f] of (m.finalizers ?? []).entries()) {
    if (typeof f !== 'string' || !f) errs.push(inv(`metadata.finalizers[${i}]`, f, 'must be a non-empty string'));
  }
  if (m.generateName !== undefined && typeof m.generateName !== 'string')
    errs.push(inv('metadata.generateName', m.generateName, 'must be a string'));
  return errs;
}

const GEN_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
export function generateNameSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += GEN_CHARS[Math.floor(Math.random() * GEN_CHARS.length)];
  return s;
}

/** RFC 3339 at second precision, as metav1.Time serialises. The current time's text is computed
 *  once per second (every create and update asks for it, often twice). */
export function nowRFC3339(d?: Date): string {
  if (d) return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const sec = Math.floor(Date.now() / 1000);
  if (sec !== lastSecond) {
    lastSecond = sec;
    lastText = new Date(sec * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return lastText;
}
let lastSecond = -1;
let lastText = '';

/** System fields of a new object. */
export function initSystemMeta(obj: KubeObject, def: ResourceDefinition): void {
  const m = obj.metadata;
  m.uid = randomUUID();
  m.creationTimestamp = nowRFC3339();
  delete m.deletionTimestamp;
  delete m.deletionGracePeriodSeconds;
  delete m.resourceVersion;
  if (def.hasGeneration) m.generation = 1;
  else delete m.generation;
}

/** Carries the system fields of `old` into an updated object. */
export function keepSystemMeta(obj: KubeObject, old: KubeObject): void {
  const m = obj.metadata,
    o = old.metadata;
  m.uid = o.uid;
  m.creationTimestamp = o.creationTimestamp;
  if (o.deletionTimestamp) {
    m.deletionTimestamp = o.deletionTimestamp;
    m.deletionGracePeriodSeconds = o.deletionGracePeriodSeconds;
  } else {
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
  }
  if (o.generation !== undefined) m.generation = o.generation;
  else delete m.generation;
  if (o.generateName !== undefined && m.generateName === undefined) m.generateName = o.generateName;
}

/** Go's omitempty drops empty maps and lists from metadata; so do we (e.g. after removing the last label). */
export function dropEmptyMeta(obj: KubeObject): void {
  const m = obj.metadata as Record<string, unknown>;
  for (const k of ['labels', 'annotations', 'finalizers', 'ownerReferences', 'managedFields']) {
    const v = m[k];
    if (
      v === null ||
      (Array.isArray(v) && v.length === 0) ||
      (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0)
    )
      delete m[k];
  }
}
