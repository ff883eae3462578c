// The services object (what every service is built from and how services see each other), and the
// interfaces of each service. Defined here, below the HTTP layer: routes depend on services, never
// the other way round.
// Ownership: the container side (containers, exec, networks, system) is the engine-core engineer's;
// `ImagesService` and `VolumesService` belong to the images engineer, who may add members to those
// two interfaces (the container side relies only on the members marked "used by containers").
import type { Images, Snapshotter, ImageConfig } from '../../image/index.js';
import type { EventBus } from '../events.js';

/** What every service is built from: the data root, the shared image layer and the event bus. */
export interface EngineBase {
  /** --data-root (e.g. /var/lib/skiff/engine). */
  root: string;
  /** Content store + image references (src/image). */
  imageStore: Images;
  /** The snapshotter containers and unpacking share. */
  snapshotter: Snapshotter;
  events: EventBus;
  info: EngineInfo;
}

export interface EngineInfo {
  id: string;
  name: string;
  version: string;
  apiVersion: string;
  minApiVersion: string;
  startedAt: Date;
  /** Cgroup parent for containers (cgroupfs path), e.g. /skiff-engine. */
  cgroupParent: string;
  /** Registries reached over plain HTTP / unverified TLS (--insecure-registry), for /info. */
  insecureRegistries?: string[];
  /** Live restore (dockerd's --live-restore): containers keep running while the engine is down. */
  liveRestore: boolean;
}

/** An image as containers see it. */
export interface ImageRef {
  /** Docker's image id (config digest, `sha256:…`). */
  id: string;
  /** The canonical reference it was found by, or the id. */
  name: string;
  config: ImageConfig;
}

export interface ImagesService {
  /** (used by containers) Finds a local image by reference, id or id prefix; NotFound "No such image: X". */
  resolve(ref: string): Promise<ImageRef>;
  /** (used by containers) Unpacks the image into the engine's snapshotter; returns the top chain id. */
  unpack(ref: string, signal?: AbortSignal): Promise<string | undefined>;
  /** (for /system/df) Image summaries as `GET /images/json` returns them (Size, Containers, …). */
  diskUsage?(): Promise<{ Id: string; Size: number; Containers: number }[]>;
}

export interface VolumeInfo {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Scope: 'local';
  Options: Record<string, string>;
  Status?: Record<string, unknown>;
  UsageData?: { Size: number; RefCount: number } | null;
}

export interface VolumesService {
  /** (used by containers) Returns the volume, creating it (local driver) when missing. An anonymous
   *  volume gets label `com.docker.volume.anonymous=""`. */
  ensure(
    name: string,
    opts?: {
      labels?: Record<string, string>;
      anonymous?: boolean;
      driver?: string;
      driverOpts?: Record<string, string>;
    },
  ): Promise<VolumeInfo>;
  /** (used by containers) Removes a volume (rm -v of anonymous volumes); NotFound is not an error for them. */
  remove(name: string, opts?: { force?: boolean }): Promise<void>;
  /** (for /system/df) Every volume with `UsageData` {Size, RefCount}. */
  usage?(): Promise<VolumeInfo[]>;
}

export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** The container side, as other services need it (volume in-use checks, image rm conflicts, df). */
export interface ContainersService {
  /** Ids of containers using a named volume. */
  volumeUsers(name: string): string[];
  /** Ids of containers created from an image id (`sha256:…`). */
  imageUsers(imageId: string): string[];
  /** Summaries for /containers/json-like listings. */
  count(): { total: number; running: number; paused: number; stopped: number };
}

export interface NetworksService {
  /** Ids of all networks (for df/info). */
  count(): number;
}

export interface EngineContext extends EngineBase {
  images: ImagesService;
  volumes: VolumesService;
  containers: ContainersService;
  networks: NetworksService;
}
