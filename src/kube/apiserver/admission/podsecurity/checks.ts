// The Pod Security Standards' checks (upstream's k8s.io/pod-security-admission/policy), each with
// upstream's ID, level, reason and detail wording, evaluated on a pod's metadata and spec.
// Restricted checks that supersede a baseline one (capabilities, seccomp, volume types) replace
// it at the restricted level.

type Obj = Record<string, any>;
export type Level = 'privileged' | 'baseline' | 'restricted';

export interface Violation {
  reason: string;
  detail: string;
}

export interface Check {
  id: string;
  level: 'baseline' | 'restricted';
  /** Baseline checks this restricted check replaces. */
  overrides?: string[];
  run(meta: Obj, spec: Obj, minor: number): Violation | undefined;
}

const joinQuote = (xs: string[]) => (xs.length ? `"${xs.join('", "')}"` : '');
const plural = (one: string, many: string, n: number) => (n === 1 ? one : many);
const uniqSorted = (xs: string[]) => [...new Set(xs)].sort();
const containersOf = (spec: Obj): Obj[] =>
  [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])].filter(
    (c) => c && typeof c === 'object',
  );
const named = (what: string[], word = 'container') => `${plural(word, `${word}s`, what.length)} ${joinQuote(what)}`;

const hostProcess: Check = {
  id: 'windowsHostProcess',
  level: 'baseline',
  run(_meta, spec) {
    const setters: string[] = [];
    if (spec.securityContext?.windowsOptions?.hostProcess === true) setters.push('pod');
    const bad = containersOf(spec)
      .filter((c) => c.securityContext?.windowsOptions?.hostProcess === true)
      .map((c) => String(c.name));
    if (bad.length) setters.push(named(bad));
    if (!setters.length) return undefined;
    return {
      reason: 'hostProcess',
      detail: `${setters.join(' and ')} must not set securityContext.windowsOptions.hostProcess=true`,
    };
  },
};

const hostNamespaces: Check = {
  id: 'hostNamespaces',
  level: 'baseline',
  run(_meta, spec) {
    const set = [
      spec.hostNetwork === true && 'hostNetwork=true',
      spec.hostPID === true && 'hostPID=true',
      spec.hostIPC === true && 'hostIPC=true',
    ].filter((x): x is string => Boolean(x));
    return set.length ? { reason: 'host namespaces', detail: set.join(', ') } : undefined;
  },
};

const privileged: Check = {
  id: 'privileged',
  level: 'baseline',
  run(_meta, spec) {
    const bad = containersOf(spec)
      .filter((c) => c.securityContext?.privileged === true)
      .map((c) => String(c.name));
    return bad.length
      ? { reason: 'privileged', detail: `${named(bad)} must not set securityContext.privileged=true` }
      : undefined;
  },
};

const BASELINE_CAPS = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

const capabilitiesBaseline: Check = {
  id: 'capabilities_baseline',
  level: 'baseline',
  run(_meta, spec) {
    const bad: string[] = [];
    const caps: string[] = [];
    for (const c of containersOf(spec)) {
      const add: string[] = c.securityContext?.capabilities?.add ?? [];
      const extra = add.filter((x) => !BASELINE_CAPS.has(String(x)));
      if (extra.length) {
        bad.push(String(c.name));
        caps.push(...extra.map(String));
      }
    }
    return bad.length
      ? {
          reason: 'non-default capabilities',
          detail: `${named(bad)} must not include ${joinQuote(uniqSorted(caps))} in securityContext.capabilities.add`,
        }
      : undefined;
  },
};

const hostPathVolumes: Check = {
  id: 'hostPathVolumes',
  level: 'baseline',
  run(_meta, spec) {
    const bad = (spec.volumes ?? []).filter((v: Obj) => v?.hostPath).map((v: Obj) => String(v.name));
    return bad.length ? { reason: 'hostPath volumes', detail: named(bad, 'volume') } : undefined;
  },
};

const hostPorts: Check = {
  id: 'hostPorts',
  level: 'baseline',
  run(_meta, spec) {
    const bad: string[] = [];
    const ports: string[] = [];
    for (const c of containersOf(spec)) {
      const hp = (c.ports ?? []).filter((p: Obj) => p?.hostPort).map((p: Obj) => String(p.hostPort));
      if (hp.length) {
        bad.push(String(c.name));
        ports.push(...hp);
      }
    }
    if (!bad.length) return undefined;
    const list = uniqSorted(ports);
    return {
      reason: 'hostPort',
      detail: `${named(bad)} ${plural('uses', 'use', bad.length)} ${plural('hostPort', 'hostPorts', list.length)} ${list.join(', ')}`,
    };
  },
};

const APPARMOR_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';
const appArmor: Check = {
  id: 'appArmorProfile',
  level: 'baseline',
  run(meta) {
    const bad: string[] = [];
    for (const [k, v] of Object.entries((meta.annotations ?? {}) as Record<string, string>))
      if (k.startsWith(APPARMOR_PREFIX) && v && v !== 'runtime/default' && !v.startsWith('localhost/'))
        bad.push(`${k}=${JSON.stringify(v)}`);
    bad.sort();
    return bad.length
      ? {
          reason: plural('forbidden AppArmor profile', 'forbidden AppArmor profiles', bad.length),
          detail: bad.join(', '),
        }
      : undefined;
  },
};

const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const seLinux: Check = {
  id: 'seLinuxOptions',
  level: 'baseline',
  run(_meta, spec) {
    const types: string[] = [];
    let user = false;
    let role = false;
    const ok = (o: Obj) => {
      let valid = true;
      if (!SELINUX_TYPES.has(o.type ?? '')) {
        valid = false;
        types.push(String(o.type));
      }
      if (o.user) {
        valid = false;
        user = true;
      }
      if (o.role) {
        valid = false;
        role = true;
      }
      return valid;
    };
    const setters: string[] = [];
    if (spec.securityContext?.seLinuxOptions && !ok(spec.securityContext.seLinuxOptions)) setters.push('pod');
    const bad = containersOf(spec)
      .filter((c) => c.securityContext?.seLinuxOptions && !ok(c.securityContext.seLinuxOptions))
      .map((c) => String(c.name));
    if (bad.length) setters.push(named(bad));
    if (!setters.length) return undefined;
    const data: string[] = [];
    const t = uniqSorted(types);
    if (t.length) data.push(`${plural('type', 'types', t.length)} ${joinQuote(t)}`);
    if (user) data.push('user may not be set');
    if (role) data.push('role may not be set');
    return {
      reason: 'seLinuxOptions',
      detail: `${setters.join(' and ')} set forbidden securityContext.seLinuxOptions: ${data.join('; ')}`,
    };
  },
};

const procMount: Check = {
  id: 'procMount',
  level: 'baseline',
  run(_meta, spec) {
    const bad: string[] = [];
    const types: string[] = [];
    for (const c of containersOf(spec)) {
      const pm = c.securityContext?.procMount;
      if (pm !== undefined && pm !== 'Default') {
        bad.push(String(c.name));
        types.push(String(pm));
      }
    }
    return bad.length
      ? {
          reason: 'procMount',
          detail: `${named(bad)} must not set securityContext.procMount to ${joinQuote(uniqSorted(types))}`,
        }
      : undefined;
  },
};

const seccompBaseline: Check = {
  id: 'seccompProfile_baseline',
  level: 'baseline',
  run(_meta, spec) {
    const setters: string[] = [];
    if (spec.securityContext?.seccompProfile?.type === 'Unconfined') setters.push('pod');
    const bad = containersOf(spec)
      .filter((c) => c.securityContext?.seccompProfile?.type === 'Unconfined')
      .map((c) => String(c.name));
    if (bad.length) setters.push(named(bad));
    return setters.length
      ? {
          reason: 'seccompProfile',
          detail: `${setters.join(' and ')} must not set securityContext.seccompProfile.type to "Unconfined"`,
        }
      : undefined;
  },
};

/** Safe sysctls by the policy version that allowed them. */
const SYSCTLS: [number, string[]][] = [
  [
    0,
    [
      'kernel.shm_rmid_forced',
      'net.ipv4.ip_local_port_range',
      'net.ipv4.tcp_syncookies',
      'net.ipv4.ping_group_range',
      'net.ipv4.ip_unprivileged_port_start',
    ],
  ],
  [27, ['net.ipv4.ip_local_reserved_ports']],
  [
    29,
    [
      'net.ipv4.tcp_keepalive_time',
      'net.ipv4.tcp_fin_timeout',
      'net.ipv4.tcp_keepalive_intvl',
      'net.ipv4.tcp_keepalive_probes',
    ],
  ],
  [32, ['net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem']],
];
const sysctls: Check = {
  id: 'sysctls',
  level: 'baseline',
  run(_meta, spec, minor) {
    const allowed = new Set(SYSCTLS.filter(([v]) => minor >= v).flatMap(([, s]) => s));
    const bad = (spec.securityContext?.sysctls ?? [])
      .map((s: Obj) => String(s?.name))
      .filter((n: string) => !allowed.has(n));
    return bad.length ? { reason: 'forbidden sysctls', detail: bad.join(', ') } : undefined;
  },
};

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
const restrictedVolumes: Check = {
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

const allowPrivilegeEscalation: Check = {
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

const runAsNonRoot: Check = {
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

const runAsUser: Check = {
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
const seccompRestricted: Check = {
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

const capabilitiesRestricted: Check = {
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
