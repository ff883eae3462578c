// `skiff engine`: composes the image layer, the services and the Engine API server(s).
import { mkdirSync, rmSync, existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Server } from 'node:http';
import { invalidArgument, phase } from '../common/index.js';
import { openImages, createSnapshotter, type Snapshotter } from '../image/index.js';
import { EventBus } from './events.js';
import { createApiServer } from './api/server.js';
import { buildRouter } from './api/routes/index.js';
import type { EngineBase, EngineContext } from './services/context.js';
import { Containers } from './services/containers/service.js';
import { ContainerApi } from './services/containers/api.js';
import { Execs } from './services/containers/exec.js';
import { startHealth } from './services/containers/health.js';
import { Networks, type NetworkDriver } from './services/networks.js';
import { createImagesService } from './services/images.js';
import { createVolumesService } from './services/volumes.js';
import { BuildService } from './services/build.js';
import { SystemApi } from './services/system.js';
// The CRI part (≈ 200 generated protobuf modules) loads only when it is asked for.
import type { EngineCri, CriOptions } from './cri/index.js';

export const ENGINE_VERSION = '28.0.0-skiff';
export const API_VERSION = '1.45';
export const MIN_API_VERSION = '1.24';

export interface EngineOptions {
  dataRoot?: string;
  /** Runtime state, monitors and exec sessions (short paths: unix sockets live here). */
  execRoot?: string;
  /** unix:///path or tcp://host:port */
  hosts?: string[];
  cgroupParent?: string;
  snapshotter?: 'overlayfs' | 'native';
  networkDriver?: NetworkDriver;
  /** Registries reached over plain HTTP besides loopback. */
  insecureRegistries?: string[];
  /** Per-registry pull mirrors (containerd's hosts.toml role): domain → mirror URLs tried first. */
  registryMirrors?: Record<string, string[]>;
  /** dockerd's --live-restore (default on here: containers run under monitors that outlive the
   *  engine). Off: the engine stops its running containers when it shuts down, and stops those it
   *  finds running at start; restart policies then apply. */
  liveRestore?: boolean;
  /** Also serve the Container Runtime Interface (pods) from the same image store and runtime. */
  cri?: CriOptions;
}

export interface Engine {
  ctx: EngineContext;
  /** The CRI implementation (with `cri` in the options). */
  cri?: EngineCri;
  /** Listening addresses. */
  hosts: string[];
  close(): Promise<void>;
}

async function pickSnapshotter(kind: 'overlayfs' | 'native' | undefined, root: string): Promise<Snapshotter> {
  if (kind) return createSnapshotter(kind, join(root, kind));
  try {
    return await createSnapshotter('overlayfs', join(root, 'overlayfs'));
  } catch {
    return createSnapshotter('native', join(root, 'native'));
  }
}

function listen(server: Server, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    if (host.startsWith('unix://')) {
      const path = host.slice(7);
      mkdirSync(dirname(path), { recursive: true });
      rmSync(path, { force: true });
      server.listen(path, () => {
        chmodSync(path, 0o660);
        resolve(host);
      });
    } else if (host.startsWith('tcp://')) {
      const u = new URL(host.replace(/^tcp:/, 'http:'));
      server.listen(Number(u.port || 2375), u.hostname, () => {
        const a = server.address();
        resolve(typeof a === 'object' && a ? `tcp://${u.hostname}:${a.port}` : host);
      });
    } else reject(invalidArgument(`--host ${host}: use unix:///path or tcp://host:port`, { field: 'host' }));
  });
}

export async function startEngine(o: EngineOptions = {}): Promise<Engine> {
  const root = o.dataRoot ?? '/var/lib/skiff/engine';
  const execRoot = o.execRoot ?? '/run/skiff/engine';
  mkdirSync(root, { recursive: true });
  mkdirSync(execRoot, { recursive: true });
  const idFile = join(root, 'engine-id');
  if (!existsSync(idFile))
    writeFileSync(
      idFile,
      randomBytes(16)
        .toString('hex')
        .toUpperCase()
        .replace(/(.{4})(?=.)/g, '$1:')
        .slice(0, 39),
    );
  const imageStore = await openImages(join(root, 'image'));
  phase('image store open');
  const snapshotter = await pickSnapshotter(o.snapshotter, join(root, 'snapshots'));
  phase('snapshotter ready');
  const base: EngineBase = {
    root,
    imageStore,
    snapshotter,
    events: new EventBus(),
    info: {
      id: readFileSync(idFile, 'utf8').trim(),
      name: hostname(),
      version: ENGINE_VERSION,
      apiVersion: API_VERSION,
      minApiVersion: MIN_API_VERSION,
      startedAt: new Date(),
      cgroupParent: o.cgroupParent ?? '/skiff-engine',
      insecureRegistries: o.insecureRegistries,
      liveRestore: o.liveRestore ?? true,
    },
  };
  const ctx = { ...base } as EngineContext;
  const images = createImagesService(ctx, {
    insecureRegistries: o.insecureRegistries,
    registryMirrors: o.registryMirrors,
  });
  ctx.images = images;
  const volumes = createVolumesService(ctx);
  ctx.volumes = volumes;
  const networks = new Networks(ctx, o.networkDriver).init();
  ctx.networks = networks;
  const containers = new Containers(ctx, networks, {
    execRoot,
    cgroupParent: base.info.cgroupParent,
    liveRestore: base.info.liveRestore,
  });
  ctx.containers = containers;
  networks.bindContainers(containers);
  await networks.start();
  phase('networks started');
  const execs = new Execs(containers, execRoot);
  containers.execs = execs;
  containers.healthStarter = (c) => startHealth(containers, c);
  await containers.restore();
  phase('containers restored');
  let cri: EngineCri | undefined;
  if (o.cri) {
    const { EngineCri } = await import('./cri/index.js');
    cri = new EngineCri(ctx, images, execRoot, o.cri);
    await cri.start();
    phase('cri started');
  }
  const build = new BuildService({ ...base, images, networks });
  const router = buildRouter({
    system: new SystemApi({ ...base, containers, images, volumes, build }),
    containers: new ContainerApi(containers, images),
    execs,
    images,
    networks,
    volumes,
    build,
  });
  const hosts = o.hosts?.length ? o.hosts : ['unix:///run/skiff/engine.sock'];
  const servers: Server[] = [];
  const bound: string[] = [];
  try {
    for (const h of hosts) {
      const s = createApiServer(router, base.info);
      bound.push(await listen(s, h));
      servers.push(s);
    }
    phase('api listening');
  } catch (e) {
    for (const s of servers) s.close();
    containers.close();
    await cri?.close();
    throw e;
  }
  return {
    ctx,
    cri,
    hosts: bound,
    async close() {
      if (!base.info.liveRestore) await containers.stopAllForShutdown();
      containers.close();
      await cri?.close();
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((res) => {
              s.close(() => res());
              s.closeAllConnections?.();
            }),
        ),
      );
      for (const h of bound) if (h.startsWith('unix://')) rmSync(h.slice(7), { force: true });
    },
  };
}
