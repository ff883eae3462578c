// Label selectors: the string form used in `?labelSelector=` and `kubectl -l`
// (`a=b,c!=d,e in (x,y),f notin (z),g,!h`, plus `>`/`<` on integer values) and the structured
// `LabelSelector` object (matchLabels + matchExpressions). Hand-written: the grammar is small and
// the semantics (a missing key matches `!=` and `notin`) must be exactly upstream's.
import { invalidArgument } from '../../../common/index.js';
import { isQualifiedName, isValidLabelValue } from '../validation/names.js';

export type Operator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

export interface Requirement {
  key: string;
  operator: Operator;
  values: string[];
}

/** A parsed selector: a conjunction of requirements. `nothing` matches no object at all. */
export interface Selector {
  requirements: Requirement[];
  nothing?: boolean;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export const everything = (): Selector => ({ requirements: [] });
export const nothing = (): Selector => ({ requirements: [], nothing: true });

type Tok = { t: 'id' | 'op' | '(' | ')' | ',' | 'end'; v: string };

function lex(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',') {
      out.push({ t: c, v: c });
      i++;
      continue;
    }
    const two = s.slice(i, i + 2);
    if (two === '==' || two === '!=') {
      out.push({ t: 'op', v: two });
      i += 2;
      continue;
    }
    if (c === '=' || c === '!' || c === '<' || c === '>') {
      out.push({ t: 'op', v: c });
      i++;
      continue;
    }
    let j = i;
    while (j < s.length && !' \t(),=!<>'.includes(s[j])) j++;
    out.push({ t: 'id', v: s.slice(i, j) });
    i = j;
  }
  out.push({ t: 'end', v: '' });
  return out;
}

function checkKey(key: string, src: string): void {
  const errs = isQualifiedName(key);
  if (errs.length)
    throw invalidArgument(`unable to parse requirement: invalid label key "${key}": ${errs.join('; ')}`, {
      field: 'labelSelector',
      details: [{ field: 'labelSelector', message: src }],
    });
}
function checkValue(v: string): void {
  const errs = isValidLabelValue(v);
  if (errs.length)
    throw invalidArgument(`unable to parse requirement: invalid label value: "${v}": at key: ${errs.join('; ')}`, {
      field: 'labelSelector',
    });
}

/** Parses the string form; throws InvalidArgument (field `labelSelector`) on a syntax error. */
export function parseSelector(src: string): Selector {
  const toks = lex(src);
  let p = 0;
  const fail = (msg: string): never => {
    throw invalidArgument(`unable to parse requirement: ${msg}`, { field: 'labelSelector' });
  };
  const reqs: Requirement[] = [];
  if (toks[0].t === 'end') return everything();
  for (;;) {
    let tok = toks[p++];
    if (tok.t === 'op' && tok.v === '!') {
      const k = toks[p++];
      if (k.t !== 'id') fail(`found '${k.v}', expected: identifier after '!'`);
      checkKey(k.v, src);
      reqs.push({ key: k.v, operator: '!', values: [] });
    } else if (tok.t === 'id') {
      const key = tok.v;
      checkKey(key, src);
      tok = toks[p];
      if (tok.t === 'end' || tok.t === ',') {
        reqs.push({ key, operator: 'exists', values: [] });
      } else if (tok.t === 'op' || (tok.t === 'id' && (tok.v === 'in' || tok.v === 'notin'))) {
        p++;
        if (tok.v === 'in' || tok.v === 'notin') {
          if (toks[p++].t !== '(') fail(`found '${toks[p - 1].v}', expected: '('`);
          if (toks[p].t === ')') fail(`for 'in', 'notin' operators, values set can't be empty`);
          const values: string[] = [];
          for (;;) {
            const v = toks[p];
            if (v.t === 'id') {
              checkValue(v.v);
              values.push(v.v);
              p++;
            } else if (v.t === ',' || v.t === ')') values.push('');
            else fail(`found '${v.v}', expected: ',', ')' or identifier`);
            const sep = toks[p++];
            if (sep.t === ')') break;
            if (sep.t !== ',') fail(`found '${sep.v}', expected: ',' or ')'`);
          }
          reqs.push({ key, operator: tok.v as Operator, values: [...new Set(values)].sort() });
        } else {
          const op: Operator = tok.v === '>' ? 'gt' : tok.v === '<' ? 'lt' : (tok.v as Operator);
          if (!['=', '==', '!=', 'gt', 'lt'].includes(op))
            fail(`found '${tok.v}', expected: '=', '!=', '==', 'in', notin'`);
          const v = toks[p];
          let value = '';
          if (v.t === 'id') {
            value = v.v;
            p++;
          } else if (v.t !== ',' && v.t !== 'end') fail(`found '${v.v}', expected: identifier`);
          if (op === 'gt' || op === 'lt') {
            if (!/^-?\d+$/.test(value)) fail(`for 'Gt', 'Lt' operators, the value must be an integer`);
          } else checkValue(value);
          reqs.push({ key, operator: op, values: [value] });
        }
      } else fail(`found '${tok.v}', expected: in, notin, =, ==, !=, gt, lt`);
    } else fail(`found '${tok.v}', expected: !, identifier, or 'end of string'`);
    const sep = toks[p++];
    if (sep.t === 'end') break;
    if (sep.t !== ',') fail(`found '${sep.v}', expected: ',' or 'end of string'`);
  }
  reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { requirements: reqs };
}

function matchReq(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = labels[r.key];
  switch (r.operator) {
    case '=':
    case '==':
    case 'in':
      return has && r.values.includes(v);
    case '!=':
    case 'notin':
      return !has || !r.values.includes(v);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(v)) return false;
      const n = Number(v),
        m = Number(r.values[0]);
      return r.operator === 'gt' ? n > m : n < m;
    }
  }
}

export function matches(sel: Selector, labels: Record<string, string> | undefined): boolean {
  if (sel.nothing) return false;
  const l = labels ?? {};
  return sel.requirements.every((r) => matchReq(r, l));
}

export function selectorToString(sel: Selector): string {
  return sel.requirements
    .map((r) => {
      switch (r.operator) {
        case 'exists':
          return r.key;
        case '!':
          return `!${r.key}`;
        case 'in':
        case 'notin':
          return `${r.key} ${r.operator} (${r.values.join(',')})`;
        case 'gt':
          return `${r.key}>${r.values[0]}`;
        case 'lt':
          return `${r.key}<${r.values[0]}`;
        default:
          return `${r.key}${r.operator}${r.values[0]}`;
      }
    })
    .join(',');
}

/** Converts a LabelSelector object. `null`/`undefined` selects nothing; `{}` selects everything.
 *  Throws InvalidArgument for an unknown operator or missing values. */
export function fromLabelSelector(ls: LabelSelector | null | undefined): Selector {
  if (ls === null || ls === undefined) return nothing();
  const reqs: Requirement[] = [];
  for (const [k, v] of Object.entries(ls.matchLabels ?? {})) reqs.push({ key: k, operator: '=', values: [v] });
  for (const e of ls.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort();
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (!values.length)
          throw invalidArgument(
            `values: Invalid value: ${JSON.stringify(values)}: for 'in', 'notin' operators, values set can't be empty`,
            { field: 'matchExpressions' },
          );
        reqs.push({ key: e.key, operator: e.operator === 'In' ? 'in' : 'notin', values });
        break;
      case 'Exists':
        reqs.push({ key: e.key, operator: 'exists', values: [] });
        break;
      case 'DoesNotExist':
        reqs.push({ key: e.key, operator: '!', values: [] });
        break;
      default:
        throw invalidArgument(`${JSON.stringify(e.operator)} is not a valid label selector operator`, {
          field: 'matchExpressions',
        });
    }
  }
  reqs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { requirements: reqs };
}

/** Whether a LabelSelector object matches a label set (nil selects nothing, {} everything). */
export function labelSelectorMatches(
  ls: LabelSelector | null | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  return matches(fromLabelSelector(ls), labels);
}

/** The string form kubectl prints in SELECTOR columns (`<none>` for an empty selector). */
export function formatLabelSelector(ls: LabelSelector | null | undefined): string {
  if (!ls) return '<none>';
  const parts: string[] = [];
  for (const k of Object.keys(ls.matchLabels ?? {}).sort()) parts.push(`${k}=${ls.matchLabels![k]}`);
  for (const e of ls.matchExpressions ?? []) {
    const vals = [...(e.values ?? [])].sort().join(',');
    switch (e.operator) {
      case 'In':
        parts.push(`${e.key} in (${vals})`);
        break;
      case 'NotIn':
        parts.push(`${e.key} notin (${vals})`);
        break;
      case 'Exists':
        parts.push(e.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${e.key}`);
        break;
      default:
        parts.push(`${e.key} ${e.operator} (${vals})`);
    }
  }
  return parts.length ? parts.join(',') : '<none>';
}

/** A plain map selector (Service.spec.selector, ReplicationController): `{}`/nil match nothing
 *  for Services (callers decide), here a map matches labels containing every pair. */
export function mapSelectorMatches(sel: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return Object.entries(sel).every(([k, v]) => l[k] === v);
}
