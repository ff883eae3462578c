// CgroupManager: the boundary between the runtime and the kernel's cgroup file systems. Two
// implementations (v1: one hierarchy per controller; v2: the unified hierarchy), one shared suite.
// Resource shapes follow the OCI runtime-spec `linux.resources` object.

export interface CgroupResources {
  memory?: {
    limit?: number;
    reservation?: number;
    swap?: number;
    kernel?: number;
    swappiness?: number;
    disableOOMKiller?: boolean;
  };
  cpu?: {
    shares?: number;
    quota?: number;
    period?: number;
    realtimeRuntime?: number;
    realtimePeriod?: number;
    cpus?: string;
    mems?: string;
    idle?: number;
  };
  pids?: { limit: number };
  blockIO?: {
    weight?: number;
    leafWeight?: number;
    weightDevice?: { major: number; minor: number; weight?: number; leafWeight?: number }[];
    throttleReadBpsDevice?: { major: number; minor: number; rate: number }[];
    throttleWriteBpsDevice?: { major: number; minor: number; rate: number }[];
    throttleReadIOPSDevice?: { major: number; minor: number; rate: number }[];
    throttleWriteIOPSDevice?: { major: number; minor: number; rate: number }[];
  };
  devices?: { allow: boolean; type?: string; major?: number; minor?: number; access?: string }[];
  unified?: Record<string, string>;
}

export interface CgroupStats {
  cpu: {
    usageNs: number;
    userNs: number;
    systemNs: number;
    perCpuNs?: number[];
    throttledPeriods: number;
    throttledTimeNs: number;
    periods: number;
  };
  memory: {
    usage: number;
    maxUsage?: number;
    limit: number;
    cache: number;
    rss: number;
    swapUsage?: number;
    oomEvents: number;
    oomKillEvents: number;
    raw: Record<string, number>;
  };
  pids: { current: number; limit?: number };
  io: {
    readBytes: number;
    writeBytes: number;
    readOps: number;
    writeOps: number;
    devices: {
      major: number;
      minor: number;
      readBytes: number;
      writeBytes: number;
      readOps: number;
      writeOps: number;
    }[];
  };
}

export type FreezerState = 'THAWED' | 'FROZEN';

export interface CgroupManager {
  readonly version: 1 | 2;
  /** The cgroup path relative to each hierarchy's root, e.g. `/skiff/abc`. */
  readonly path: string;
  /** Creates the cgroup (and parents) in every hierarchy used; idempotent. */
  create(): Promise<void>;
  /** Moves a process (that this runtime started) into the cgroup. */
  addProcess(pid: number): Promise<void>;
  /** Applies resources; fields not given are left as they are. Errors name the controller file. */
  set(resources: CgroupResources): Promise<void>;
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  freezerState(): Promise<FreezerState>;
  stats(): Promise<CgroupStats>;
  /** Process ids in the cgroup (recursively). */
  pids(): Promise<number[]>;
  /** Number of OOM kills seen so far (memory.events oom_kill / memory.oom_control oom_kill). */
  oomKillCount(): Promise<number>;
  /** Kills every process in the cgroup with the signal (thawing first if frozen). */
  killAll(signal: NodeJS.Signals | number): Promise<void>;
  /** Removes the cgroup from every hierarchy, waiting briefly for processes to go; idempotent. */
  destroy(): Promise<void>;
  /** Paths of this cgroup in each hierarchy (controller name → absolute directory), for skiff-init to join. */
  dirs(): Record<string, string>;
  /** The file skiff-monitor's --oom-file reads the OOM-kill count from (v1 memory.oom_control,
   *  v2 memory.events); undefined without a memory controller. */
  oomFile(): string | undefined;
}

export interface CgroupManagerOptions {
  /** Root of the cgroup mounts (default /sys/fs/cgroup); tests can point it elsewhere. */
  mountRoot?: string;
  /** Force a version instead of detecting it from the mount root. */
  version?: 1 | 2;
  /** How long freeze() waits for the kernel to report the cgroup frozen (default 5000 ms). */
  freezeTimeoutMs?: number;
  /** Makes `path` relative to these cgroups (controller name, `systemd` for name=systemd, or
   *  `unified` → that hierarchy's cgroup), as runc takes a relative cgroupsPath to be relative to its
   *  own cgroups; see ownCgroups(). Without it `path` is taken from each hierarchy's root. */
  parents?: Record<string, string>;
}
