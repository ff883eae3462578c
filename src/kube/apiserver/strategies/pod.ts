// Pods: created Pending with the QoS class of their final spec (after admission, e.g.
// LimitRanger's defaults, changed the resources), as upstream's PrepareForCreate. Deleted
// gracefully as upstream's CheckGracefulDelete: a pod bound to a node waits (deletionTimestamp =
// now + grace) until its node's agent has stopped it and deletes it with grace 0; updates do not
// complete such a deletion (shouldDeleteDuringUpdate). Writes through pods/ephemeralcontainers
// may only add ephemeral containers (upstream's ValidatePodEphemeralContainersUpdate).
import { qosClass, validateEphemeralContainersUpdate } from '../../api/index.js';
import type { Strategy } from '../pipeline/strategy.js';

export const podStrategy: Strategy = {
  prepareForCreate(obj) {
    obj.status = { phase: 'Pending', qosClass: qosClass((obj.spec ?? {}) as Record<string, unknown>) };
  },
  gracePeriod(obj, requested) {
    const spec = (obj.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
    const phase = (obj.status as { phase?: string } | undefined)?.phase;
    if (!spec.nodeName || phase === 'Succeeded' || phase === 'Failed') return 0;
    const g = requested ?? spec.terminationGracePeriodSeconds ?? 0;
    return !Number.isFinite(g) || g < 0 ? 1 : Math.floor(g);
  },
  validate(obj, old, w) {
    if (w.subresource !== 'ephemeralcontainers' || !old) return [];
    return validateEphemeralContainersUpdate(
      (obj.spec ?? {}) as Record<string, unknown>,
      (old.spec ?? {}) as Record<string, unknown>,
    );
  },
  deletionPending: (obj) => (obj.metadata.deletionGracePeriodSeconds ?? 0) > 0,
};
