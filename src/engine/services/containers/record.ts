// A container's persisted record (moby's ContainerJSON minus the live parts), one JSON file per
// container under DATA_ROOT/containers/<id>/config.v2.json, replaced atomically.
import { readFileSync, mkdirSync } from 'node:fs';
import { writeFileAtomic } from '../../../common/index.js';
import { join } from 'node:path';

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}
export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy' | 'none';
  FailingStreak: number;
  Log: HealthLogEntry[];
}

export interface StateJSON {
  Status: 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: HealthState;
}

export interface MountPoint {
  Type: 'bind' | 'volume' | 'tmpfs';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
  /** Skiff: created for an image VOLUME or `-v /path` (removed by rm -v). */
  Anonymous?: boolean;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
  /** --mount's volume options: labels and driver options of a volume it creates; NoCopy keeps the
   *  image's content at the destination out of a new, empty volume. */
  VolumeOptions?: {
    NoCopy?: boolean;
    Labels?: Record<string, string>;
    DriverConfig?: { Name?: string; Options?: Record<string, string> };
  };
}

/** Docker's container Config (the subset with meaning here is typed; the rest round-trips). */
export interface ContainerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[];
  Cmd: string[] | null;
  Healthcheck?: {
    Test?: string[];
    Interval?: number;
    Timeout?: number;
    StartPeriod?: number;
    StartInterval?: number;
    Retries?: number;
  } | null;
  Image: string;
  Volumes?: Record<string, object> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  Labels: Record<string, string>;
  StopSignal?: string;
  /** The address of the network-mode endpoint's interface (legacy --mac-address). */
  MacAddress?: string;
  StopTimeout?: number | null;
  [k: string]: unknown;
}

export type HostConfig = Record<string, unknown> & {
  Binds?: string[] | null;
  Mounts?:
    | {
        Type?: string;
        Source?: string;
        Target?: string;
        ReadOnly?: boolean;
        VolumeOptions?: { Labels?: Record<string, string> };
        TmpfsOptions?: { SizeBytes?: number; Mode?: number };
      }[]
    | null;
  NetworkMode?: string;
  PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null;
  RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
  AutoRemove?: boolean;
  Privileged?: boolean;
  ReadonlyRootfs?: boolean;
  Init?: boolean | null;
  LogConfig?: { Type?: string; Config?: Record<string, string> };
  Links?: string[] | null;
  VolumesFrom?: string[] | null;
  GroupAdd?: string[] | null;
};

export interface NetworkEndpoint {
  Aliases: string[] | null;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  MacAddress: string;
  [k: string]: unknown;
}

export interface ContainerRecord {
  Id: string;
  Name: string; // with the leading slash
  Created: string;
  Path: string;
  Args: string[];
  Image: string; // image id
  ImageName: string; // as given by the user
  Config: ContainerConfig;
  HostConfig: HostConfig;
  State: StateJSON;
  RestartCount: number;
  Mounts: MountPoint[];
  Networks: Record<string, NetworkEndpoint>;
  /** Host ports actually published while running (chosen by the network driver for -P / `-p 0`). */
  PublishedPorts?: { hostIp: string; hostPort: number; containerPort: number; proto: 'tcp' | 'udp' }[];
  ExecIDs: string[];
  /** Snapshot key of the container's rootfs. */
  SnapshotKey: string;
  /** User asked to stop it (unless-stopped must not restart it at engine start). */
  ManuallyStopped: boolean;
  HasBeenStarted: boolean;
}

export function recordFile(dir: string): string {
  return join(dir, 'config.v2.json');
}

export function saveRecord(dir: string, rec: ContainerRecord): void {
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(recordFile(dir), JSON.stringify(rec));
}

export function loadRecord(dir: string): ContainerRecord {
  return JSON.parse(readFileSync(recordFile(dir), 'utf8')) as ContainerRecord;
}

export function initialState(): StateJSON {
  return {
    Status: 'created',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: '0001-01-01T00:00:00Z',
    FinishedAt: '0001-01-01T00:00:00Z',
  };
}
