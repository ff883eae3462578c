// Pods: created Pending with the QoS class of their final spec (after admission, e.g.
// LimitRanger's defaults, changed the resources), as upstream's PrepareForCreate.
import { qosClass } from '../../api/index.js';
import type { Strategy } from '../pipeline/strategy.js';

export const podStrategy: Strategy = {
  prepareForCreate(obj) {
    obj.status = { phase: 'Pending', qosClass: qosClass((obj.spec ?? {}) as Record<string, unknown>) };
  },
};
