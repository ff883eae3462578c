// The Pod Security Standards' checks (upstream's k8s.io/pod-security-admission/policy), each with
// upstream's ID, level, reason and detail wording, evaluated on a pod's metadata and spec, in
// upstream's order. Restricted checks that supersede a baseline one (capabilities, seccomp,
// volume types) replace it at the restricted level.
import {
  appArmor,
  capabilitiesBaseline,
  hostNamespaces,
  hostPathVolumes,
  hostPorts,
  hostProcess,
  privileged,
  procMount,
  seccompBaseline,
  seLinux,
  sysctls,
} from './baseline.js';
import type { Check, Level, Obj, Violation } from './helpers.js';
import {
  allowPrivilegeEscalation,
  capabilitiesRestricted,
  restrictedVolumes,
  runAsNonRoot,
  runAsUser,
  seccompRestricted,
} from './restricted.js';

export type { Level, Violation } from './helpers.js';

const byId = (a: Check, b: Check) => (a.id < b.id ? -1 : 1);
const BASELINE = [
  hostProcess,
  hostNamespaces,
  privileged,
  capabilitiesBaseline,
  hostPathVolumes,
  hostPorts,
  appArmor,
  seLinux,
  procMount,
  seccompBaseline,
  sysctls,
].sort(byId);
const RESTRICTED = [
  restrictedVolumes,
  allowPrivilegeEscalation,
  runAsNonRoot,
  runAsUser,
  seccompRestricted,
  capabilitiesRestricted,
].sort(byId);

/** The checks of a level, in upstream's order: baseline checks by ID, then restricted ones by ID. */
export function checksFor(level: Level): Check[] {
  if (level === 'privileged') return [];
  if (level === 'baseline') return BASELINE;
  const overridden = new Set(RESTRICTED.flatMap((c) => c.overrides ?? []));
  return [...BASELINE.filter((c) => !overridden.has(c.id)), ...RESTRICTED];
}

/** The violations of a pod (metadata + spec) at a level and policy version (minor of 1.x). */
export function evaluatePod(level: Level, minor: number, meta: Obj, spec: Obj): Violation[] {
  const out: Violation[] = [];
  for (const c of checksFor(level)) {
    const v = c.run(meta ?? {}, spec ?? {}, minor);
    if (v) out.push(v);
  }
  return out;
}

/** Upstream's ForbiddenDetail: `reason (detail), reason (detail)`. */
export const describe = (vs: Violation[]) =>
  vs.map((v) => (v.detail ? `${v.reason} (${v.detail})` : v.reason)).join(', ');
