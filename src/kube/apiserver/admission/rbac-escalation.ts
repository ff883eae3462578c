// RBAC writes may not grant more than their writer holds (upstream enforces this in the RBAC
// registry's strategies; here it is a validating plugin over the auth module's escalation check):
// creating or updating a Role, ClusterRole, RoleBinding or ClusterRoleBinding is refused with
// upstream's message unless the user holds every rule, has `escalate`/`bind`, or is a master.
import { type Authorizer, checkRbacWrite } from '../auth/index.js';
import { errForbidden } from '../status.js';
import type { AdmissionPlugin } from './types.js';

export function rbacEscalation(authorizer: Authorizer): AdmissionPlugin {
  return {
    name: 'RBACEscalation',
    async validate(a) {
      if (!a.user || !a.object || a.operation === 'DELETE' || a.def.custom) return;
      const d = await checkRbacWrite(authorizer, a.user, {
        op: a.operation === 'CREATE' ? 'create' : 'update',
        group: a.def.group,
        kind: a.def.kind,
        object: a.object,
        old: a.oldObject,
      });
      if (!d.allowed)
        throw errForbidden(`${a.def.plural}.${a.def.group} "${a.name ?? ''}" is forbidden: ${d.reason}`, {
          resource: a.def.plural,
          group: a.def.group,
          name: a.name,
        });
    },
  };
}
