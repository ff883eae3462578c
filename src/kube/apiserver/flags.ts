// kube-apiserver's command-line flags that Skiff's API server honours, given as k3s's
// `--kube-apiserver-arg NAME=VALUE` (repeatable): event-ttl. Any other flag is refused by name, so
// a mistyped flag never goes unnoticed.
import { invalidArgument } from '../../common/index.js';
import { parseGoDuration } from '../api/index.js';

export interface ApiServerTuning {
  /** Events are deleted this long after their last write (0: kept). */
  eventTtlMs?: number;
}

const SETTERS: Record<string, (o: ApiServerTuning, flag: string, v: string) => void> = {
  'event-ttl': (o, f, v) => {
    let ms: number;
    try {
      ms = parseGoDuration(v);
    } catch {
      throw invalidArgument(`invalid value "${v}" for flag --${f}: parse error`);
    }
    if (ms < 0) throw invalidArgument(`--${f} must not be negative, got "${v}"`);
    o.eventTtlMs = ms;
  },
};

/** Parses `NAME=VALUE` flags (a leading `--` allowed); throws with the flag's name on a bad one. */
export function parseApiServerArgs(args: readonly string[]): ApiServerTuning {
  const out: ApiServerTuning = {};
  for (const a of args) {
    const i = a.indexOf('=');
    const name = (i < 0 ? a : a.slice(0, i)).replace(/^--?/, '');
    const set = SETTERS[name];
    if (!set)
      throw invalidArgument(`unknown kube-apiserver flag "${name}" (known: ${Object.keys(SETTERS).join(', ')})`);
    if (i < 0) throw invalidArgument(`flag --${name} needs a value (${name}=VALUE)`);
    set(out, name, a.slice(i + 1));
  }
  return out;
}
