// Privilege-escalation prevention for RBAC writes, as upstream's RBAC storage does it: a user may
// create or update a Role/ClusterRole only with rules they already hold (in that namespace), or
// with the `escalate` verb on it; a RoleBinding/ClusterRoleBinding only to a role whose rules they
// hold, or with the `bind` verb on that role. system:masters may do anything; setting an
// aggregationRule needs full (cluster-admin) authority. The API server calls checkEscalation()
// before writing roles, clusterroles, rolebindings and clusterrolebindings (create and update).
import { describeRule, uncoveredRules, ruleKey } from './rbac-rules.js';
import {
  RBAC_GROUP,
  type Authorizer,
  type ClusterRole,
  type Decision,
  type PolicyRule,
  type RoleBinding,
  type RoleRef,
} from './rbac-types.js';
import { SUPERUSER_GROUP, type UserInfo } from './user.js';

const FULL_AUTHORITY: PolicyRule[] = [
  { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
  { verbs: ['*'], nonResourceURLs: ['*'] },
];

export type EscalationRequest =
  | { kind: 'Role' | 'ClusterRole'; object: ClusterRole; old?: ClusterRole }
  | { kind: 'RoleBinding' | 'ClusterRoleBinding'; object: RoleBinding; old?: RoleBinding };

function sameRules(a: PolicyRule[] | null | undefined, b: PolicyRule[] | null | undefined): boolean {
  const ka = (a ?? []).map(ruleKey).sort();
  const kb = (b ?? []).map(ruleKey).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

function sameRef(a: RoleRef, b: RoleRef): boolean {
  return a.kind === b.kind && a.name === b.name && (a.apiGroup ?? RBAC_GROUP) === (b.apiGroup ?? RBAC_GROUP);
}

async function confirmNoEscalation(
  authorizer: Authorizer,
  user: UserInfo,
  namespace: string,
  wanted: PolicyRule[],
): Promise<Decision> {
  const { rules: owned, errors } = await authorizer.rulesFor(user, namespace);
  const missing = uncoveredRules(owned, wanted);
  if (missing.length === 0) return { allowed: true, reason: '' };
  let reason =
    `user ${JSON.stringify(user.username)} (groups=${JSON.stringify(user.groups)}) is attempting to grant RBAC permissions not currently held:\n` +
    missing.map(describeRule).join('\n');
  if (errors.length) reason += `; resolution errors: [${errors.join(' ')}]`;
  return { allowed: false, reason };
}

/** Whether `user` may write this RBAC object. A denial's reason is the message for a 403
 *  Forbidden Status; a binding to a missing role (without `bind`) throws NotFound as upstream. */
export async function checkEscalation(
  authorizer: Authorizer,
  user: UserInfo,
  req: EscalationRequest,
): Promise<Decision> {
  if (user.groups.includes(SUPERUSER_GROUP)) return { allowed: true, reason: '' };
  const namespace = req.kind === 'Role' || req.kind === 'RoleBinding' ? (req.object.metadata.namespace ?? '') : '';

  if (req.kind === 'Role' || req.kind === 'ClusterRole') {
    const role = req.object;
    const aggregates = req.kind === 'ClusterRole' && !!role.aggregationRule?.clusterRoleSelectors?.length;
    const oldAggregates = !!req.old?.aggregationRule?.clusterRoleSelectors?.length;
    if (
      req.old &&
      sameRules(req.old.rules, role.rules) &&
      JSON.stringify(req.old.aggregationRule ?? null) === JSON.stringify(role.aggregationRule ?? null)
    ) {
      return { allowed: true, reason: '' }; // nothing granted changes (labels, annotations…)
    }
    const escalate = await authorizer.authorize(user, {
      resourceRequest: true,
      verb: 'escalate',
      apiGroup: RBAC_GROUP,
      resource: req.kind === 'Role' ? 'roles' : 'clusterroles',
      namespace,
      name: role.metadata.name ?? '',
    });
    if (escalate.allowed) return { allowed: true, reason: '' };
    const d = await confirmNoEscalation(authorizer, user, namespace, role.rules ?? []);
    if (!d.allowed) return d;
    if (
      aggregates &&
      !(oldAggregates && JSON.stringify(req.old?.aggregationRule) === JSON.stringify(role.aggregationRule))
    ) {
      const full = await confirmNoEscalation(authorizer, user, '', FULL_AUTHORITY);
      if (!full.allowed)
        return { allowed: false, reason: 'must have cluster-admin privileges to use the aggregationRule' };
    }
    return d;
  }

  const { object: b, old } = req as Extract<EscalationRequest, { object: RoleBinding }>;
  if (old && sameRef(old.roleRef, b.roleRef)) {
    // Changing only subjects of an existing binding still grants the role to new subjects: check.
    const oldSubjects = JSON.stringify(old.subjects ?? []);
    if (oldSubjects === JSON.stringify(b.subjects ?? [])) return { allowed: true, reason: '' };
  }
  const bind = await authorizer.authorize(user, {
    resourceRequest: true,
    verb: 'bind',
    apiGroup: RBAC_GROUP,
    resource: b.roleRef.kind === 'Role' ? 'roles' : 'clusterroles',
    namespace,
    name: b.roleRef.name,
  });
  if (bind.allowed) return { allowed: true, reason: '' };
  const rules = await authorizer.roleRefRules(b.roleRef, namespace);
  return confirmNoEscalation(authorizer, user, namespace, rules);
}

const RBAC_KINDS = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);

/** The escalation check as a write hook: for creates and updates of the four RBAC kinds it runs
 *  checkEscalation; anything else (other kinds, deletes) is allowed. The server answers a denial
 *  with 403 Forbidden, the reason as message (`forbiddenStatus(user, attrs, reason)` fits). */
export async function checkRbacWrite(
  authorizer: Authorizer,
  user: UserInfo,
  w: { op: 'create' | 'update' | 'delete'; group: string; kind: string; object: unknown; old?: unknown },
): Promise<Decision> {
  if (w.op === 'delete' || w.group !== RBAC_GROUP || !RBAC_KINDS.has(w.kind)) return { allowed: true, reason: '' };
  return checkEscalation(authorizer, user, { kind: w.kind, object: w.object, old: w.old } as EscalationRequest);
}
