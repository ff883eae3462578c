// Records → CRI messages (statuses, list items), with every field filled as the generated output
// types require.
import { resourcesOut } from './resources.js';
import type { ContainerRecord, SandboxRecord } from './records.js';
import type { Container, ContainerStatus, PodSandbox, PodSandboxStatus } from './types.js';

const PROTO = ['TCP', 'UDP', 'SCTP'] as const;
const PROP = ['PROPAGATION_PRIVATE', 'PROPAGATION_HOST_TO_CONTAINER', 'PROPAGATION_BIDIRECTIONAL'] as const;

export function sandboxMetadata(r: SandboxRecord) {
  const m = r.config.metadata ?? {};
  return { name: m.name ?? '', uid: m.uid ?? '', namespace: m.namespace ?? '', attempt: m.attempt ?? 0 };
}

export function containerMetadata(r: ContainerRecord) {
  return { name: r.config.metadata?.name ?? '', attempt: r.config.metadata?.attempt ?? 0 };
}

export function podSandboxItem(r: SandboxRecord, ready: boolean): PodSandbox {
  return {
    id: r.id,
    metadata: sandboxMetadata(r),
    state: ready ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY',
    createdAt: r.createdAt,
    labels: { ...(r.config.labels ?? {}) },
    annotations: { ...(r.config.annotations ?? {}) },
    runtimeHandler: r.runtimeHandler,
  };
}

export function podSandboxStatus(r: SandboxRecord, ready: boolean): PodSandboxStatus {
  const ns = r.config.linux?.securityContext?.namespaceOptions;
  return {
    id: r.id,
    metadata: sandboxMetadata(r),
    state: ready ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY',
    createdAt: r.createdAt,
    network: { ip: r.ip ?? '', additionalIps: [] },
    linux: {
      namespaces: {
        options: {
          network: r.hostNetwork ? 'NODE' : 'POD',
          pid: r.pidMode,
          ipc: r.hostIpc ? 'NODE' : 'POD',
          targetId: ns?.targetId ?? '',
          usernsOptions: r.userns
            ? {
                mode: 'POD',
                uids: r.userns.uids.map((m) => ({ containerId: m.containerID, hostId: m.hostID, length: m.size })),
                gids: r.userns.gids.map((m) => ({ containerId: m.containerID, hostId: m.hostID, length: m.size })),
              }
            : null,
        },
      },
    },
    labels: { ...(r.config.labels ?? {}) },
    annotations: { ...(r.config.annotations ?? {}) },
    runtimeHandler: r.runtimeHandler,
  };
}

function imageSpec(r: ContainerRecord) {
  return {
    image: r.imageName,
    annotations: { ...(r.config.image?.annotations ?? {}) },
    userSpecifiedImage: r.config.image?.userSpecifiedImage ?? r.imageName,
    runtimeHandler: r.config.image?.runtimeHandler ?? '',
    imageRef: r.imageId,
  };
}

export function containerItem(r: ContainerRecord): Container {
  return {
    id: r.id,
    podSandboxId: r.sandboxId,
    metadata: containerMetadata(r),
    image: imageSpec(r),
    imageRef: r.imageRef || r.imageId,
    state: r.state,
    createdAt: r.createdAt,
    labels: { ...(r.config.labels ?? {}) },
    annotations: { ...(r.config.annotations ?? {}) },
    imageId: r.imageId,
  };
}

/** An image volume's ImageSpec, with the id it resolved to as image_ref (KEP-5365). */
function imageVolumeSpec(
  m: NonNullable<NonNullable<ContainerRecord['config']['mounts']>[number]['image']>,
  v: { imageId: string } | undefined,
) {
  return {
    image: m.image ?? '',
    annotations: { ...(m.annotations ?? {}) },
    userSpecifiedImage: m.userSpecifiedImage ?? '',
    runtimeHandler: m.runtimeHandler ?? '',
    imageRef: v?.imageId ?? '',
  };
}

export function containerStatus(r: ContainerRecord): ContainerStatus {
  const stop = r.config.stopSignal;
  return {
    id: r.id,
    metadata: containerMetadata(r),
    state: r.state,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    exitCode: r.exitCode,
    image: imageSpec(r),
    imageRef: r.imageRef || r.imageId,
    reason: r.reason,
    message: r.message,
    labels: { ...(r.config.labels ?? {}) },
    annotations: { ...(r.config.annotations ?? {}) },
    mounts: (r.config.mounts ?? []).map((m, i) => ({
      containerPath: m.containerPath ?? '',
      hostPath: m.hostPath ?? '',
      readonly: !!m.readonly,
      selinuxRelabel: !!m.selinuxRelabel,
      propagation: typeof m.propagation === 'number' ? PROP[m.propagation] : (m.propagation ?? 'PROPAGATION_PRIVATE'),
      uidMappings: [],
      gidMappings: [],
      recursiveReadOnly: !!m.recursiveReadOnly,
      image: m.image?.image
        ? imageVolumeSpec(
            m.image,
            r.imageVolumes?.find((v) => v.snapshotKey.endsWith(`-image-${i}`)),
          )
        : null,
      imageSubPath: m.imageSubPath ?? '',
      mountOptions: [...(m.mountOptions ?? [])],
    })),
    logPath: r.logPath,
    resources: { linux: resourcesOut(r.resources), windows: null },
    imageId: r.imageId,
    user: r.user ? { linux: { ...r.user, supplementalGroups: [...r.user.supplementalGroups] } } : null,
    stopSignal: typeof stop === 'number' || !stop ? 'SIGNAL_RUNTIME_DEFAULT' : stop,
  };
}

export function protocolName(p: unknown): (typeof PROTO)[number] {
  if (typeof p === 'number') return PROTO[p] ?? 'TCP';
  return (PROTO as readonly string[]).includes(String(p)) ? (p as (typeof PROTO)[number]) : 'TCP';
}
