// The RBAC authorizer, with upstream's semantics: system:masters is always allowed; otherwise
// ClusterRoleBindings are visited, then the RoleBindings of the request's namespace (which may
// reference a Role there or a ClusterRole); the first rule that allows the request decides. There
// is no deny: a request no rule allows is not allowed (reason '' or the resolution errors).
// ClusterRoles with an aggregationRule grant the union of the rules of the ClusterRoles their
// selectors match (transitively), computed here instead of by a controller.
import { notFound } from '../../../common/index.js';
import type {
  Authorizer,
  ClusterRole,
  Decision,
  PolicyRule,
  RbacSource,
  RequestAttributes,
  ResolvedRules,
  Role,
  RoleBinding,
  RoleRef,
  Subject,
} from './rbac-types.js';
import { ruleAllows, ruleKey, selectorMatches } from './rbac-rules.js';
import { parseServiceAccountUsername } from './serviceaccount.js';
import { SUPERUSER_GROUP, type UserInfo } from './user.js';

/** Does a binding subject name this user? ServiceAccount subjects default to the binding's namespace. */
export function subjectMatches(subject: Subject, user: UserInfo, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === user.username;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      const ns = subject.namespace || bindingNamespace;
      const sa = parseServiceAccountUsername(user.username);
      return !!ns && !!sa && sa.namespace === ns && sa.name === subject.name;
    }
    default:
      return false;
  }
}

function describeSubject(s: Subject, bindingNamespace: string): string {
  if (s.kind === 'ServiceAccount') return `ServiceAccount "${s.namespace || bindingNamespace}/${s.name}"`;
  return `${s.kind} "${s.name}"`;
}

/** Resolves ClusterRole rules with aggregation, lazily: only the roles asked for (and what they
 *  aggregate) are computed, and each at most once. */
function aggregator(roles: ClusterRole[]): (name: string) => PolicyRule[] | undefined {
  const byName = new Map(roles.map((r) => [r.metadata.name ?? '', r]));
  const done = new Map<string, PolicyRule[]>();
  const visiting = new Set<string>();
  const resolve = (role: ClusterRole): PolicyRule[] => {
    const name = role.metadata.name ?? '';
    const cached = done.get(name);
    if (cached) return cached;
    const selectors = role.aggregationRule?.clusterRoleSelectors;
    if (!selectors || selectors.length === 0 || visiting.has(name)) {
      const own = role.rules ?? [];
      if (!visiting.has(name)) done.set(name, own);
      return own; // a cycle contributes the role's own rules and is not cached mid-walk
    }
    visiting.add(name);
    const seen = new Set<string>();
    const rules: PolicyRule[] = [];
    for (const other of roles) {
      if (other === role || !selectors.some((s) => selectorMatches(s, other.metadata.labels))) continue;
      for (const r of resolve(other)) {
        const k = ruleKey(r);
        if (!seen.has(k)) {
          seen.add(k);
          rules.push(r);
        }
      }
    }
    visiting.delete(name);
    done.set(name, rules);
    return rules;
  };
  return (name) => {
    const role = byName.get(name);
    return role ? resolve(role) : undefined;
  };
}

/** The rules of every ClusterRole, aggregation applied: name → rules (for showing them in objects). */
export function aggregateClusterRoles(roles: ClusterRole[]): Map<string, PolicyRule[]> {
  const get = aggregator(roles);
  return new Map(roles.map((r) => [r.metadata.name ?? '', get(r.metadata.name ?? '')!]));
}

// Indexes derived from the arrays a source returns; a cached source returns the same array until
// something changes, so these are computed once per change.
const aggregated = new WeakMap<ClusterRole[], (name: string) => PolicyRule[] | undefined>();
const rolesByName = new WeakMap<Role[], Map<string, Role>>();

function clusterRoleRules(roles: ClusterRole[], name: string): PolicyRule[] | undefined {
  let get = aggregated.get(roles);
  if (!get) {
    get = aggregator(roles);
    aggregated.set(roles, get);
  }
  return get(name);
}

function roleIndex(roles: Role[]): Map<string, Role> {
  let m = rolesByName.get(roles);
  if (!m) {
    m = new Map(roles.map((r) => [r.metadata.name ?? '', r]));
    rolesByName.set(roles, m);
  }
  return m;
}

type Visit = (source: string, rules: PolicyRule[]) => boolean; // return true to stop

export function createRbacAuthorizer(source: RbacSource): Authorizer {
  async function refRules(ref: RoleRef, namespace: string): Promise<PolicyRule[] | undefined> {
    if (ref.kind === 'ClusterRole') return clusterRoleRules(await source.listClusterRoles(), ref.name);
    if (ref.kind === 'Role' && namespace)
      return roleIndex(await source.listRoles(namespace)).get(ref.name)?.rules ?? undefined;
    return undefined;
  }

  /** Visits the rules of every binding that applies to the user; collects resolution errors. */
  async function visitRules(user: UserInfo, namespace: string, visit: Visit): Promise<string[]> {
    const errors: string[] = [];
    const walk = async (bindings: RoleBinding[], kind: string, ns: string): Promise<boolean> => {
      for (const b of bindings) {
        const subject = (b.subjects ?? []).find((s) => subjectMatches(s, user, ns));
        if (!subject) continue;
        const rules = await refRules(b.roleRef, ns);
        const name = ns ? `${b.metadata.name}/${ns}` : `${b.metadata.name}`;
        if (!rules) {
          errors.push(`${kind} "${name}" refers to ${b.roleRef.kind} "${b.roleRef.name}", which was not found`);
          continue;
        }
        if (
          visit(`${kind} "${name}" of ${b.roleRef.kind} "${b.roleRef.name}" to ${describeSubject(subject, ns)}`, rules)
        )
          return true;
      }
      return false;
    };
    if (await walk(await source.listClusterRoleBindings(), 'ClusterRoleBinding', '')) return errors;
    if (namespace) await walk(await source.listRoleBindings(namespace), 'RoleBinding', namespace);
    return errors;
  }

  return {
    async authorize(user: UserInfo, attrs: RequestAttributes): Promise<Decision> {
      if (user.groups.includes(SUPERUSER_GROUP)) return { allowed: true, reason: '' };
      let reason = '';
      const errors = await visitRules(user, attrs.resourceRequest ? (attrs.namespace ?? '') : '', (src, rules) => {
        if (!rules.some((r) => ruleAllows(attrs, r))) return false;
        reason = `RBAC: allowed by ${src}`;
        return true;
      });
      if (reason) return { allowed: true, reason };
      return { allowed: false, reason: errors.length ? `RBAC: ${errors.join('; ')}` : '' };
    },

    async rulesFor(user: UserInfo, namespace: string): Promise<ResolvedRules> {
      const rules: PolicyRule[] = [];
      const errors = await visitRules(user, namespace, (_src, r) => {
        rules.push(...r);
        return false;
      });
      return { rules, errors };
    },

    async roleRefRules(ref: RoleRef, namespace: string): Promise<PolicyRule[]> {
      const rules = await refRules(ref, namespace);
      if (!rules) {
        const resource = ref.kind === 'ClusterRole' ? 'clusterroles' : 'roles';
        throw notFound(`${resource}.rbac.authorization.k8s.io "${ref.name}" not found`, { field: 'roleRef.name' });
      }
      return rules;
    },
  };
}
