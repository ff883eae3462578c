// Label and field selectors as the list/watch query parameters carry them (apimachinery's
// labels.Parse / fields.ParseSelector grammar). Hand-written: the grammar is small and no
// maintained npm package implements Kubernetes' exact syntax.
import { errBadRequest } from './status.js';

export type LabelRequirement =
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!' }
  | { key: string; op: '=' | '!='; values: [string] }
  | { key: string; op: 'gt' | 'lt'; values: [string] };

export type LabelSelector = LabelRequirement[];

/** Splits on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0,
    cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x !== '');
}

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z.]*[a-z0-9A-Z])?\/)?[a-zA-Z0-9]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const VALUE = /^([a-zA-Z0-9]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?)?$/;

function checkKey(k: string, whole: string) {
  if (!KEY.test(k))
    throw errBadRequest(`unable to parse requirement: found '${k}', expected: identifier (in "${whole}")`);
}
function checkValue(v: string, whole: string) {
  if (v.length > 63 || !VALUE.test(v))
    throw errBadRequest(`unable to parse requirement: invalid label value: "${v}" (in "${whole}")`);
}

export function parseLabelSelector(s: string | null | undefined): LabelSelector {
  if (!s) return [];
  const reqs: LabelSelector = [];
  for (const part of splitTop(s)) {
    let m: RegExpMatchArray | null;
    if ((m = part.match(/^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      checkKey(m[1], s);
      const values = m[3]
        .split(',')
        .map((v) => v.trim())
        .filter((v, i, a) => v !== '' || a.length === 1);
      values.forEach((v) => checkValue(v, s));
      reqs.push({ key: m[1], op: m[2] as 'in' | 'notin', values });
    } else if ((m = part.match(/^!\s*(\S+)$/))) {
      checkKey(m[1], s);
      reqs.push({ key: m[1], op: '!' });
    } else if ((m = part.match(/^([^=!<>\s]+)\s*(==|=|!=|>|<)\s*(\S*)$/))) {
      checkKey(m[1], s);
      if (m[2] === '>' || m[2] === '<') {
        if (!/^-?\d+$/.test(m[3]))
          throw errBadRequest(
            `unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer (in "${s}")`,
          );
        reqs.push({ key: m[1], op: m[2] === '>' ? 'gt' : 'lt', values: [m[3]] });
      } else {
        checkValue(m[3], s);
        reqs.push({ key: m[1], op: m[2] === '!=' ? '!=' : '=', values: [m[3]] });
      }
    } else if (/^\S+$/.test(part)) {
      checkKey(part, s);
      reqs.push({ key: part, op: 'exists' });
    } else {
      throw errBadRequest(`unable to parse requirement: invalid label selector "${s}"`);
    }
  }
  return reqs;
}

export function matchLabels(sel: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  for (const r of sel) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = l[r.key];
    switch (r.op) {
      case 'exists':
        if (!has) return false;
        break;
      case '!':
        if (has) return false;
        break;
      case '=':
        if (!has || v !== r.values[0]) return false;
        break;
      case '!=':
        if (has && v === r.values[0]) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(v)) return false;
        break;
      case 'notin':
        if (has && r.values.includes(v)) return false;
        break;
      case 'gt':
        if (!has || !(Number(v) > Number(r.values[0]))) return false;
        break;
      case 'lt':
        if (!has || !(Number(v) < Number(r.values[0]))) return false;
        break;
    }
  }
  return true;
}

/** metav1.LabelSelector (matchLabels + matchExpressions) in its string form (`a=b,c in (d)`). */
export function formatLabelSelector(sel: unknown): string {
  if (!sel || typeof sel !== 'object') return '';
  const s = sel as {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  };
  const parts: string[] = [];
  for (const [k, v] of Object.entries(s.matchLabels ?? {}).sort(([a], [b]) => a.localeCompare(b)))
    parts.push(`${k}=${v}`);
  for (const e of s.matchExpressions ?? []) {
    const vals = [...(e.values ?? [])].sort().join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${vals})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${vals})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export function parseFieldSelector(s: string | null | undefined): FieldRequirement[] {
  if (!s) return [];
  const out: FieldRequirement[] = [];
  for (const part of s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const m = part.match(/^([^=!]+?)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw errBadRequest(`invalid selector: '${s}'; can't understand '${part}'`);
    out.push({ field: m[1], op: m[2] === '!=' ? '!=' : '=', value: m[3].replace(/\\(.)/g, '$1') });
  }
  return out;
}

export type FieldGetter = (field: string) => string | undefined;

export function matchFields(reqs: FieldRequirement[], get: FieldGetter): boolean {
  for (const r of reqs) {
    const v = get(r.field) ?? '';
    if (r.op === '=' ? v !== r.value : v === r.value) return false;
  }
  return true;
}
