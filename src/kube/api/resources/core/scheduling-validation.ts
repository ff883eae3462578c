// Validation of a PodSpec's scheduling constraints (node and pod affinity, topology spread) and
// security contexts, as upstream's ValidateAffinity / validateTopologySpreadConstraints /
// ValidatePodSecurityContext do it.
import type { FieldError } from '../../types.js';
import { forbidden, invalid, notSupported, required } from '../../validation/errors.js';
import { asArr, asObj, validateLabelSelector, type Obj } from '../../validation/fields.js';
import { isQualifiedName } from '../../validation/names.js';

function validateNodeSelectorRequirement(r: Obj, p: string, field = false): FieldError[] {
  const errs: FieldError[] = [];
  const vals = asArr(r?.values);
  switch (r?.operator) {
    case 'In':
    case 'NotIn':
      if (!vals.length) errs.push(required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (vals.length)
        errs.push(forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      break;
    case 'Gt':
    case 'Lt':
      if (vals.length !== 1)
        errs.push(required(`${p}.values`, "must be specified single value when `operator` is 'Lt' or 'Gt'"));
      break;
    default:
      errs.push(invalid(`${p}.operator`, r?.operator ?? '', 'not a valid selector operator'));
  }
  if (!field) errs.push(...isQualifiedName(String(r?.key ?? '')).map((m) => invalid(`${p}.key`, r?.key ?? '', m)));
  else if (r?.key !== 'metadata.name') errs.push(invalid(`${p}.key`, r?.key ?? '', 'not a valid field selector key'));
  return errs;
}

function validateNodeSelectorTerm(t: Obj, p: string): FieldError[] {
  return [
    ...asArr(t?.matchExpressions).flatMap((r: Obj, i: number) =>
      validateNodeSelectorRequirement(r, `${p}.matchExpressions[${i}]`),
    ),
    ...asArr(t?.matchFields).flatMap((r: Obj, i: number) =>
      validateNodeSelectorRequirement(r, `${p}.matchFields[${i}]`, true),
    ),
  ];
}

function weight(w: unknown, p: string): FieldError[] {
  return typeof w === 'number' && w >= 1 && w <= 100 ? [] : [invalid(p, w ?? 0, 'must be in the range 1-100')];
}

function validatePodAffinityTerm(t: Obj, p: string): FieldError[] {
  const errs = [
    ...validateLabelSelector(t?.labelSelector, `${p}.labelSelector`),
    ...validateLabelSelector(t?.namespaceSelector, `${p}.namespaceSelector`),
  ];
  if (!t?.topologyKey) errs.push(required(`${p}.topologyKey`, 'can not be empty'));
  else errs.push(...isQualifiedName(t.topologyKey).map((m) => invalid(`${p}.topologyKey`, t.topologyKey, m)));
  return errs;
}

export function validateAffinity(aff: unknown, path: string): FieldError[] {
  const a = asObj(aff);
  if (!a) return [];
  const errs: FieldError[] = [];
  const na = asObj(a.nodeAffinity);
  if (na) {
    const req = asObj(na.requiredDuringSchedulingIgnoredDuringExecution);
    if (req) {
      const terms = asArr(req.nodeSelectorTerms);
      if (!terms.length)
        errs.push(
          required(
            `${path}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`,
            'must have at least one node selector term',
          ),
        );
      terms.forEach((t: Obj, i: number) =>
        errs.push(
          ...validateNodeSelectorTerm(
            t,
            `${path}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[${i}]`,
          ),
        ),
      );
    }
    asArr(na.preferredDuringSchedulingIgnoredDuringExecution).forEach((t: Obj, i: number) => {
      const p = `${path}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
      errs.push(...weight(t?.weight, `${p}.weight`), ...validateNodeSelectorTerm(t?.preference, `${p}.preference`));
    });
  }
  for (const k of ['podAffinity', 'podAntiAffinity']) {
    const pa = asObj(a[k]);
    if (!pa) continue;
    asArr(pa.requiredDuringSchedulingIgnoredDuringExecution).forEach((t: Obj, i: number) =>
      errs.push(...validatePodAffinityTerm(t, `${path}.${k}.requiredDuringSchedulingIgnoredDuringExecution[${i}]`)),
    );
    asArr(pa.preferredDuringSchedulingIgnoredDuringExecution).forEach((t: Obj, i: number) => {
      const p = `${path}.${k}.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
      errs.push(
        ...weight(t?.weight, `${p}.weight`),
        ...validatePodAffinityTerm(t?.podAffinityTerm, `${p}.podAffinityTerm`),
      );
    });
  }
  return errs;
}

export function validateTopologySpread(list: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  asArr(list).forEach((c: Obj, i: number) => {
    const p = `${path}[${i}]`;
    if (!(typeof c?.maxSkew === 'number' && c.maxSkew > 0))
      errs.push(invalid(`${p}.maxSkew`, c?.maxSkew ?? 0, 'must be greater than zero'));
    if (!c?.topologyKey) errs.push(required(`${p}.topologyKey`, 'can not be empty'));
    else errs.push(...isQualifiedName(c.topologyKey).map((m) => invalid(`${p}.topologyKey`, c.topologyKey, m)));
    if (!['DoNotSchedule', 'ScheduleAnyway'].includes(c?.whenUnsatisfiable))
      errs.push(
        notSupported(`${p}.whenUnsatisfiable`, c?.whenUnsatisfiable ?? '', ['DoNotSchedule', 'ScheduleAnyway']),
      );
    if (c?.minDomains !== undefined) {
      if (!(c.minDomains > 0)) errs.push(invalid(`${p}.minDomains`, c.minDomains, 'must be greater than 0'));
      else if (c.whenUnsatisfiable !== 'DoNotSchedule')
        errs.push(
          invalid(
            `${p}.minDomains`,
            c.minDomains,
            'can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway',
          ),
        );
    }
    const key = `${c?.topologyKey}/${c?.whenUnsatisfiable}`;
    if (seen.has(key))
      errs.push({
        type: 'FieldValueDuplicate',
        field: `${p}.{topologyKey, whenUnsatisfiable}`,
        message: `Duplicate value: "${key.replace('/', ', ')}"`,
      });
    seen.add(key);
    errs.push(...validateLabelSelector(c?.labelSelector, `${p}.labelSelector`));
  });
  return errs;
}

const MAX_ID = 2147483647;
const idRange = (v: unknown, p: string): FieldError[] =>
  v === undefined || (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_ID)
    ? []
    : [invalid(p, v, `must be between 0 and ${MAX_ID}, inclusive`)];

export function validateSecurityContext(sc: unknown, path: string, pod: boolean): FieldError[] {
  const s = asObj(sc);
  if (!s) return [];
  const errs = [...idRange(s.runAsUser, `${path}.runAsUser`), ...idRange(s.runAsGroup, `${path}.runAsGroup`)];
  if (pod) {
    errs.push(...idRange(s.fsGroup, `${path}.fsGroup`));
    asArr(s.supplementalGroups).forEach((g: unknown, i: number) =>
      errs.push(...idRange(g, `${path}.supplementalGroups[${i}]`)),
    );
    if (s.fsGroupChangePolicy !== undefined && !['OnRootMismatch', 'Always'].includes(s.fsGroupChangePolicy)) {
      errs.push(notSupported(`${path}.fsGroupChangePolicy`, s.fsGroupChangePolicy, ['OnRootMismatch', 'Always']));
    }
  } else {
    if (s.privileged === true && s.allowPrivilegeEscalation === false)
      errs.push(invalid(path, '', 'cannot set `allowPrivilegeEscalation` to false and `privileged` to true'));
    if (s.procMount !== undefined && !['Default', 'Unmasked'].includes(s.procMount))
      errs.push(notSupported(`${path}.procMount`, s.procMount, ['Default', 'Unmasked']));
  }
  const sp = asObj(s.seccompProfile);
  if (sp) {
    if (!['Localhost', 'RuntimeDefault', 'Unconfined'].includes(sp.type))
      errs.push(
        notSupported(`${path}.seccompProfile.type`, sp.type ?? '', ['Localhost', 'RuntimeDefault', 'Unconfined']),
      );
    if (sp.type === 'Localhost' && !sp.localhostProfile)
      errs.push(required(`${path}.seccompProfile.localhostProfile`, 'must be set when seccomp type is Localhost'));
    if (sp.type !== 'Localhost' && sp.localhostProfile)
      errs.push(
        invalid(
          `${path}.seccompProfile.localhostProfile`,
          sp.localhostProfile,
          'can only be set when seccomp type is Localhost',
        ),
      );
  }
  return errs;
}
