// Variable substitution and word splitting as the Dockerfile reference defines them for ENV, ARG,
// LABEL, COPY, ADD, WORKDIR, USER, EXPOSE, VOLUME, STOPSIGNAL and FROM: `$V`, `${V}`,
// `${V:-w}`, `${V-w}`, `${V:+w}`, `${V+w}`, `${V:?msg}`, quotes and escapes. Hand-written: this is
// the Dockerfile dialect (not POSIX sh: no command substitution, no globbing).
import { invalidArgument } from '../../common/index.js';

export type Env = ReadonlyMap<string, string> | Record<string, string>;

function lookup(env: Env, k: string): string | undefined {
  return env instanceof Map ? env.get(k) : (env as Record<string, string>)[k];
}

interface Opts {
  escape?: string;
  split?: boolean;
}

/** Expands and unquotes `s`; with `split`, returns the whitespace-separated words. */
function processWords(s: string, env: Env, o: Opts): string[] {
  const esc = o.escape ?? '\\';
  const words: string[] = [];
  let cur = '';
  let has = false;
  let i = 0;
  const push = () => {
    if (has || cur) words.push(cur);
    cur = '';
    has = false;
  };
  const readVar = (): string => {
    // at s[i] === '$'
    i++;
    if (s[i] === '{') {
      const end = findClose(s, i + 1);
      if (end < 0) throw invalidArgument(`missing '}' in ${JSON.stringify(s)}`, { field: 'substitution' });
      const body = s.slice(i + 1, end);
      i = end + 1;
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])([\s\S]*))?$/.exec(body);
      if (!m) throw invalidArgument(`bad substitution: \${${body}}`, { field: 'substitution' });
      const [, name, op, word] = m;
      const val = lookup(env, name);
      if (!op) return val ?? '';
      const colon = op.startsWith(':');
      const set = colon ? val !== undefined && val !== '' : val !== undefined;
      const sub = () => processWords(word ?? '', env, { escape: esc })[0] ?? '';
      switch (op[op.length - 1]) {
        case '-':
          return set ? val! : sub();
        case '+':
          return set ? sub() : '';
        default:
          if (!set) throw invalidArgument(`${name}: ${sub() || 'is not allowed to be unset'}`, { field: name });
          return val!;
      }
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i));
    if (!m) return '$';
    i += m[0].length;
    return lookup(env, m[0]) ?? '';
  };
  while (i < s.length) {
    const c = s[i];
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0)
        throw invalidArgument(
          `unexpected end of statement while looking for matching single-quote in ${JSON.stringify(s)}`,
          { field: 'quote' },
        );
      cur += s.slice(i + 1, end);
      has = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      has = true;
      for (;;) {
        if (i >= s.length)
          throw invalidArgument(
            `unexpected end of statement while looking for matching double-quote in ${JSON.stringify(s)}`,
            { field: 'quote' },
          );
        const d = s[i];
        if (d === '"') {
          i++;
          break;
        }
        if (d === esc && i + 1 < s.length && ['"', '$', esc].includes(s[i + 1])) {
          cur += s[i + 1];
          i += 2;
          continue;
        }
        if (d === '$') {
          cur += readVar();
          continue;
        }
        cur += d;
        i++;
      }
    } else if (c === esc) {
      if (i + 1 < s.length) {
        cur += s[i + 1];
        i += 2;
      } else {
        cur += c;
        i++;
      }
    } else if (c === '$') {
      const v = readVar();
      if (!o.split) cur += v;
      else {
        // Unquoted expansions split into words as the shell would.
        const parts = v.split(/\s+/);
        parts.forEach((p, k) => {
          if (k > 0) push();
          cur += p;
        });
        if (v && /^\s+$/.test(v)) push();
      }
    } else if (o.split && /\s/.test(c)) {
      push();
      i++;
    } else {
      cur += c;
      i++;
    }
  }
  push();
  return words;
}

function findClose(s: string, from: number): number {
  let depth = 1;
  for (let j = from; j < s.length; j++) {
    if (s[j] === '{') depth++;
    else if (s[j] === '}' && --depth === 0) return j;
  }
  return -1;
}

/** One word: expanded, quotes removed (no splitting). */
export function expandWord(s: string, env: Env, escape = '\\'): string {
  return processWords(s, env, { escape })[0] ?? '';
}

/** Several words: expanded, unquoted, split on unquoted whitespace. */
export function expandWords(s: string, env: Env, escape = '\\'): string[] {
  return processWords(s, env, { escape, split: true });
}

/** Splits on unquoted whitespace keeping quotes and escapes (for key=value lists). */
export function splitRaw(s: string, escape = '\\'): string[] {
  const out: string[] = [];
  let cur = '';
  let q: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (q) {
      cur += c;
      if (c === escape && q === '"' && i + 1 < s.length) cur += s[++i];
      else if (c === q) q = undefined;
    } else if (c === '"' || c === "'") {
      q = c;
      cur += c;
    } else if (c === escape && i + 1 < s.length) {
      cur += c + s[++i];
    } else if (/\s/.test(c)) {
      if (cur) out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (q) throw invalidArgument(`unterminated ${q === '"' ? 'double' : 'single'} quote`, { field: 'quote' });
  if (cur) out.push(cur);
  return out;
}
