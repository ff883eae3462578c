// .dockerignore and COPY wildcards: Go filepath.Match semantics (`*` and `?` never cross `/`,
// `[a-z]`, `[^x]`, `\` escapes) plus `**` for any number of directories, `!` exceptions, last match
// wins, and a pattern matching a directory excludes everything below it. Hand-written: the npm glob
// libraries (minimatch, picomatch) follow bash rules (braces, extglobs, dotfiles), not Go's.
import { posix } from 'node:path';
import { invalidArgument } from '../../common/index.js';

/** Go filepath.Match pattern (with `**`) → anchored RegExp over a `/`-separated path. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0)
        throw invalidArgument(`syntax error in pattern ${JSON.stringify(pattern)}: unterminated [`, {
          field: 'pattern',
        });
      let cls = pattern.slice(i + 1, end);
      let neg = false;
      if (cls.startsWith('^')) {
        neg = true;
        cls = cls.slice(1);
      }
      re += `[${neg ? '^' : ''}${cls.replace(/[\]\\]/g, (x) => '\\' + x)}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]);
    else re += escapeRe(c);
  }
  return new RegExp(`^${re}$`);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

export function hasMagic(p: string): boolean {
  return /[*?[\\]/.test(p);
}

interface Rule {
  re: RegExp;
  negate: boolean;
  pattern: string;
}

export class IgnoreMatcher {
  private readonly rules: Rule[];
  constructor(patterns: readonly string[]) {
    this.rules = [];
    for (let raw of patterns) {
      raw = raw.trim();
      if (!raw || raw.startsWith('#')) continue;
      let negate = false;
      if (raw.startsWith('!')) {
        negate = true;
        raw = raw.slice(1).trim();
      }
      let p = posix.normalize(raw).replace(/^\/+/, '').replace(/\/+$/, '');
      if (p === '.' || p === '') p = '.';
      this.rules.push({ re: globToRegExp(p), negate, pattern: p });
    }
  }

  get patterns(): string[] {
    return this.rules.map((r) => (r.negate ? '!' : '') + r.pattern);
  }

  /** True when `rel` (a `/`-separated path relative to the context) is excluded. */
  ignores(rel: string): boolean {
    const path = posix.normalize(rel).replace(/^\/+/, '');
    const parts = path.split('/');
    let excluded = false;
    for (const r of this.rules) {
      let hit = r.re.test(path);
      // A pattern matching a parent directory matches its children.
      for (let i = 1; !hit && i < parts.length; i++) hit = r.re.test(parts.slice(0, i).join('/'));
      if (hit) excluded = !r.negate;
    }
    return excluded;
  }

  /** Whether an excluded directory is still walked, as the docker CLI's context walker does: only
   *  when an exception pattern starts with its path (`!dir/keep` reaches into `dir`; a wildcard
   *  exception such as `!**\/keep` does not). The directory itself then comes only with what an
   *  exception keeps inside it. */
  walksInto(dir: string): boolean {
    const d = `${posix.normalize(dir).replace(/^\/+/, '').replace(/\/+$/, '')}/`;
    return this.rules.some((r) => r.negate && `${r.pattern}/`.startsWith(d));
  }
}

/** Parses a .dockerignore file's text. */
export function parseDockerignore(text: string): IgnoreMatcher {
  return new IgnoreMatcher(text.split(/\r?\n/));
}
