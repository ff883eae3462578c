// Flag parsing for the client verbs: node:util parseArgs, plus Docker's convention that flags end
// at the first positional for verbs that take a command (`run IMAGE CMD...`, `exec C CMD...`), and
// the global `--host/-H`.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export type Spec = NonNullable<ParseArgsConfig['options']>;
export const HOST_FLAG: Spec = { host: { type: 'string', short: 'H' } };

export class UsageError extends Error {}

/** Parses `argv`; with `stopAtPositional`, everything from the first positional on is left alone. */
export function parse(argv: string[], spec: Spec, o: { stopAtPositional?: boolean } = {}) {
  const options: Spec = { ...HOST_FLAG, help: { type: 'boolean' }, ...spec };
  let flags = argv;
  let rest: string[] = [];
  if (o.stopAtPositional) {
    const takesValue = (tok: string): boolean => {
      if (tok.startsWith('--')) {
        if (tok.includes('=')) return false;
        return options[tok.slice(2)]?.type === 'string';
      }
      const last = tok[tok.length - 1];
      return Object.values(options).some((x) => x.short === last && x.type === 'string') && !tok.slice(1).includes('=');
    };
    let i = 0;
    for (; i < argv.length; i++) {
      const t = argv[i];
      if (t === '--') {
        i++;
        break;
      }
      if (!t.startsWith('-') || t === '-') break;
      if (takesValue(t)) i++;
    }
    flags = argv.slice(0, i).filter((t) => t !== '--');
    rest = argv.slice(i);
  }
  try {
    const r = parseArgs({ args: flags, options, allowPositionals: true, strict: true });
    return {
      values: r.values as Record<string, string | boolean | string[] | boolean[] | undefined>,
      positionals: [...r.positionals, ...rest],
    };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : []);

/** `--filter k=v` repeated → Docker's filters JSON. */
export function filtersJson(items: string[]): string | undefined {
  if (!items.length) return undefined;
  const f: Record<string, string[]> = {};
  for (const it of items) {
    const i = it.indexOf('=');
    if (i <= 0) throw new UsageError(`bad format of filter (expected name=value): ${it}`);
    (f[it.slice(0, i)] ??= []).push(it.slice(i + 1));
  }
  return JSON.stringify(f);
}
