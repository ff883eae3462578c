// kube-apiserver's command-line flags that Skiff's API server honours, given as k3s's
// `--kube-apiserver-arg NAME=VALUE` (repeatable): event-ttl. Any other flag is refused by name.
import { durationFlag, parseComponentFlags, type FlagSetters } from '../api/index.js';

export interface ApiServerTuning {
  /** Events are deleted this long after their last write (0: kept). */
  eventTtlMs?: number;
}

const SETTERS: FlagSetters<ApiServerTuning> = {
  'event-ttl': (o, f, v) => {
    o.eventTtlMs = durationFlag(f, v);
  },
};

/** Parses `NAME=VALUE` flags (a leading `--` allowed); throws with the flag's name on a bad one. */
export const parseApiServerArgs = (args: readonly string[]): ApiServerTuning =>
  parseComponentFlags('kube-apiserver', args, SETTERS);
