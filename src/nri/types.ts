// The NRI messages the runtime side builds and reads (a subset of api.proto's fields, camelCase as
// protobufjs gives them; int64 as Number).

export enum NriEvent {
  RunPodSandbox = 1,
  StopPodSandbox = 2,
  RemovePodSandbox = 3,
  CreateContainer = 4,
  PostCreateContainer = 5,
  StartContainer = 6,
  PostStartContainer = 7,
  UpdateContainer = 8,
  PostUpdateContainer = 9,
  StopContainer = 10,
  RemoveContainer = 11,
  UpdatePodSandbox = 12,
  PostUpdatePodSandbox = 13,
  ValidateContainerAdjustment = 14,
}
/** Every event bit (api.ValidEvents): bit e-1 for event e, up to LAST = 15. */
export const VALID_EVENTS = (1 << 14) - 1;

export enum NriContainerState {
  Unknown = 0,
  Created = 1,
  Paused = 2,
  Running = 3,
  Stopped = 4,
}

export interface NriMount {
  destination?: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface NriPodSandbox {
  id: string;
  name?: string;
  uid?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  runtimeHandler?: string;
  linux?: { cgroupParent?: string; cgroupsPath?: string };
  pid?: number;
  ips?: string[];
}

export interface NriContainer {
  id: string;
  podSandboxId: string;
  name?: string;
  state?: NriContainerState;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  args?: string[];
  env?: string[];
  mounts?: NriMount[];
  pid?: number;
  createdAt?: number;
  startedAt?: number;
  finishedAt?: number;
  exitCode?: number;
  statusReason?: string;
  statusMessage?: string;
  image?: { name?: string };
}

export interface NriOptionalValue<T> {
  value?: T;
}
export interface NriLinuxResources {
  memory?: { limit?: NriOptionalValue<number>; [k: string]: unknown };
  cpu?: {
    shares?: NriOptionalValue<number>;
    quota?: NriOptionalValue<number>;
    period?: NriOptionalValue<number>;
    cpus?: string;
    mems?: string;
    [k: string]: unknown;
  };
  unified?: Record<string, string>;
  [k: string]: unknown;
}

export interface NriContainerAdjustment {
  annotations?: Record<string, string>;
  mounts?: NriMount[];
  env?: { key?: string; value?: string }[];
  args?: string[];
  linux?: { resources?: NriLinuxResources; [k: string]: unknown };
  [k: string]: unknown;
}

export interface NriContainerUpdate {
  containerId?: string;
  linux?: { resources?: NriLinuxResources };
  ignoreFailure?: boolean;
}

export interface NriContainerEviction {
  containerId?: string;
  reason?: string;
}

/** What the plugins answered a CreateContainer with, in plugin order. */
export interface NriCreateResult {
  adjustments: { plugin: string; adjust: NriContainerAdjustment }[];
  updates: NriContainerUpdate[];
  evictions: NriContainerEviction[];
}
