// kubelet's command-line flags that the node agent honours, given as k3s's `--kubelet-arg
// NAME=VALUE` (repeatable, a leading `--` allowed): max-pods, the container log rotation
// (container-log-max-size, container-log-max-files) and node-status-update-frequency. Any other
// flag is refused by name, so a mistyped or unsupported flag never goes unnoticed.
import { invalidArgument } from '../../common/index.js';
import { parseGoDuration, parseQuantity, quantityValue } from '../api/index.js';
import type { AgentOptions } from './agent.js';
import { DEFAULT_ROTATION } from './logs/rotate.js';

export type KubeletTunables = Pick<AgentOptions, 'maxPods' | 'rotation' | 'nodeStatusMs'>;

const integer = (flag: string, v: string, min: number): number => {
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n))
    throw invalidArgument(`invalid value "${v}" for flag --${flag}: parse error`);
  if (n < min) throw invalidArgument(`--${flag} must be at least ${min}, got ${v}`);
  return n;
};

const SETTERS: Record<string, (o: KubeletTunables, flag: string, v: string) => void> = {
  'max-pods': (o, f, v) => {
    o.maxPods = integer(f, v, 1);
  },
  'container-log-max-size': (o, f, v) => {
    let bytes: number;
    try {
      bytes = Number(quantityValue(parseQuantity(v)));
    } catch {
      throw invalidArgument(`invalid value "${v}" for flag --${f}: a quantity (10Mi) is expected`);
    }
    if (!(bytes > 0)) throw invalidArgument(`--${f} must be greater than 0, got "${v}"`);
    o.rotation = { ...(o.rotation ?? DEFAULT_ROTATION), maxBytes: bytes };
  },
  'container-log-max-files': (o, f, v) => {
    // kubelet's validation: at least 2 (the live file and one rotated)
    o.rotation = { ...(o.rotation ?? DEFAULT_ROTATION), maxFiles: integer(f, v, 2) };
  },
  'node-status-update-frequency': (o, f, v) => {
    let ms: number;
    try {
      ms = parseGoDuration(v);
    } catch {
      throw invalidArgument(`invalid value "${v}" for flag --${f}: parse error`);
    }
    if (ms <= 0) throw invalidArgument(`--${f} must be greater than 0, got "${v}"`);
    o.nodeStatusMs = ms;
  },
};

export const KUBELET_FLAGS = Object.keys(SETTERS);

/** Parses `NAME=VALUE` kubelet flags; throws with the flag's name on an unknown or bad one. */
export function parseKubeletArgs(args: readonly string[]): KubeletTunables {
  const out: KubeletTunables = {};
  for (const a of args) {
    const i = a.indexOf('=');
    const name = (i < 0 ? a : a.slice(0, i)).replace(/^--?/, '');
    const set = SETTERS[name];
    if (!set) throw invalidArgument(`unknown kubelet flag "${name}" (known: ${KUBELET_FLAGS.join(', ')})`);
    if (i < 0) throw invalidArgument(`flag --${name} needs a value (${name}=VALUE)`);
    set(out, name, a.slice(i + 1));
  }
  return out;
}
