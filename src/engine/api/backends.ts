// The backends of the Engine API's route modules (moby's routers over Backend interfaces): one
// narrow, method-level interface per route file, holding exactly what its routes call. The services
// implement them (structurally: services never import this HTTP layer) and the daemon passes them to
// `buildRouter` at construction, so no route sees a concrete service class or the services' context.
// Only data types (records, options, wire shapes) come from below.
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import type { AuthConfig } from '../../registry/index.js';
import type { RegistryAuth } from '../../build/index.js';
import type { EngineEvent, EventListener } from '../events.js';
import type { Filters } from './query.js';
import type { EngineInfo, VolumeInfo } from '../services/context.js';
import type { CreateVolumeBody } from '../services/volumes.js';

export type { CreateVolumeBody };
import type { NetworkRecord } from '../services/networks.js';

type Json = Record<string, unknown>;
/** The hijacked client connection of an attach/exec (see router.hijack). */
export interface Hijacked {
  socket: Socket;
  head: Buffer;
}
/** One JSON progress message (pull, push, import). */
export type Emit = (m: Json) => void;

/** routes/containers.ts. */
export interface ContainerBackend {
  create(body: unknown, name?: string, platform?: string): Promise<{ Id: string; Warnings: string[] }>;
  /** GET /containers/json: sorted newest first, filtered, limited; sizes with `size`. */
  list(o: { all: boolean; limit: number; filters: Filters; size: boolean }): Promise<Json[]>;
  inspect(ref: string, o: { size: boolean }): Promise<Json>;
  /** The container's id and whether it has a TTY (its streams are raw, not multiplexed); NotFound. */
  find(ref: string): { id: string; tty: boolean };
  start(ref: string): Promise<void>;
  stop(ref: string, o: { timeout?: number; signal?: string }): Promise<void>;
  restart(ref: string, o: { timeout?: number; signal?: string }): Promise<void>;
  kill(ref: string, signal: string): Promise<void>;
  pause(ref: string): Promise<void>;
  unpause(ref: string): Promise<void>;
  rename(ref: string, name: string): Promise<void>;
  update(ref: string, body: Json): Promise<{ Warnings: string[] }>;
  remove(ref: string, o: { force?: boolean; volumes?: boolean }): Promise<void>;
  /** `docker rm --link /web/db`: removes web's link named db. */
  removeLink(name: string): void;
  /** Validates synchronously (before the caller sends headers), then resolves on the condition. */
  wait(ref: string, condition: string, signal: AbortSignal): Promise<object>;
  logs(ref: string, o: LogRequest, out: Writable): Promise<void>;
  /** The whole attach: validates, then `open`s the connection (raw for a TTY) and bridges it to the
   *  container, now or (not running yet: `docker run`) when it starts. */
  attach(ref: string, o: AttachRequest, open: (tty: boolean) => Hijacked): Promise<void>;
  resize(ref: string, h: number, w: number): Promise<void>;
  top(ref: string, psArgs?: string): Promise<object>;
  stats(id: string, oneShot: boolean): Promise<Json>;
  changes(ref: string): Promise<{ Path: string; Kind: number }[]>;
  export(ref: string): Promise<Readable>;
  /** `docker commit`: the container's filesystem changes as a new image; returns its id. */
  commit(o: CommitRequest): Promise<string>;
  prune(filters: Filters): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>;
}

export interface LogRequest {
  follow: boolean;
  stdout: boolean;
  stderr: boolean;
  timestamps: boolean;
  details?: boolean;
  tail?: number;
  since?: number;
  until?: number;
  signal?: AbortSignal;
}

export interface AttachRequest {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  stream: boolean;
  logs: boolean;
  /** As sent (`ctrl-p,ctrl-q` when absent). */
  detachKeys?: string;
}

export interface CommitRequest {
  container: string;
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  /** Dockerfile instructions applied to the config (`--change`). */
  changes: string[];
  pause: boolean;
  /** Config fields given in the body, over the container's. */
  config: Json;
}

/** routes/archive.ts (`docker cp`). */
export interface ArchiveBackend {
  archiveStat(ref: string, path: string): Promise<object>;
  archiveGet(ref: string, path: string): Promise<{ stat: object; tar: Readable; done: Promise<void> }>;
  archivePut(
    ref: string,
    path: string,
    body: AsyncIterable<Buffer>,
    o: { noOverwriteDirNonDir: boolean; copyUIDGID?: boolean },
  ): Promise<void>;
}

/** routes/exec.ts. */
export interface ExecBackend {
  create(containerRef: string, body: Json | undefined): { Id: string };
  inspect(id: string): Json;
  get(id: string): { ID: string; started: boolean; config: { Tty: boolean } };
  resize(id: string, h: number, w: number): Promise<void>;
  start(
    id: string,
    o: { detach: boolean; tty?: boolean; consoleSize?: [number, number] | null },
    client?: Hijacked,
  ): Promise<void>;
}

/** routes/images.ts. */
export interface ImagesBackend {
  list(filters: Filters): Promise<object[]>;
  inspect(name: string): Promise<object>;
  history(name: string): Promise<object[]>;
  /** Finds a local image (NotFound "No such image: X"). */
  resolve(name: string): Promise<unknown>;
  tag(name: string, repo: string, tag?: string): Promise<void>;
  remove(name: string, o: { force?: boolean; noprune?: boolean }): Promise<object[]>;
  prune(filters: Filters): Promise<object>;
  pull(
    name: string,
    tag: string | undefined,
    o: { platform?: string; auth?: AuthConfig; emit: Emit; signal?: AbortSignal },
  ): Promise<unknown>;
  push(
    name: string,
    tag: string | undefined,
    o: { auth?: AuthConfig; emit: Emit; signal?: AbortSignal },
  ): Promise<void>;
  distribution(name: string, o: { auth?: AuthConfig; signal?: AbortSignal }): Promise<object>;
  importTar(
    source: Readable,
    o: { repo?: string; tag?: string; changes?: string[]; message?: string; platform?: string; signal?: AbortSignal },
  ): Promise<string>;
  save(names: string[], out: Writable, signal?: AbortSignal): Promise<void>;
  load(source: Readable, signal?: AbortSignal): Promise<string[]>;
}

/** routes/auth.ts. */
export interface AuthBackend {
  login(a: AuthConfig & { registrytoken?: string; serveraddress?: string }): Promise<object>;
}

/** routes/networks.ts. */
export interface NetworksBackend {
  list(f: Filters): object[];
  find(ref: string): NetworkRecord;
  view(n: NetworkRecord, verbose: boolean): object;
  create(body: Json | undefined): Promise<object>;
  remove(ref: string): Promise<void>;
  connect(ref: string, body: { Container?: string; EndpointConfig?: Json } | undefined): Promise<void>;
  disconnect(ref: string, body: { Container?: string; Force?: boolean } | undefined): Promise<void>;
  prune(f: Filters): Promise<object>;
}

/** routes/volumes.ts. */
export interface VolumesBackend {
  list(f: Filters): Promise<object>;
  create(body: CreateVolumeBody): Promise<VolumeInfo>;
  inspect(name: string): Promise<VolumeInfo>;
  remove(name: string, o: { force?: boolean }): Promise<void>;
  prune(f: Filters): Promise<object>;
}

/** routes/build.ts: the classic builder over a tar context. */
export interface BuildBackend {
  /** Extracts `context` (a tar, maybe compressed) and builds it; returns the image id. Fails before
   *  any `onOutput` for a bad context or Dockerfile. */
  build(context: NodeJS.ReadableStream, o: BuildRequest): Promise<{ id: string }>;
  /** `docker builder prune`: the cache entries, then the image store's garbage collection. */
  prune(): Promise<{ CachesDeleted: string[] | null; SpaceReclaimed: number }>;
}

export interface BuildRequest {
  dockerfile: string;
  tags: string[];
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
  target?: string;
  noCache: boolean;
  pull: boolean;
  registryAuths?: Record<string, RegistryAuth>;
  network: 'default' | 'host' | 'none';
  signal: AbortSignal;
  onOutput(line: string): void;
}

/** routes/system.ts: /_ping, /version, /info, /system/df, /events. */
export interface SystemBackend {
  readonly info: EngineInfo;
  /** --data-root. */
  readonly root: string;
  containerCounts(): { total: number; running: number; paused: number; stopped: number };
  /** Distinct images in the store. */
  imageCount(): Promise<number>;
  /** The storage driver's name as dockerd reports it (overlay2, vfs). */
  storageDriver(): string;
  /** GET /system/df's body. */
  diskUsage(): Promise<object>;
  subscribe(l: EventListener): () => void;
  pastEvents(f: Filters, since?: number, until?: number): EngineEvent[];
}

/** What `buildRouter` is built from: one backend per route module. */
export interface Backends {
  system: SystemBackend;
  containers: ContainerBackend & ArchiveBackend;
  execs: ExecBackend;
  images: ImagesBackend & AuthBackend;
  networks: NetworksBackend;
  volumes: VolumesBackend;
  build: BuildBackend;
}
