// kubelet's command-line flags that the node agent honours, given as k3s's `--kubelet-arg
// NAME=VALUE` (repeatable, a leading `--` allowed): max-pods, the container log rotation
// (container-log-max-size, container-log-max-files) and node-status-update-frequency. Any other
// flag is refused by name, so a mistyped or unsupported flag never goes unnoticed.
import { invalidArgument } from '../../common/index.js';
import { durationFlag, parseComponentFlags, parseQuantity, quantityValue, type FlagSetters } from '../api/index.js';
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

const SETTERS: FlagSetters<KubeletTunables> = {
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
    o.nodeStatusMs = durationFlag(f, v, 1);
  },
};

export const KUBELET_FLAGS = Object.keys(SETTERS);

/** Parses `NAME=VALUE` kubelet flags; throws with the flag's name on an unknown or bad one. */
export const parseKubeletArgs = (args: readonly string[]): KubeletTunables =>
  parseComponentFlags('kubelet', args, SETTERS);
