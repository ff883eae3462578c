// The engine's images service: Docker's image semantics (ids, tags, dangling images, rmi rules,
// pull/push progress, import, save/load, commit, prune, logins) over src/image's store and
// src/registry's client. Construct it with the engine's context object itself: the containers
// service is looked up lazily (it is created after this one) for in-use checks.
import { chmod, writeFile, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { createLogger, invalidArgument, logFailure, randomSuffix } from '../../common/index.js';
import {
  MediaType,
  applyChanges,
  canonicalName,
  parseReference,
  garbageCollect,
  loadArchive,
  saveDockerArchive,
  parsePlatform,
  type Descriptor,
  type ImageConfig,
  type ImageRunConfig,
  type GcResult,
} from '../../image/index.js';
import { loginRegistry, normalizeAuthKey, type AuthConfig } from '../../registry/index.js';
import type { EngineBase, EngineContext, ImageRef, ImagesService } from './context.js';
import type { Filters } from './common/filters.js';

const log = createLogger({ component: 'engine.images' });
import { Catalog, PARENT_LABEL } from './images/catalog.js';
import { filterImages, history, inspect, summary } from './images/view.js';
import { layerUnpackedSize } from './images/size.js';
import { pruneImages, removeImage, type DeleteItem, type ImageUsers } from './images/remove.js';
import { inspectDistribution, pull, push, pullReference } from './images/transfer.js';
import type { Emit } from './images/progress.js';

export { pullReference } from './images/transfer.js';
export type { DeleteItem } from './images/remove.js';

export interface ImagesOptions {
  /** Registries reached over plain HTTP besides loopback (`--insecure-registry`). */
  insecureRegistries?: string[];
  /** Mirrors tried before docker.io (`--registry-mirror`). */
  mirrors?: string[];
  /** Per-registry pull mirrors: domain → mirror URLs tried before that registry. */
  registryMirrors?: Record<string, string[]>;
}

export interface CommitOptions {
  /** Image the container was created from (id or reference); its layers come first. */
  parent?: string;
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  changes?: string[];
  /** Container id recorded in the config (`Container`). */
  container?: string;
  /** History `created_by`, e.g. the container's command. */
  createdBy?: string;
  /** The committed container's config, kept as `container_config` (inspect's ContainerConfig). */
  containerConfig?: Record<string, unknown>;
}

type Ctx = EngineBase & Partial<Pick<EngineContext, 'containers'>>;

export class EngineImages implements ImagesService {
  readonly catalog: Catalog;
  private shared = 0;
  private exclusive?: Promise<void>;
  private waiters: (() => void)[] = [];

  constructor(
    private ctx: Ctx,
    private readonly opts: ImagesOptions = {},
  ) {
    this.catalog = new Catalog(ctx.imageStore);
  }

  /** Points the service at the full engine context (when it was built from the base only). */
  attach(ctx: EngineContext): this {
    this.ctx = ctx;
    return this;
  }

  private get images() {
    return this.ctx.imageStore;
  }
  /** Logins made through `POST /auth`, kept in Docker's config.json format under the data root. */
  get authFile(): string {
    return join(this.ctx.root, 'registry-auth.json');
  }

  /** Docker's image events: Actor.ID is the image id (or the reference for push), `name` the reference. */
  private emitEvent(Action: string, id: string, name?: string) {
    let shown = name ?? id;
    try {
      if (name && !name.startsWith('sha256:')) shown = parseReference(name, { defaultTag: false }).familiarString();
    } catch {
      /* keep as is */
    }
    this.ctx.events.emit({ Type: 'image', Action, id, attributes: { name: shown } });
  }

  /** Operations that write content hold a shared lock; garbage collection takes it exclusively. */
  private async busy<T>(fn: () => Promise<T>): Promise<T> {
    while (this.exclusive) await this.exclusive;
    this.shared++;
    try {
      return await fn();
    } finally {
      this.shared--;
      if (!this.shared) for (const w of this.waiters.splice(0)) w();
    }
  }

  async gc(): Promise<GcResult> {
    while (this.exclusive) await this.exclusive;
    let release!: () => void;
    this.exclusive = new Promise((r) => {
      release = r;
    });
    try {
      while (this.shared) await new Promise<void>((r) => this.waiters.push(r));
      const i = this.images;
      return await garbageCollect({
        content: i.content,
        images: i.store,
        leases: i.leases,
        snapshotters: [this.ctx.snapshotter],
      });
    } finally {
      this.exclusive = undefined;
      release();
    }
  }

  private users(): ImageUsers {
    const c = this.ctx.containers as
      | (EngineContext['containers'] & { get?(id: string): { State?: { Running?: boolean } } })
      | undefined;
    return {
      users: (id) =>
        (c?.imageUsers(id) ?? []).map((cid) => {
          let running = false;
          try {
            running = !!c?.get?.(cid)?.State?.Running;
          } catch {
            /* gone */
          }
          return { id: cid, running };
        }),
    };
  }

  // ---- used by containers ----

  async resolve(ref: string): Promise<ImageRef> {
    const { entry } = await this.catalog.find(ref);
    return { id: entry.id, name: entry.repoTags[0] ?? entry.id, config: entry.config };
  }

  async unpack(ref: string, signal?: AbortSignal): Promise<string | undefined> {
    return this.busy(async () => {
      const { entry } = await this.catalog.find(ref);
      return this.images.unpack(entry.records[0].name, this.ctx.snapshotter, { signal });
    });
  }

  // ---- the Images API ----

  async list(filters: Filters) {
    const entries = await filterImages(await this.catalog.all(), filters, this.catalog);
    return entries
      .sort((a, b) => (b.config.created ?? '').localeCompare(a.config.created ?? ''))
      .map((e) => summary(e, -1)); // dockerd counts containers only for /system/df (-1: "N/A")
  }

  async inspect(name: string) {
    return inspect((await this.catalog.find(name)).entry, { snapshotter: this.ctx.snapshotter.name });
  }

  async history(name: string) {
    return history((await this.catalog.find(name)).entry);
  }

  /** Points `repo[:tag]` at the image `name`; the image the tag left stays as a dangling one. */
  async tag(name: string, repo: string, tag?: string): Promise<void> {
    if (!repo) throw invalidArgument('repo: name the repository to tag into', { field: 'repo' });
    const { entry } = await this.catalog.find(name);
    const ref = canonicalName(tag ? `${repo}:${tag}` : repo);
    if (ref.includes('@'))
      throw invalidArgument(`refusing to create a tag with a digest reference: ${repo}`, { field: 'repo' });
    await this.moveTag(ref, entry.records[0].target);
    this.emitEvent('tag', entry.id, ref);
  }

  private async moveTag(name: string, target: Descriptor, labels: Record<string, string> = {}): Promise<void> {
    const store = this.images.store;
    const prev = await store.get(name).catch(() => undefined); // the name was not tagged before
    await store.put(name, target, labels);
    if (
      prev &&
      prev.target.digest !== target.digest &&
      !(await store.list()).some((r) => r.target.digest === prev.target.digest)
    ) {
      await store.put(prev.target.digest, prev.target);
    }
    // A dangling record of the newly tagged image is redundant now.
    if (target.digest !== name && (await store.has(target.digest))) await store.delete(target.digest);
  }

  async remove(name: string, o: { force?: boolean; noprune?: boolean } = {}): Promise<DeleteItem[]> {
    const out = await removeImage(this.removeCtx(), name, { force: !!o.force });
    // Layers go now, as Docker's do (a later pull downloads them again).
    if (out.some((x) => x.Deleted) && !o.noprune)
      await this.gc().catch(logFailure(log, 'image gc failed', { image: name }));
    return out;
  }

  async prune(filters: Filters): Promise<{ ImagesDeleted: DeleteItem[] | null; SpaceReclaimed: number }> {
    const out = await pruneImages(this.removeCtx(), filters);
    const r = await this.gc();
    this.ctx.events.emit({
      Type: 'image',
      Action: 'prune',
      id: '',
      attributes: { reclaimed: String(r.reclaimedBytes) },
    });
    return { ImagesDeleted: out.length ? out : null, SpaceReclaimed: r.reclaimedBytes };
  }

  private removeCtx() {
    return {
      images: this.images,
      catalog: this.catalog,
      users: this.users(),
      onUntag: (n: string, id: string) => this.emitEvent('untag', id, n),
      onDelete: (id: string) => this.emitEvent('delete', id),
    };
  }

  /** Credentials for a registry: the request's X-Registry-Auth, else this engine's stored login. */
  private async authFor(domain: string, header?: AuthConfig): Promise<AuthConfig | undefined> {
    if (header) return header;
    try {
      const doc = JSON.parse(await readFile(this.authFile, 'utf8')) as { auths?: Record<string, AuthConfig> };
      return doc.auths?.[normalizeAuthKey(domain)];
    } catch {
      return undefined;
    }
  }

  async pull(
    fromImage: string,
    tag: string | undefined,
    o: { platform?: string; auth?: AuthConfig; emit: Emit; signal?: AbortSignal },
  ) {
    const ref = pullReference(fromImage, tag);
    if (o.platform) parsePlatform(o.platform);
    return this.busy(async () => {
      const auth = await this.authFor(ref.domain, o.auth);
      const r = await pull(this.images, this.ctx.snapshotter, ref, {
        ...o,
        auth,
        insecureRegistries: this.opts.insecureRegistries,
        mirrors: this.opts.mirrors,
        registryMirrors: this.opts.registryMirrors,
      });
      this.emitEvent('pull', r.id, ref.familiarString());
      return r;
    });
  }

  /** `GET /distribution/{name}/json`: the registry's descriptor and platforms, nothing pulled. */
  async distribution(name: string, o: { auth?: AuthConfig; signal?: AbortSignal }) {
    const ref = pullReference(name);
    const auth = await this.authFor(ref.domain, o.auth);
    return inspectDistribution(ref, { auth, insecureRegistries: this.opts.insecureRegistries, signal: o.signal });
  }

  async push(name: string, tag: string | undefined, o: { auth?: AuthConfig; emit: Emit; signal?: AbortSignal }) {
    const domain = pullReference(name).domain;
    return this.busy(async () => {
      const auth = await this.authFor(domain, o.auth);
      await push(this.images, name, tag, { ...o, auth, insecureRegistries: this.opts.insecureRegistries });
      this.emitEvent('push', name, tag ? `${name}:${tag}` : name);
    });
  }

  /** `docker import`: a rootfs tar → a one-layer image; returns its id. */
  async importTar(
    source: Readable,
    o: {
      repo?: string;
      tag?: string;
      changes?: string[];
      message?: string;
      platform?: string;
      signal?: AbortSignal;
    } = {},
  ): Promise<string> {
    const name = o.repo ? canonicalName(o.tag ? `${o.repo}:${o.tag}` : o.repo) : undefined;
    const platform = o.platform ? parsePlatform(o.platform) : undefined;
    return this.busy(async () => {
      const img = await this.images.importRootfsTar(source, {
        changes: o.changes,
        message: o.message,
        platform,
        signal: o.signal,
      });
      const target = img.record.target;
      if (name) await this.moveTag(name, target);
      this.emitEvent('import', img.id, name ?? img.id);
      return img.id;
    });
  }

  async save(names: string[], out: Writable, signal?: AbortSignal): Promise<void> {
    // Resolve ids and prefixes to a record name first: the archive names tagged images by tag.
    const resolved: string[] = [];
    for (const n of names) {
      const { entry, byId, record } = await this.catalog.find(n);
      resolved.push(
        byId
          ? (entry.records.find((r) => !r.name.startsWith('sha256:') && !r.name.includes('@'))?.name ??
              entry.records[0].name)
          : record!.name,
      );
    }
    await this.busy(() => saveDockerArchive(this.images, resolved, out, { signal }));
    for (const n of names) this.emitEvent('save', n);
  }

  /** `docker load`: returns the lines Docker prints ("Loaded image: busybox:latest"). */
  async load(source: Readable, signal?: AbortSignal): Promise<string[]> {
    return this.busy(async () => {
      const before = new Map((await this.images.store.list()).map((r) => [r.name, r.target]));
      const loaded = await loadArchive(this.images, source, { signal });
      const lines: string[] = [];
      for (const l of loaded) {
        if (l.name) {
          const name = canonicalName(l.name);
          const prev = before.get(name);
          const now = await this.images.store.get(name);
          if (prev && prev.digest !== now.target.digest) await this.keepIfOrphan(prev);
          if (await this.images.store.has(now.target.digest)) await this.images.store.delete(now.target.digest);
          const shown = (await this.catalog.find(name)).entry.repoTags.find((t) => canonicalName(t) === name) ?? l.name;
          lines.push(`Loaded image: ${shown}`);
        } else lines.push(`Loaded image ID: ${l.id}`);
        this.emitEvent('load', l.id, l.name);
      }
      return lines;
    });
  }

  private async keepIfOrphan(t: Descriptor): Promise<void> {
    if (!(await this.images.store.list()).some((r) => r.target.digest === t.digest))
      await this.images.store.put(t.digest, t);
  }

  /** `docker commit` (the containers side supplies the diff): parent layers + `layerTar` → an image. */
  async commitFromDiff(layerTar: Readable, config: ImageRunConfig, o: CommitOptions = {}): Promise<string> {
    const parent = o.parent ? (await this.catalog.find(o.parent)).entry : undefined;
    const name = o.repo ? canonicalName(o.tag ? `${o.repo}:${o.tag}` : o.repo) : undefined;
    return this.busy(() =>
      this.images.leases.with(async (lease) => {
        const c = this.images.content;
        const ref = `commit-${randomSuffix(8)}`;
        await this.images.leases.addResource(lease.id, { type: 'ingest', id: ref });
        const w = await c.writer(ref);
        let diff: string;
        try {
          for await (const chunk of layerTar) await w.write(chunk as Buffer);
          diff = await w.commit();
        } catch (e) {
          await w.abort().catch(() => undefined); // the write's own failure is rethrown below
          throw e;
        }
        await this.images.leases.addResource(lease.id, { type: 'content', id: diff });
        const size = (await c.info(diff)).size;
        const now = new Date().toISOString();
        const base: Partial<ImageConfig> = parent?.config ?? {};
        const cfg: ImageConfig = {
          ...(base as ImageConfig),
          created: now,
          author: o.author ?? '',
          architecture: base.architecture ?? process.arch.replace('x64', 'amd64'),
          os: base.os ?? 'linux',
          config: applyChanges(config, o.changes ?? []),
          rootfs: { type: 'layers', diff_ids: [...(base.rootfs?.diff_ids ?? []), diff] },
          history: [
            ...(base.history ?? []),
            { created: now, author: o.author, created_by: o.createdBy ?? '', comment: o.comment ?? '' },
          ],
          ...(o.container ? { container: o.container } : {}),
          ...(o.containerConfig ? { container_config: o.containerConfig } : {}),
        };
        const layers: Descriptor[] = [
          ...(parent?.manifest.layers ?? []),
          { mediaType: MediaType.OciLayer, digest: diff, size },
        ];
        const img = await this.images.storeImage(cfg, layers, undefined, lease.id);
        const labels: Record<string, string> = parent ? { [PARENT_LABEL]: parent.id } : {};
        if (name) await this.moveTag(name, img.record.target, labels);
        else await this.images.store.put(img.record.name, img.record.target, labels);
        this.emitEvent('commit', img.id, name ?? img.id);
        return img.id;
      }),
    );
  }

  /** `POST /auth`: checks the credentials against the registry and keeps them for pulls and pushes
   *  that come without X-Registry-Auth. */
  async login(auth: AuthConfig & { serveraddress?: string }): Promise<{ Status: string; IdentityToken: string }> {
    const server = auth.serveraddress || 'docker.io';
    await loginRegistry(server, { auth, insecureRegistries: this.opts.insecureRegistries });
    let doc: { auths: Record<string, AuthConfig> } = { auths: {} };
    try {
      doc = JSON.parse(await readFile(this.authFile, 'utf8'));
    } catch {
      /* none yet, or unreadable: start afresh */
    }
    doc.auths ??= {};
    doc.auths[normalizeAuthKey(server)] = {
      username: auth.username,
      password: auth.password,
      identitytoken: auth.identitytoken,
    };
    const tmp = `${this.authFile}.${randomSuffix()}`;
    await writeFile(tmp, JSON.stringify(doc), { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.authFile);
    return { Status: 'Login Succeeded', IdentityToken: '' };
  }

  /** For `/system/df`: images with their sizes and container counts. */
  /** `/system/df`'s images: each with its SharedSize (the layers it shares with another image),
   *  from which the CLI computes what removing unused images would reclaim. */
  async diskUsage() {
    const entries = await this.catalog.all();
    const refs = new Map<string, number>();
    for (const e of entries)
      for (const d of new Set(e.manifest.layers.map((l) => l.digest))) refs.set(d, (refs.get(d) ?? 0) + 1);
    const u = this.users();
    const out = [];
    for (const e of entries.sort((a, b) => (b.config.created ?? '').localeCompare(a.config.created ?? ''))) {
      let shared = 0;
      for (const l of e.manifest.layers)
        if ((refs.get(l.digest) ?? 0) > 1)
          shared += await layerUnpackedSize(this.images.content, l).catch(() => l.size);
      out.push({ ...summary(e, u.users(e.id).length), SharedSize: shared });
    }
    return out;
  }
}

export function createImagesService(ctx: Ctx, opts: ImagesOptions = {}): EngineImages {
  return new EngineImages(ctx, opts);
}
