// What each step records as its history entry's `created_by` (`docker history`), in the words of
// dockerd 20.10's classic builder, the builder this one follows (measured by the differential
// corpus): a metadata step is the current SHELL, `#(nop) ` and the instruction with its words
// expanded (ENV/LABEL/ARG as `k=v` pairs, CMD/ENTRYPOINT/HEALTHCHECK through Go's `%q`, VOLUME and
// SHELL through `%v`); COPY/ADD name their sources by a content hash (`file:`, `dir:`, `multi:`);
// a RUN is its argv joined by spaces, after `|N k=v…` when build args are in effect.
import { createHash } from 'node:crypto';
import type { ImageConfig } from '../image/index.js';

type Healthcheck = NonNullable<NonNullable<ImageConfig['config']>['Healthcheck']>;

/** `SHELL #(nop)  COMMENT` — dockerd's withCmdComment (two spaces: "#(nop) " and the comment are
 *  two argv words). */
export function nop(shell: string[], comment: string): string {
  return `${shell.join(' ')} #(nop)  ${comment}`;
}

/** `SHELL #(nop) COMMENT` — withCmdCommentString (WORKDIR, COPY, ADD: one word). */
export function nopString(shell: string[], comment: string): string {
  return `${shell.join(' ')} #(nop) ${comment}`;
}

/** Go's strconv.Quote for the strings a Dockerfile can hold. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c >= 0x80 && c < 0xa0) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** `%q` of a []string: `["a" "b"]`. */
export function goQuoteList(l: readonly string[] | null | undefined): string {
  return `[${(l ?? []).map(goQuote).join(' ')}]`;
}

/** Go's time.Duration String() of a count of nanoseconds. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = Math.abs(ns);
  let out: string;
  if (u < 1e9) {
    const [unit, div] = u < 1e3 ? ['ns', 1] : u < 1e6 ? ['µs', 1e3] : ['ms', 1e6];
    out = `${trimFrac(u / div)}${unit}`;
  } else {
    const h = Math.floor(u / 3600e9);
    u -= h * 3600e9;
    const m = Math.floor(u / 60e9);
    u -= m * 60e9;
    out = `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${trimFrac(u / 1e9)}s`;
  }
  return neg ? `-${out}` : out;
}

function trimFrac(v: number): string {
  return v.toFixed(9).replace(/\.?0+$/, '');
}

/** `%q` of a *HealthConfig as dockerd 20.10 has it: `&{["CMD-SHELL" "x"] "5s" "0s" "0s" '\x03'}`
 *  (Test, Interval, Timeout, StartPeriod, Retries — an int printed as a quoted rune). */
export function goHealthcheck(h: Healthcheck): string {
  const d = (v: number | undefined) => goQuote(goDuration(v ?? 0));
  return `&{${goQuoteList(h.Test)} ${d(h.Interval)} ${d(h.Timeout)} ${d(h.StartPeriod)} ${goRune(h.Retries ?? 0)}}`;
}

function goRune(n: number): string {
  const ch = String.fromCodePoint(n);
  if (ch === "'") return "'\\''";
  const q = goQuote(ch);
  return `'${q.slice(1, -1).replace(/^\\"$/, '"')}'`;
}

/** A COPY/ADD source set's name: `file:`/`dir:` and the source's hash for one source, `multi:`
 *  and the hash of the joined names for several — dockerd's form (its per-source hash is a tarsum
 *  of the context; this one is a hash of the same kind of content, so the values differ). */
export function sourcesName(sources: { kind: 'file' | 'dir'; hash: string }[]): string {
  const names = sources.map((s) => `${s.kind}:${s.hash}`);
  if (names.length === 1) return names[0];
  return `multi:${createHash('sha256').update(names.join(',')).digest('hex')}`;
}

/** A RUN's created_by: `|N k=v…` (the build args in effect, sorted; none that ENV overrides) and
 *  the argv joined by spaces. */
export function runCreatedBy(argv: readonly string[], buildArgs: readonly string[]): string {
  const args = [...buildArgs].sort();
  return (args.length ? [`|${args.length}`, ...args, ...argv] : argv).join(' ');
}
