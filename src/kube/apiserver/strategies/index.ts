// The strategies of the built-in kinds that need one, by group/plural; every other kind (and
// every custom resource) uses the generic strategy.
import type { ResourceDefinition } from '../../api/index.js';
import { GENERIC, type Strategy } from '../pipeline/strategy.js';
import { namespaceStrategy } from './namespace.js';
import { podStrategy } from './pod.js';
import { serviceStrategy } from './service.js';
import { csrStrategy } from './csr.js';

const BUILTIN: Record<string, Strategy> = {
  '/namespaces': namespaceStrategy,
  '/services': serviceStrategy,
  '/pods': podStrategy,
  'certificates.k8s.io/certificatesigningrequests': csrStrategy,
  // A kubelet registers its Node with capacity and conditions (upstream keeps status on create).
  '/nodes': { keepStatusOnCreate: true },
};

export function strategyFor(def: ResourceDefinition): Strategy {
  if (def.custom) return GENERIC;
  return BUILTIN[`${def.group}/${def.plural}`] ?? GENERIC;
}
