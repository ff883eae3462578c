// What the parts of the agent share: the node's identity and settings, the runtime, the API client
// and the managers (events, objects, volumes, images, probes, statuses).
import type { Logger } from '../../common/index.js';
import type { ContainerRuntime } from '../../cri/index.js';
import type { KubeClient } from '../client/index.js';
import type { EventRecorder } from './events.js';
import type { Backoff } from './pods/backoff.js';
import type { ObjectCache } from './objects.js';
import type { ServiceInfo } from './pods/env.js';
import type { ImagePuller } from './pods/images.js';
import type { SandboxSettings } from './pods/sandbox-config.js';
import type { ProbeManager } from './probes/manager.js';
import type { StatusManager } from './status-manager.js';
import type { Pod } from './types.js';
import type { VolumeManager } from './volumes/manager.js';
import type { SandboxIndex } from './sandbox-index.js';
import type { TokenSource } from './volumes/projection.js';

export interface NodeFacts {
  hostIPs: string[];
  memoryCapacity: number;
  allocatable: { cpuMilli: number; memory: number; ephemeralStorage: number };
  /** Allocatable pods (kubelet's --max-pods): admission refuses a pod beyond it. */
  maxPods: number;
}

export interface AgentContext {
  nodeName: string;
  runtime: ContainerRuntime;
  /** `containerd`-style prefix of container IDs in statuses (`<runtimeName>://<id>`). */
  runtimeName: string;
  client: KubeClient;
  log: Logger;
  events: EventRecorder;
  objects: ObjectCache;
  volumes: VolumeManager;
  images: ImagePuller;
  probes: ProbeManager;
  status: StatusManager;
  tokens: TokenSource;
  /** Each pod's sandboxes (from the PLEG's relist and the agent's own calls). */
  sandboxes: SandboxIndex;
  /** Crash-loop back-off per pod, container and spec hash. */
  crashBackoff: Backoff;
  sandbox: SandboxSettings;
  node: NodeFacts;
  /** The Services of a namespace (service links) and default/kubernetes. */
  services(namespace: string): { local: ServiceInfo[]; master?: ServiceInfo };
  /** The newest pod object the agent has for a uid. */
  pod(uid: string): Pod | undefined;
}
