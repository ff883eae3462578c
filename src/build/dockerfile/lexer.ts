// Dockerfile lexer: parser directives, comments, line continuations and heredocs → logical lines.
// Hand-written: the rules (directives only at the top, comments and blank lines dropped inside
// continuations, heredoc bodies read raw after the line that opens them) are Dockerfile-specific and
// no maintained npm library implements them.
import { invalidArgument } from '../../common/index.js';
import type { Heredoc } from './ast.js';

export interface LogicalLine {
  line: number;
  text: string;
  heredocs: Heredoc[];
}
export interface Lexed {
  directives: Record<string, string>;
  escape: string;
  lines: LogicalLine[];
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*?)\s*$/;
const HEREDOC = /<<(-?)\s*(["']?)([A-Za-z_][A-Za-z0-9_.-]*)\2/g;
const HEREDOC_INSTRUCTIONS = new Set(['RUN', 'COPY', 'ADD']);

/** A parse error in dockerd's words: `dockerfile parse error line N: …`. */
export function fail(line: number, msg: string, field = 'dockerfile'): Error {
  return invalidArgument(`dockerfile parse error line ${line}: ${msg}`, { field, reason: 'DockerfileSyntax' });
}

export function lex(src: string): Lexed {
  const raw = src.replace(/^\uFEFF/, '').split(/\r?\n/);
  const directives: Record<string, string> = {};
  let i = 0;
  // Parser directives: `# key=value` lines at the very top; the first other line ends them.
  for (; i < raw.length; i++) {
    const m = DIRECTIVE.exec(raw[i]);
    if (!m) break;
    const key = m[1].toLowerCase();
    if (key in directives) throw fail(i + 1, `only one ${key} parser directive can be used`);
    directives[key] = m[2];
  }
  const escape = directives.escape ?? '\\';
  if (escape !== '\\' && escape !== '`') throw fail(1, `invalid escape token '${escape}': must be \` or \\`);
  const contRe = new RegExp(`${escape === '\\' ? '\\\\' : '`'}[ \\t]*$`);
  const lines: LogicalLine[] = [];
  while (i < raw.length) {
    const start = i;
    const first = raw[i++];
    if (/^\s*(#|$)/.test(first)) continue;
    let text = first;
    let lastLine = start + 1;
    // Continuations: comment lines and blank lines inside them are dropped.
    while (contRe.test(text)) {
      text = text.replace(contRe, '');
      let next: string | undefined;
      while (i < raw.length) {
        const l = raw[i++];
        if (/^\s*#/.test(l) || /^\s*$/.test(l)) continue;
        next = l;
        lastLine = i;
        break;
      }
      if (next === undefined) break;
      text += next;
    }
    void lastLine;
    const heredocs: Heredoc[] = [];
    const word = /^\s*(\S+)/.exec(text)?.[1]?.toUpperCase() ?? '';
    const kw = word === 'ONBUILD' ? (/^\s*\S+\s+(\S+)/.exec(text)?.[1]?.toUpperCase() ?? '') : word;
    if (HEREDOC_INSTRUCTIONS.has(kw)) {
      for (const m of text.matchAll(HEREDOC)) {
        const [, dash, quote, name] = m;
        const body: string[] = [];
        let closed = false;
        while (i < raw.length) {
          let l = raw[i++];
          if (dash) l = l.replace(/^\t+/, '');
          if (l === name) {
            closed = true;
            break;
          }
          body.push(l);
        }
        if (!closed) throw fail(start + 1, `unterminated heredoc <<${dash}${name}: no line "${name}" follows`);
        heredocs.push({ name, content: body.length ? body.join('\n') + '\n' : '', expand: !quote, chomp: !!dash });
      }
    }
    lines.push({ line: start + 1, text: text.trim(), heredocs });
  }
  return { directives, escape, lines };
}
