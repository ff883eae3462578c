// DefaultTolerationSeconds (upstream's plugin): a new Pod that does not already tolerate the
// node.kubernetes.io/not-ready and unreachable NoExecute taints gets tolerations for them with
// tolerationSeconds 300, so a node failure evicts it after five minutes (not at once).
import type { AdmissionPlugin } from './types.js';
import { isResource } from './types.js';

export const DEFAULT_TOLERATION_SECONDS = 300;
const NOT_READY = 'node.kubernetes.io/not-ready';
const UNREACHABLE = 'node.kubernetes.io/unreachable';

interface Toleration {
  key?: string;
  operator?: string;
  effect?: string;
  tolerationSeconds?: number;
}

const tolerates = (ts: Toleration[], key: string) =>
  ts.some((t) => (t.key === key || !t.key) && (t.effect === 'NoExecute' || !t.effect));

export function defaultTolerationSeconds(seconds = DEFAULT_TOLERATION_SECONDS): AdmissionPlugin {
  return {
    name: 'DefaultTolerationSeconds',
    admit(a) {
      if (a.operation !== 'CREATE' || !isResource(a, '', 'pods') || !a.object) return;
      const spec = (a.object.spec ?? {}) as { tolerations?: Toleration[] };
      const ts = Array.isArray(spec.tolerations) ? spec.tolerations : [];
      const add: Toleration[] = [];
      for (const key of [NOT_READY, UNREACHABLE])
        if (!tolerates(ts, key)) add.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds });
      if (add.length) a.object.spec = { ...spec, tolerations: [...ts, ...add] };
    },
  };
}
