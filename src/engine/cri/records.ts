// What the CRI side of the engine keeps on disk: one JSON record per pod sandbox and per container
// (DATA_ROOT/cri/sandboxes/<id>/sandbox.json, DATA_ROOT/cri/containers/<id>/container.json),
// replaced atomically (temp + rename), so a restart of the engine finds every sandbox and container
// again and adopts the ones still running.
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageVolume } from './image-volumes.js';
import type { PodUserns } from './userns.js';
import type {
  ContainerConfigInput,
  ContainerStateLabel,
  LinuxContainerResourcesInput,
  PodSandboxConfigInput,
  PodSandboxStateLabel,
} from './types.js';

export interface SandboxRecord {
  id: string;
  config: PodSandboxConfigInput;
  runtimeHandler: string;
  /** Nanoseconds since the epoch. */
  createdAt: number;
  state: PodSandboxStateLabel;
  /** Host pid of the skiff-pause holding the namespaces (0 once stopped) and its start time. */
  pid: number;
  pidStartTime?: number;
  /** Pod-level cgroup (cgroupfs path): the agent's cgroup_parent or our default. */
  podCgroup: string;
  /** Whether we made the pod cgroup (then RemovePodSandbox removes it). */
  podCgroupOwned: boolean;
  /** Cgroup of the pause process (PODCGROUP/<id>). */
  cgroup: string;
  hostNetwork: boolean;
  hostIpc: boolean;
  /** POD: containers share the pause's pid namespace; NODE: the host's; CONTAINER: their own. */
  pidMode: 'POD' | 'NODE' | 'CONTAINER';
  /** The pod's user namespace (held by the pause process) and its mappings; absent: the host's. */
  userns?: PodUserns;
  ip?: string;
  /** The pod network the IP came from (to release it). */
  network?: string;
}

export interface ContainerRecord {
  id: string;
  sandboxId: string;
  config: ContainerConfigInput;
  /** Image id (config digest) and the name the image was asked by. */
  imageId: string;
  imageName: string;
  /** repo@digest of the image when known (ContainerStatus.image_ref). */
  imageRef: string;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  reason: string;
  message: string;
  state: ContainerStateLabel;
  snapshotKey: string;
  /** Absolute CRI log path ('' when the sandbox has no log directory). */
  logPath: string;
  cgroup: string;
  pid: number;
  pidStartTime?: number;
  /** The identity the container's first process got (ContainerStatus.user); the groups include the
   *  primary one, as `id -G` shows them. Set when it starts. */
  user?: { uid: number; gid: number; supplementalGroups: number[] };
  /** Image volumes (Mount.image), mounted on the host from CreateContainer to RemoveContainer. */
  imageVolumes?: ImageVolume[];
  /** CreateContainer's sandbox config allowed a privileged container (the kubelet sends one that
   *  counts every container of the pod, ephemeral ones too, as containerd and CRI-O check). */
  privilegedSandbox?: boolean;
  /** The resources in force (CreateContainer's, then UpdateContainerResources'). */
  resources: LinuxContainerResourcesInput;
  /** Set while being removed: a restart finishes the removal. */
  removing?: boolean;
}

function writeAtomic(file: string, data: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

export class RecordStore {
  readonly sandboxesDir: string;
  readonly containersDir: string;
  constructor(readonly root: string) {
    this.sandboxesDir = join(root, 'sandboxes');
    this.containersDir = join(root, 'containers');
    mkdirSync(this.sandboxesDir, { recursive: true });
    mkdirSync(this.containersDir, { recursive: true });
  }

  sandboxDir(id: string): string {
    return join(this.sandboxesDir, id);
  }
  containerDir(id: string): string {
    return join(this.containersDir, id);
  }

  saveSandbox(r: SandboxRecord): void {
    mkdirSync(this.sandboxDir(r.id), { recursive: true });
    writeAtomic(join(this.sandboxDir(r.id), 'sandbox.json'), JSON.stringify(r));
  }
  saveContainer(r: ContainerRecord): void {
    mkdirSync(this.containerDir(r.id), { recursive: true });
    writeAtomic(join(this.containerDir(r.id), 'container.json'), JSON.stringify(r));
  }
  removeSandbox(id: string): void {
    rmSync(this.sandboxDir(id), { recursive: true, force: true });
  }
  removeContainer(id: string): void {
    rmSync(this.containerDir(id), { recursive: true, force: true });
  }

  /** Every readable record; directories without one (a crash while creating) are returned apart. */
  load(): { sandboxes: SandboxRecord[]; containers: ContainerRecord[]; partial: { kind: string; dir: string }[] } {
    const out = {
      sandboxes: [] as SandboxRecord[],
      containers: [] as ContainerRecord[],
      partial: [] as { kind: string; dir: string }[],
    };
    for (const [kind, dir, file] of [
      ['sandbox', this.sandboxesDir, 'sandbox.json'],
      ['container', this.containersDir, 'container.json'],
    ] as const) {
      for (const id of readdirSync(dir)) {
        try {
          const rec = JSON.parse(readFileSync(join(dir, id, file), 'utf8'));
          if (kind === 'sandbox') out.sandboxes.push(rec as SandboxRecord);
          else out.containers.push(rec as ContainerRecord);
        } catch {
          out.partial.push({ kind, dir: join(dir, id) });
        }
      }
    }
    return out;
  }
}
