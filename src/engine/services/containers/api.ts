// The container side of the Engine API (what routes/containers.ts and routes/archive.ts call, the
// ContainerBackend and ArchiveBackend of api/backends.ts): the lifecycle of the Containers service,
// plus the views, streams, sizes, archive, commit and prune built over it.
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { invalidArgument } from '../../../common/index.js';
import type { Filters } from '../common/filters.js';
import type { Containers } from './service.js';
import { inspect, summary } from './view.js';
import { listContainers, pruneCandidates } from './list.js';
import { streamLogs, bridgeAttach, parseDetachKeys, monitorAttach, type LogOptions } from './streams.js';
import { containerStats } from './stats.js';
import { topProcesses } from './top.js';
import { sizesOf } from './size.js';
import { archiveStat, archiveGet, archivePut, exportRootfs } from './archive.js';
import { commitContainer, type CommitImages, type CommitInput } from './commit.js';

/** What the API needs from the images service: image sizes (list --size) and commit. */
export interface ContainerApiImages extends CommitImages {
  diskUsage?(): Promise<{ Id: string; Size: number }[]>;
}

export interface AttachInput {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  stream: boolean;
  logs: boolean;
  detachKeys?: string;
}

export class ContainerApi {
  constructor(
    private readonly s: Containers,
    private readonly images: ContainerApiImages,
  ) {}

  create(body: unknown, name?: string, platform?: string) {
    return this.s.create(body, name, platform);
  }

  async list(o: { all: boolean; limit: number; filters: Filters; size: boolean }) {
    const list = listContainers(this.s.all(), o);
    if (!o.size) return list.map((c) => summary(c));
    const sizes = await sizesOf(this.s.ctx.snapshotter, this.images, list);
    return list.map((c, i) => summary(c, sizes[i]));
  }

  async inspect(ref: string, o: { size: boolean }) {
    const s = this.s;
    const c = s.get(ref);
    const paths = { dir: s.dirOf(c.Id), logPath: s.logPath(c.Id), rootfs: s.rootfs(c.Id) };
    const out = inspect(c, { ...paths, snapshotter: s.ctx.snapshotter.name }, s.execIds(c.Id));
    if (o.size) {
      const [z] = await sizesOf(s.ctx.snapshotter, this.images, [c]);
      out.SizeRw = z.rw;
      out.SizeRootFs = z.rootfs;
    }
    return out;
  }

  find(ref: string): { id: string; tty: boolean } {
    const c = this.s.get(ref);
    return { id: c.Id, tty: c.Config.Tty };
  }

  start(ref: string) {
    return this.s.start(ref);
  }
  stop(ref: string, o: { timeout?: number; signal?: string }) {
    return this.s.stop(ref, o);
  }
  restart(ref: string, o: { timeout?: number; signal?: string }) {
    return this.s.restart(ref, o);
  }
  kill(ref: string, signal: string) {
    return this.s.kill(ref, signal);
  }
  pause(ref: string) {
    return this.s.pause(ref);
  }
  unpause(ref: string) {
    return this.s.unpause(ref);
  }
  rename(ref: string, name: string) {
    return this.s.rename(ref, name);
  }
  update(ref: string, body: Record<string, unknown>) {
    return this.s.update(ref, body);
  }
  remove(ref: string, o: { force?: boolean; volumes?: boolean }) {
    return this.s.remove(ref, o);
  }
  removeLink(name: string) {
    this.s.removeLink(name);
  }
  wait(ref: string, condition: string, signal: AbortSignal) {
    return this.s.wait(ref, condition, signal);
  }
  logs(ref: string, o: LogOptions, out: Writable) {
    return streamLogs(this.s, ref, o, out);
  }

  /** POST /containers/{id}/attach after the route read its query: `open` hijacks the connection. */
  async attach(ref: string, q: AttachInput, open: (tty: boolean) => { socket: Socket; head: Buffer }) {
    const s = this.s;
    const c = s.get(ref);
    const o = { ...q, detachKeys: parseDetachKeys(q.detachKeys) };
    if (!o.stream && !o.logs)
      throw invalidArgument('Bad parameters: you must choose at least one stream', { field: 'stream' });
    const tty = c.Config.Tty;
    s.event(c.Id, 'attach'); // as dockerd, once the request is accepted
    const { socket, head } = open(tty);
    socket.pause();
    try {
      if (o.logs)
        await streamLogs(s, c.Id, { follow: false, stdout: o.stdout, stderr: o.stderr, timestamps: false }, socket);
      if (!o.stream) {
        socket.end();
        return;
      }
      const connect = async (mdir: string | undefined) => {
        if (!mdir) {
          socket.end();
          return;
        }
        try {
          const sess = await monitorAttach(mdir, { closeStdinOnEnd: false });
          // the bridge ends with the client or the container; a broken one only ends the connection
          void bridgeAttach(sess, socket, head, o, tty, c.Config.StdinOnce).catch(() => socket.destroy());
        } catch (e) {
          socket.destroy();
          throw e;
        }
      };
      if (c.State.Running) await connect(s.monitorDir(c.Id));
      else {
        // Attach before start (docker run): connected once the container exists, before its process runs.
        s.attachBeforeStart(c.Id, connect);
        // A container that is never started ends the connection when removed.
        void s.wait(c.Id, 'removed').then(
          () => {
            if (!socket.destroyed) socket.end();
          },
          () => undefined, // the container's wait ended otherwise (engine shutdown): nothing to end
        );
      }
    } catch (e) {
      socket.destroy();
      throw e;
    }
  }

  async resize(ref: string, h: number, w: number) {
    const c = this.s.get(ref);
    if (!c.State.Running) throw invalidArgument(`Container ${c.Id} is not running`, { field: 'id' });
    const sess = await monitorAttach(this.s.monitorDir(c.Id));
    sess.resize(h, w);
    setTimeout(() => sess.close(), 50);
  }

  top(ref: string, psArgs?: string) {
    return topProcesses(this.s, ref, psArgs);
  }
  stats(id: string, oneShot: boolean) {
    return containerStats(this.s, id, oneShot);
  }

  async changes(ref: string) {
    const c = this.s.get(ref);
    const ch = await this.s.ctx.snapshotter.changes(c.SnapshotKey);
    return ch.map((x) => ({ Path: x.path, Kind: x.kind === 'C' ? 0 : x.kind === 'A' ? 1 : 2 }));
  }

  export(ref: string): Promise<Readable> {
    return exportRootfs(this.s, ref);
  }

  commit(o: CommitInput): Promise<string> {
    return commitContainer(this.s, this.images, o);
  }

  async prune(f: Filters) {
    const deleted: string[] = [];
    for (const c of pruneCandidates(this.s.all(), f)) {
      await this.s.remove(c.Id, {}).then(
        () => deleted.push(c.Id),
        () => undefined, // as dockerd: a container that cannot be removed is skipped, not an error
      );
    }
    this.s.ctx.events.emit({ Type: 'container', Action: 'prune', id: '', attributes: { reclaimed: '0' } });
    return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: 0 };
  }

  archiveStat(ref: string, path: string) {
    return archiveStat(this.s, ref, path);
  }
  archiveGet(ref: string, path: string) {
    return archiveGet(this.s, ref, path);
  }
  archivePut(
    ref: string,
    path: string,
    body: AsyncIterable<Buffer>,
    o: { noOverwriteDirNonDir: boolean; copyUIDGID?: boolean },
  ) {
    return archivePut(this.s, ref, path, body, o);
  }
}
