// The restricted level's checks (upstream's pod-security-admission policy package): volume types,
// privilege escalation, non-root, seccomp, dropped capabilities. The capabilities, seccomp and
// volume checks replace their baseline counterparts at this level.
import { type Check, containersOf, joinQuote, named, type Obj, plural, uniqSorted } from './helpers.js';

const ALLOWED_VOLUME_SOURCES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);
export const restrictedVolumes: Check = {
  id: 'restrictedVolumes',
  level: 'restricted',
  overrides: ['hostPathVolumes'],
  run(_meta, spec) {
    const bad: string[] = [];
    const types: string[] = [];
    for (const v of spec.volumes ?? []) {
      if (!v) continue;
      const sources = Object.keys(v).filter((k) => k !== 'name' && v[k] !== undefined && v[k] !== null);
      if (sources.some((s) => ALLOWED_VOLUME_SOURCES.has(s))) continue;
      bad.push(String(v.name));
      types.push(...(sources.length ? sources : ['unknown']));
    }
    if (!bad.length) return undefined;
    const t = uniqSorted(types);
    return {
      reason: 'restricted volume types',
      detail: `${named(bad, 'volume')} ${plural('uses', 'use', bad.length)} ${plural('restricted volume type', 'restricted volume types', t.length)} ${joinQuote(t)}`,
    };
  },
};

export const allowPrivilegeEscalation: Check = {
  id: 'allowPrivilegeEscalation',
  level: 'restricted',
  run(_meta, spec) {
    const bad = containersOf(spec)
      .filter((c) => c.securityContext?.allowPrivilegeEscalation !== false)
      .map((c) => String(c.name));
    return bad.length
      ? {
          reason: 'allowPrivilegeEscalation != false',
          detail: `${named(bad)} must set securityContext.allowPrivilegeEscalation=false`,
        }
      : undefined;
  },
};

export const runAsNonRoot: Check = {
  id: 'runAsNonRoot',
  level: 'restricted',
  run(_meta, spec) {
    const setters: string[] = [];
    const pod = spec.securityContext?.runAsNonRoot;
    if (pod === false) setters.push('pod');
    const explicit: string[] = [];
    const implicit: string[] = [];
    for (const c of containersOf(spec)) {
      const v = c.securityContext?.runAsNonRoot;
      if (v !== undefined && v !== null) {
        if (v === false) explicit.push(String(c.name));
      } else if (pod !== true) implicit.push(String(c.name));
    }
    if (explicit.length) setters.push(named(explicit));
    if (setters.length)
      return {
        reason: 'runAsNonRoot != true',
        detail: `${setters.join(' and ')} must not set securityContext.runAsNonRoot=false`,
      };
    if (implicit.length)
      return {
        reason: 'runAsNonRoot != true',
        detail: `pod or ${named(implicit)} must set securityContext.runAsNonRoot=true`,
      };
    return undefined;
  },
};

export const runAsUser: Check = {
  id: 'runAsUser',
  level: 'restricted',
  run(_meta, spec) {
    const setters: string[] = [];
    if (spec.securityContext?.runAsUser === 0) setters.push('pod');
    const bad = containersOf(spec)
      .filter((c) => c.securityContext?.runAsUser === 0)
      .map((c) => String(c.name));
    if (bad.length) setters.push(named(bad));
    return setters.length
      ? { reason: 'runAsUser=0', detail: `${setters.join(' and ')} must not set runAsUser=0` }
      : undefined;
  },
};

const validSeccomp = (t: unknown) => t === 'RuntimeDefault' || t === 'Localhost';
export const seccompRestricted: Check = {
  id: 'seccompProfile_restricted',
  level: 'restricted',
  overrides: ['seccompProfile_baseline'],
  run(_meta, spec) {
    const setters: string[] = [];
    const values: string[] = [];
    let podSet = false;
    const podProfile = spec.securityContext?.seccompProfile;
    if (podProfile) {
      if (!validSeccomp(podProfile.type)) {
        setters.push('pod');
        values.push(String(podProfile.type));
      } else podSet = true;
    }
    const explicit: string[] = [];
    const implicit: string[] = [];
    for (const c of containersOf(spec)) {
      const p = c.securityContext?.seccompProfile;
      if (p) {
        if (!validSeccomp(p.type)) {
          explicit.push(String(c.name));
          values.push(String(p.type));
        }
      } else if (!podSet) implicit.push(String(c.name));
    }
    if (explicit.length) setters.push(named(explicit));
    if (setters.length)
      return {
        reason: 'seccompProfile',
        detail: `${setters.join(' and ')} must not set securityContext.seccompProfile.type to ${joinQuote(uniqSorted(values))}`,
      };
    if (implicit.length)
      return {
        reason: 'seccompProfile',
        detail: `pod or ${named(implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
      };
    return undefined;
  },
};

export const capabilitiesRestricted: Check = {
  id: 'capabilities_restricted',
  level: 'restricted',
  overrides: ['capabilities_baseline'],
  run(_meta, spec) {
    const missingDrop: string[] = [];
    const adding: string[] = [];
    const caps: string[] = [];
    for (const c of containersOf(spec)) {
      const cap = c.securityContext?.capabilities;
      if (!cap) {
        missingDrop.push(String(c.name));
        continue;
      }
      if (!(cap.drop ?? []).includes('ALL')) missingDrop.push(String(c.name));
      const bad = (cap.add ?? []).filter((x: unknown) => x !== 'NET_BIND_SERVICE').map(String);
      if (bad.length) {
        adding.push(String(c.name));
        caps.push(...bad);
      }
    }
    const details: string[] = [];
    if (missingDrop.length) details.push(`${named(missingDrop)} must set securityContext.capabilities.drop=["ALL"]`);
    if (adding.length)
      details.push(
        `${named(adding)} must not include ${joinQuote(uniqSorted(caps))} in securityContext.capabilities.add`,
      );
    return details.length ? { reason: 'unrestricted capabilities', detail: details.join('; ') } : undefined;
  },
};
