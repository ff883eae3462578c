// Security contexts as kubelet passes them to the runtime: the container's settings over the pod's
// (runAsUser/Group, runAsNonRoot, seccomp), the pod's groups (supplementalGroups + fsGroup),
// capabilities, privileged, read-only root, no_new_privs from allowPrivilegeEscalation, the
// namespaces to share with the pod or the host, and the default masked and read-only /proc paths.
import { join } from 'node:path';
import type * as cri from '../../../cri/index.js';
import type { Container, Pod, SeccompProfile } from '../types.js';
import { ConfigError } from './env.js';

const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export function namespaceOptions(pod: Pod): cri.NamespaceOptionInput {
  return {
    network: pod.spec.hostNetwork ? 'NODE' : 'POD',
    pid: pod.spec.hostPID ? 'NODE' : pod.spec.shareProcessNamespace ? 'POD' : 'CONTAINER',
    ipc: pod.spec.hostIPC ? 'NODE' : 'POD',
  };
}

function seccomp(p: SeccompProfile | undefined, root: string): cri.SecurityProfileInput {
  if (!p || p.type === 'Unconfined') return { profileType: 'Unconfined' };
  if (p.type === 'RuntimeDefault') return { profileType: 'RuntimeDefault' };
  return { profileType: 'Localhost', localhostRef: join(root, p.localhostProfile ?? '') };
}

function groups(pod: Pod): number[] {
  const g = [...(pod.spec.securityContext?.supplementalGroups ?? [])];
  const fs = pod.spec.securityContext?.fsGroup;
  if (fs !== undefined && !g.includes(fs)) g.push(fs);
  return g;
}

export function sandboxSecurity(pod: Pod, seccompRoot: string): cri.LinuxSandboxSecurityContextInput {
  const psc = pod.spec.securityContext ?? {};
  // Every container of the pod, ephemeral ones too (kubelet's HasPrivilegedContainer): the config
  // goes with each CreateContainer, so a privileged debug container may join a running pod.
  const privileged = [
    ...pod.spec.containers,
    ...(pod.spec.initContainers ?? []),
    ...(pod.spec.ephemeralContainers ?? []),
  ].some((c) => c.securityContext?.privileged);
  return {
    namespaceOptions: namespaceOptions(pod),
    ...(psc.runAsUser !== undefined ? { runAsUser: { value: psc.runAsUser } } : {}),
    ...(psc.runAsGroup !== undefined ? { runAsGroup: { value: psc.runAsGroup } } : {}),
    supplementalGroups: groups(pod),
    privileged,
    seccomp: seccomp(psc.seccompProfile, seccompRoot),
  };
}

/** Upstream's verifyRunAsNonRoot: only numeric users can be verified. */
export function verifyRunAsNonRoot(pod: Pod, c: Container, imageUid: number | undefined, imageUser: string): void {
  const sc = c.securityContext ?? {};
  const psc = pod.spec.securityContext ?? {};
  const nonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
  if (!nonRoot) return;
  const who = `(pod: "${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})", container: ${c.name})`;
  const uid = sc.runAsUser ?? psc.runAsUser;
  if (uid !== undefined) {
    if (uid === 0) throw new ConfigError(`container's runAsUser breaks non-root policy ${who}`);
    return;
  }
  if (imageUid !== undefined) {
    if (imageUid === 0) throw new ConfigError(`container has runAsNonRoot and image will run as root ${who}`);
    return;
  }
  if (imageUser && !/^\d+$/.test(imageUser))
    throw new ConfigError(
      `container has runAsNonRoot and image has non-numeric user (${imageUser}), cannot verify user is non-root ${who}`,
    );
  if (!imageUser || Number(imageUser) === 0)
    throw new ConfigError(`container has runAsNonRoot and image will run as root ${who}`);
}

export function containerSecurity(pod: Pod, c: Container, seccompRoot: string): cri.LinuxContainerSecurityContextInput {
  const sc = c.securityContext ?? {};
  const psc = pod.spec.securityContext ?? {};
  const runAsUser = sc.runAsUser ?? psc.runAsUser;
  const runAsGroup = sc.runAsGroup ?? psc.runAsGroup;
  const privileged = sc.privileged === true;
  return {
    ...(sc.capabilities
      ? {
          capabilities: {
            addCapabilities: sc.capabilities.add ?? [],
            dropCapabilities: sc.capabilities.drop ?? [],
          },
        }
      : {}),
    privileged,
    namespaceOptions: namespaceOptions(pod),
    ...(runAsUser !== undefined ? { runAsUser: { value: runAsUser } } : {}),
    ...(runAsGroup !== undefined ? { runAsGroup: { value: runAsGroup } } : {}),
    readonlyRootfs: sc.readOnlyRootFilesystem === true,
    supplementalGroups: groups(pod),
    noNewPrivs: !privileged && sc.allowPrivilegeEscalation === false,
    maskedPaths: privileged || sc.procMount === 'Unmasked' ? [] : MASKED_PATHS,
    readonlyPaths: privileged || sc.procMount === 'Unmasked' ? [] : READONLY_PATHS,
    seccomp: privileged ? { profileType: 'Unconfined' } : seccomp(sc.seccompProfile ?? psc.seccompProfile, seccompRoot),
  };
}
