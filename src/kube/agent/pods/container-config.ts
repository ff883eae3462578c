// A container's CRI config (kubelet's generateContainerConfig): the environment, command and args
// with `$(VAR)` expanded, volume mounts (subPath / subPathExpr resolved inside the volume), the
// pod's /etc/hosts and a fresh termination-message file, labels and annotations the agent reads
// back after a restart, the log path `<name>/<restartCount>.log`, resources and security context.
import { chmodSync, closeSync, mkdirSync, openSync, realpathSync, existsSync } from 'node:fs';
import { join, relative, isAbsolute } from 'node:path';
import type * as cri from '../../../cri/index.js';
import { containerAnnotations, containerLabels, type ContainerType } from '../labels.js';
import type { Container, Pod } from '../types.js';
import type { MountedVolume } from '../volumes/manager.js';
import { ConfigError, containerEnv, expand, type EnvContext } from './env.js';
import { containerResources } from './resources.js';
import { containerSecurity, verifyRunAsNonRoot } from './security.js';
import { randomSuffix } from '../../../common/index.js';

export interface ContainerConfigInputs {
  env: EnvContext;
  podDir: string;
  podLogDir: string;
  volumes: Map<string, MountedVolume>;
  restartCount: number;
  imageRef: string;
  imageUid?: number;
  imageUser: string;
  memoryCapacity: number;
  seccompRoot: string;
  type: ContainerType;
}

/** A subPath must stay inside its volume (no absolute paths, no `..`, no symlink escapes). */
export function subPathHost(volumePath: string, sub: string, create: boolean): string {
  if (isAbsolute(sub) || sub.split('/').includes('..'))
    throw new ConfigError(`subPath "${sub}" must be a relative path without ".."`);
  const p = join(volumePath, sub);
  if (create && !existsSync(p)) mkdirSync(p, { recursive: true, mode: 0o755 });
  let real: string;
  try {
    real = realpathSync(p);
  } catch {
    throw new ConfigError(`failed to prepare subPath for volumeMount: ${sub} does not exist`);
  }
  const base = realpathSync(volumePath);
  const rel = relative(base, real);
  if (rel.startsWith('..') || isAbsolute(rel))
    throw new ConfigError(`subpath "${sub}" not within volume path "${volumePath}"`);
  // A projected volume's entries are symlinks into ..data: mount what they point at (a copy in
  // time, as upstream: subPath mounts do not follow updates).
  return real;
}

export async function containerConfig(
  pod: Pod,
  c: Container,
  inp: ContainerConfigInputs,
): Promise<cri.ContainerConfigInput> {
  verifyRunAsNonRoot(pod, c, inp.imageUid, inp.imageUser);
  const env = await containerEnv(inp.env, c);
  const lookup = new Map(env);
  const get = (n: string) => lookup.get(n);
  const mounts: cri.MountInput[] = [];
  for (const vm of c.volumeMounts ?? []) {
    const v = inp.volumes.get(vm.name);
    if (!v) throw new ConfigError(`cannot find volume "${vm.name}" to mount into container "${c.name}"`);
    let hostPath = v.hostPath;
    const sub = vm.subPathExpr ? expand(vm.subPathExpr, get) : vm.subPath;
    if (sub) hostPath = subPathHost(v.hostPath, sub, !v.projected);
    mounts.push({
      containerPath: vm.mountPath,
      hostPath,
      readonly: vm.readOnly === true || v.readOnly,
      propagation:
        vm.mountPropagation === 'Bidirectional'
          ? 'PROPAGATION_BIDIRECTIONAL'
          : vm.mountPropagation === 'HostToContainer'
            ? 'PROPAGATION_HOST_TO_CONTAINER'
            : 'PROPAGATION_PRIVATE',
    });
  }
  if (!(c.volumeMounts ?? []).some((m) => m.mountPath === '/etc/hosts'))
    mounts.push({ containerPath: '/etc/hosts', hostPath: join(inp.podDir, 'etc-hosts') });
  if (c.terminationMessagePath) {
    const dir = join(inp.podDir, 'containers', c.name);
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    const file = join(dir, randomSuffix());
    closeSync(openSync(file, 'w'));
    chmodSync(file, 0o666);
    mounts.push({ containerPath: c.terminationMessagePath, hostPath: file });
  }
  mkdirSync(join(inp.podLogDir, c.name), { recursive: true, mode: 0o755 });
  return {
    metadata: { name: c.name, attempt: inp.restartCount },
    image: { image: inp.imageRef, userSpecifiedImage: c.image ?? '' },
    command: (c.command ?? []).map((s) => expand(s, get)),
    args: (c.args ?? []).map((s) => expand(s, get)),
    workingDir: c.workingDir ?? '',
    envs: env.map(([key, value]) => ({ key, value })),
    mounts,
    labels: containerLabels(pod, c),
    annotations: containerAnnotations(pod, c, inp.restartCount, inp.type),
    logPath: join(c.name, `${inp.restartCount}.log`),
    stdin: c.stdin === true,
    stdinOnce: c.stdinOnce === true,
    tty: c.tty === true,
    linux: {
      resources: containerResources(pod, c, inp.memoryCapacity),
      securityContext: containerSecurity(pod, c, inp.seccompRoot),
    },
  };
}
