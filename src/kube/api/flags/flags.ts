// The `--<component>-arg NAME=VALUE` flags k3s passes to kubelet, kube-apiserver and
// kube-controller-manager (repeatable, a leading `--` allowed): each component names the flags it
// honours with a setter; any other flag is refused by name, so a mistyped or unsupported flag
// never goes unnoticed.
import { invalidArgument } from '../../../common/index.js';
import { parseGoDuration } from '../cron/cron.js';

export type FlagSetters<T> = Record<string, (out: T, flag: string, value: string) => void>;

/** Parses `NAME=VALUE` flags of `component` (e.g. "kubelet") through `setters`. */
export function parseComponentFlags<T extends object>(
  component: string,
  args: readonly string[],
  setters: FlagSetters<T>,
): T {
  const out = {} as T;
  for (const a of args) {
    const i = a.indexOf('=');
    const name = (i < 0 ? a : a.slice(0, i)).replace(/^--?/, '');
    const set = setters[name];
    if (!set) throw invalidArgument(`unknown ${component} flag "${name}" (known: ${Object.keys(setters).join(', ')})`);
    if (i < 0) throw invalidArgument(`flag --${name} needs a value (${name}=VALUE)`);
    set(out, name, a.slice(i + 1));
  }
  return out;
}

/** A Go duration flag's value in ms, at least `min` (0: zero allowed; 1: must be positive). */
export function durationFlag(flag: string, value: string, min = 0): number {
  let ms: number;
  try {
    ms = parseGoDuration(value);
  } catch {
    throw invalidArgument(`invalid value "${value}" for flag --${flag}: parse error`);
  }
  if (min > 0 && ms <= 0) throw invalidArgument(`--${flag} must be greater than 0, got "${value}"`);
  if (ms < 0) throw invalidArgument(`--${flag} must not be negative, got "${value}"`);
  return ms;
}
