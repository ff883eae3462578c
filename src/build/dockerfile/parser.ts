// Dockerfile parser: logical lines (from the lexer) → instructions (AST) → stages.
import { invalidArgument, isSkiffError } from '../../common/index.js';
import type { CommandForm, Dockerfile, Heredoc, Instruction, Stage } from './ast.js';
import { fail, lex } from './lexer.js';
import { splitRaw } from './shell-words.js';

const FLAGS: Record<string, readonly string[]> = {
  FROM: ['platform'],
  RUN: ['mount', 'network', 'security'],
  COPY: ['from', 'chown', 'chmod', 'link', 'parents', 'exclude'],
  ADD: ['chown', 'chmod', 'link', 'checksum', 'keep-git-dir', 'exclude'],
  HEALTHCHECK: ['interval', 'timeout', 'start-period', 'start-interval', 'retries'],
};

/** Parses `--a=b --c` flags off the front of `rest`. */
function takeFlags(kind: string, rest: string, line: number): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  const allowed = FLAGS[kind] ?? [];
  let r = rest;
  for (;;) {
    const m = /^--([A-Za-z][A-Za-z0-9-]*)(?:=("(?:[^"\\]|\\.)*"|\S*))?(?:\s+|$)/.exec(r);
    if (!m) break;
    const [whole, name, value] = m;
    if (!allowed.includes(name)) throw fail(line, `Unknown flag: ${name}`, name);
    if (name in flags && name !== 'mount') throw fail(line, `${kind}: duplicate flag specified: --${name}`, name);
    const v = value === undefined ? 'true' : value.replace(/^"(.*)"$/, '$1');
    flags[name] = name in flags ? `${flags[name]}\n${v}` : v;
    r = r.slice(whole.length);
  }
  return { flags, rest: r };
}

/** JSON array form (`["a","b"]`) or undefined when `s` is not a JSON string array. */
function jsonArray(s: string): string[] | undefined {
  const t = s.trim();
  if (!t.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    /* shell form */
  }
  return undefined;
}

function command(rest: string): CommandForm {
  const a = jsonArray(rest);
  return a ? { form: 'exec', args: a } : { form: 'shell', command: rest };
}

function keyValues(kind: 'ENV' | 'LABEL', rest: string, line: number): Array<[string, string]> {
  const words = splitRaw(rest);
  if (!words.length) throw fail(line, `${kind} requires at least one argument`);
  if (!words[0].includes('=')) {
    // Legacy `ENV key value…`: the rest of the line (after the first whitespace) is the value.
    if (kind === 'LABEL') throw fail(line, 'LABEL requires key=value pairs');
    const m = /^(\S+)\s+([\s\S]*)$/.exec(rest.trim());
    if (!m) throw fail(line, 'ENV must have two arguments');
    return [[m[1], m[2]]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw fail(line, `${kind} names can not be blank / syntax error in "${w}": expected key=value`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

function parseOne(text: string, line: number, heredocs: Heredoc[], escape: string): Instruction {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(text)!;
  const word = m[1];
  const kind = word.toUpperCase();
  const base0 = { line, original: text };
  if (!(kind in PARSERS)) throw fail(line, `unknown instruction: ${word}`, 'instruction');
  const { flags, rest } = takeFlags(kind, m[2], line);
  const base = { ...base0, flags };
  const r = rest.trim();
  return PARSERS[kind]({ base, r, line, heredocs, escape });
}

interface Ctx {
  base: { line: number; original: string; flags: Record<string, string> };
  r: string;
  line: number;
  heredocs: Heredoc[];
  escape: string;
}

const need = (c: Ctx, kind: string, n = 1): void => {
  if (!c.r) throw fail(c.line, `${kind} requires ${n === 1 ? 'at least one argument' : `at least ${n} arguments`}`);
};

const PARSERS: Record<string, (c: Ctx) => Instruction> = {
  FROM: (c) => {
    const w = splitRaw(c.r);
    if (w.length === 1) return { ...c.base, kind: 'FROM', image: w[0] };
    if (w.length === 3 && w[1].toUpperCase() === 'AS') {
      if (!/^[a-zA-Z][a-zA-Z0-9_.-]*$/.test(w[2]))
        throw fail(
          c.line,
          `invalid name for build stage: "${w[2]}", name can't start with a number or contain symbols`,
        );
      return { ...c.base, kind: 'FROM', image: w[0], alias: w[2].toLowerCase() };
    }
    throw fail(c.line, 'FROM requires either one or three arguments (FROM image [AS name])');
  },
  RUN: (c) => {
    if (!c.heredocs.length) need(c, 'RUN');
    return { ...c.base, kind: 'RUN', cmd: command(c.r), heredocs: c.heredocs };
  },
  CMD: (c) => ({ ...c.base, kind: 'CMD', cmd: command(c.r) }),
  ENTRYPOINT: (c) => ({ ...c.base, kind: 'ENTRYPOINT', cmd: command(c.r) }),
  ENV: (c) => ({ ...c.base, kind: 'ENV', pairs: keyValues('ENV', c.r, c.line) }),
  LABEL: (c) => ({ ...c.base, kind: 'LABEL', pairs: keyValues('LABEL', c.r, c.line) }),
  MAINTAINER: (c) => {
    need(c, 'MAINTAINER');
    return { ...c.base, kind: 'MAINTAINER', name: c.r };
  },
  ARG: (c) => {
    need(c, 'ARG');
    return {
      ...c.base,
      kind: 'ARG',
      args: splitRaw(c.r).map((w) => {
        const eq = w.indexOf('=');
        const name = eq < 0 ? w : w.slice(0, eq);
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw fail(c.line, `ARG: invalid name "${name}"`);
        return eq < 0 ? { name } : { name, default: w.slice(eq + 1) };
      }),
    };
  },
  EXPOSE: (c) => {
    need(c, 'EXPOSE');
    return { ...c.base, kind: 'EXPOSE', ports: splitRaw(c.r) };
  },
  COPY: (c) => copyLike('COPY', c),
  ADD: (c) => copyLike('ADD', c),
  WORKDIR: (c) => {
    need(c, 'WORKDIR');
    return { ...c.base, kind: 'WORKDIR', path: c.r };
  },
  USER: (c) => {
    need(c, 'USER');
    return { ...c.base, kind: 'USER', user: c.r };
  },
  VOLUME: (c) => {
    need(c, 'VOLUME');
    const a = jsonArray(c.r);
    const paths = a ?? splitRaw(c.r);
    if (paths.some((p) => !p.trim())) throw fail(c.line, 'VOLUME specified can not be an empty string');
    return { ...c.base, kind: 'VOLUME', paths, json: !!a };
  },
  HEALTHCHECK: (c) => {
    need(c, 'HEALTHCHECK');
    const m = /^(\S+)\s*([\s\S]*)$/.exec(c.r)!;
    const t = m[1].toUpperCase();
    if (t === 'NONE') {
      if (m[2].trim() || Object.keys(c.base.flags).length) throw fail(c.line, 'HEALTHCHECK NONE takes no arguments');
      return { ...c.base, kind: 'HEALTHCHECK', test: { type: 'NONE' } };
    }
    if (t !== 'CMD') throw fail(c.line, `HEALTHCHECK: unknown type "${m[1]}" (expected CMD or NONE)`);
    if (!m[2].trim()) throw fail(c.line, 'HEALTHCHECK CMD requires a command');
    for (const k of ['interval', 'timeout', 'start-period', 'start-interval']) {
      const v = c.base.flags[k];
      if (v !== undefined && parseDuration(v) === undefined) throw fail(c.line, `time: invalid duration "${v}"`, k);
    }
    const retries = c.base.flags.retries;
    if (retries !== undefined && !/^\d+$/.test(retries))
      throw fail(c.line, `HEALTHCHECK: --retries must be a non-negative integer, got "${retries}"`, 'retries');
    return { ...c.base, kind: 'HEALTHCHECK', test: { type: 'CMD', cmd: command(m[2]) } };
  },
  SHELL: (c) => {
    const a = jsonArray(c.r);
    if (!a || !a.length) throw fail(c.line, 'SHELL requires the arguments to be in JSON form');
    return { ...c.base, kind: 'SHELL', shell: a };
  },
  STOPSIGNAL: (c) => {
    if (splitRaw(c.r).length !== 1) throw fail(c.line, 'STOPSIGNAL requires exactly one argument');
    return { ...c.base, kind: 'STOPSIGNAL', signal: c.r };
  },
  ONBUILD: (c) => {
    need(c, 'ONBUILD');
    const inner = parseOne(c.r, c.line, c.heredocs, c.escape);
    if (['ONBUILD', 'FROM', 'MAINTAINER'].includes(inner.kind))
      throw fail(c.line, `${inner.kind} isn't allowed as an ONBUILD trigger`);
    return { ...c.base, kind: 'ONBUILD', trigger: c.r, inner };
  },
};

function copyLike(kind: 'COPY' | 'ADD', c: Ctx): Instruction {
  const a = jsonArray(c.r);
  const words = a ?? splitRaw(c.r);
  if (c.heredocs.length) {
    if (!words.length) throw fail(c.line, `${kind} requires a destination`);
  } else if (words.length < 2)
    throw fail(
      c.line,
      `${kind} requires at least two arguments, but only one was provided. Destination could not be determined.`,
    );
  return { ...c.base, kind, sources: words.slice(0, -1), dest: words[words.length - 1], heredocs: c.heredocs };
}

/** Go duration (`30s`, `1m30s`, `500ms`) → nanoseconds; undefined when invalid. */
export function parseDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const unit: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * unit[m[2]];
    pos = re.lastIndex;
  }
  return s.length ? Math.round(total) : undefined;
}

/** Parses a Dockerfile into global ARGs and stages. Errors name the line as dockerd does: `dockerfile parse error line 7: …`. */
export function parseDockerfile(src: string): Dockerfile {
  const { directives, escape, lines } = lex(src);
  const globalArgs: Extract<Instruction, { kind: 'ARG' }>[] = [];
  const stages: Stage[] = [];
  const names = new Set<string>();
  for (const l of lines) {
    let ins: Instruction;
    try {
      ins = parseOne(l.text, l.line, l.heredocs, escape);
    } catch (e) {
      if (isSkiffError(e) && !e.message.startsWith('dockerfile parse error line '))
        throw fail(l.line, `${l.text.split(/\s/)[0].toUpperCase()}: ${e.message}`);
      throw e;
    }
    if (ins.kind === 'FROM') {
      if (ins.alias) {
        if (names.has(ins.alias)) throw fail(l.line, `duplicate stage name "${ins.alias}"`);
        names.add(ins.alias);
      }
      stages.push({ index: stages.length, name: ins.alias, from: ins, instructions: [] });
    } else if (!stages.length) {
      if (ins.kind !== 'ARG')
        throw invalidArgument('no build stage in current context', { field: 'dockerfile', reason: 'DockerfileSyntax' });
      globalArgs.push(ins);
    } else stages[stages.length - 1].instructions.push(ins);
  }
  if (!stages.length) throw fail(lines.at(-1)?.line ?? 1, 'the Dockerfile has no FROM instruction');
  return { directives, escape, globalArgs, stages };
}
