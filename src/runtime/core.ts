// What the Runtime's operations share: the state store, the foreground inits this process holds,
// the cgroup manager of a container, and its live status.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec, OciState, ContainerStatus } from '../oci/index.js';
import { OCI_VERSION } from './linux-consts.js';
import { createCgroupManager, type CgroupManager } from './cgroups/index.js';
import type { StateStore, StoredState } from './store.js';
import type { ExitStatus } from './monitor/exit-file.js';
import { isAlive } from './proc.js';
import { Spawner } from './spawner.js';
import { nativeBinary } from './native.js';

/** A foreground skiff-init held by this process, and the exit status it reported. */
export interface Held {
  /** Kills the skiff-init parent itself. */
  kill(): void;
  ready: Promise<number>;
  /** The raw wait status. */
  status: Promise<number>;
  /** skiff-init has ended (and with it the container's mount namespace). */
  ended: Promise<void>;
  exit: Promise<ExitStatus>;
}

export interface Trace {
  mark(phase: string): void;
  initFile?: string;
}

export class Core {
  readonly held = new Map<string, Held>();
  private spawnerInstance?: Spawner;

  constructor(
    readonly store: StateStore,
    readonly cgroupMountRoot?: string,
    readonly trace?: Trace,
    /** Start skiff-init and skiff-monitor through skiff-spawn (see spawner.ts). */
    private readonly useSpawner = true,
  ) {}

  /** The process's skiff-spawn, started on first use; undefined when disabled or not built. */
  spawner(): Spawner | undefined {
    if (!this.useSpawner) return undefined;
    if (!this.spawnerInstance) {
      try {
        this.spawnerInstance = new Spawner(nativeBinary('skiff-spawn'));
      } catch {
        return undefined;
      }
    }
    return this.spawnerInstance;
  }

  cgroup(s: Pick<StoredState, 'cgroupPath' | 'cgroupParents'>): CgroupManager {
    return createCgroupManager(s.cgroupPath, { mountRoot: this.cgroupMountRoot, parents: s.cgroupParents });
  }

  specOrEmpty(id: string): Spec {
    try {
      return this.store.spec(id);
    } catch {
      return { ociVersion: OCI_VERSION, root: { path: '' } } as Spec;
    }
  }

  /** Live status: the recorded one corrected by what the kernel says. */
  status(s: StoredState): ContainerStatus {
    if (s.status === 'creating') return 'creating';
    if (!s.pid || !isAlive(s.pid, s.pidStartTime)) return 'stopped';
    if (s.status === 'paused') return 'paused';
    return existsSync(join(this.store.dir(s.id), 'exec.fifo')) ? 'created' : 'running';
  }

  ociState(s: StoredState): OciState {
    const status = this.status(s);
    return {
      ociVersion: OCI_VERSION,
      id: s.id,
      status,
      pid: status === 'stopped' ? 0 : s.pid,
      bundle: s.bundle,
      annotations: s.annotations ?? {},
    };
  }
}
