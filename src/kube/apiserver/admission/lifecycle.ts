// NamespaceLifecycle (upstream's plugin of that name, always first in the chain): the system's
// namespaces may not be deleted; a namespaced object may be written only into a namespace that
// exists, and not created in one that is terminating. Namespaces come from the server's cache
// of them, with a store read when the cache has not seen one yet.
import { errForbidden, errNotFound } from '../status.js';
import type { AdmissionAttributes, AdmissionPlugin } from './types.js';

const IMMORTAL = new Set(['default', 'kube-system', 'kube-public']);
/** Kinds that are namespaced in the URL but never stored (access reviews): nothing to protect. */
const REVIEWS = new Set(['localsubjectaccessreviews']);

export const namespaceLifecycle: AdmissionPlugin = {
  name: 'NamespaceLifecycle',
  async admit(a: AdmissionAttributes) {
    const isNamespace = a.def.group === '' && a.def.plural === 'namespaces' && !a.def.custom;
    if (isNamespace) {
      if (a.operation === 'DELETE' && IMMORTAL.has(a.name ?? ''))
        throw errForbidden(`namespaces "${a.name}" is forbidden: this namespace may not be deleted`, {
          resource: 'namespaces',
          name: a.name,
        });
      return;
    }
    if (!a.def.namespaced || !a.namespace || a.operation === 'DELETE' || REVIEWS.has(a.def.plural)) return;
    const ns = await a.reader.get('', 'namespaces', undefined, a.namespace);
    if (!ns) throw errNotFound({ resource: 'namespaces', name: a.namespace });
    const terminating =
      Boolean(ns.metadata.deletionTimestamp) || (ns.status as { phase?: string } | undefined)?.phase === 'Terminating';
    if (a.operation === 'CREATE' && terminating) {
      const resource = `${a.def.plural}${a.def.group ? `.${a.def.group}` : ''}`;
      const e = errForbidden(
        `${resource} "${a.name ?? ''}" is forbidden: unable to create new content in namespace ${a.namespace} because it is being terminated`,
        { resource: a.def.plural, group: a.def.group, name: a.name },
      );
      e.details!.causes = [
        {
          reason: 'NamespaceTerminating',
          message: `namespace ${a.namespace} is being terminated`,
          field: 'metadata.namespace',
        },
      ];
      throw e;
    }
  },
};
