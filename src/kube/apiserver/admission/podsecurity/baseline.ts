// The baseline level's checks (upstream's pod-security-admission policy package): what a pod must
// not do to be "minimally restrictive" — host namespaces, privileged containers, extra
// capabilities, hostPath volumes, host ports, AppArmor, SELinux, procMount, Unconfined seccomp,
// unsafe sysctls, Windows hostProcess.
import { type Check, containersOf, joinQuote, named, type Obj, plural, uniqSorted } from './helpers.js';

export const hostProcess: Check = {
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

export const hostNamespaces: Check = {
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

export const privileged: Check = {
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

export const capabilitiesBaseline: Check = {
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

export const hostPathVolumes: Check = {
  id: 'hostPathVolumes',
  level: 'baseline',
  run(_meta, spec) {
    const bad = (spec.volumes ?? []).filter((v: Obj) => v?.hostPath).map((v: Obj) => String(v.name));
    return bad.length ? { reason: 'hostPath volumes', detail: named(bad, 'volume') } : undefined;
  },
};

export const hostPorts: Check = {
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
export const appArmor: Check = {
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
export const seLinux: Check = {
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

export const procMount: Check = {
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

export const seccompBaseline: Check = {
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
export const sysctls: Check = {
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
