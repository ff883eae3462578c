// `docker rmi` and `docker image prune` with moby's rules: removing a tag only untags while other
// references remain; the image itself goes with its last reference unless a container uses it
// (409 "must be forced"; a running container's image "cannot be forced"), it has child images, or
// it is removed by id while tagged in several repositories. Blobs and unpacked layers are reclaimed
// by the caller's garbage collection afterwards.
import { conflict, invalidArgument } from '../../../common/index.js';
import { chainIds, type Images, type ImageRecord } from '../../../image/index.js';
import { matchLabels, validateFilters, filterBool, type Filters } from '../common/filters.js';
import { recordKind, type Catalog, type ImageEntry } from './catalog.js';
import { createdOf } from './view.js';

export interface DeleteItem {
  Untagged?: string;
  Deleted?: string;
}

/** What the engine knows about containers using an image. */
export interface ImageUsers {
  users(imageId: string): { id: string; running: boolean }[];
}

const short = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

interface RemoveCtx {
  images: Images;
  catalog: Catalog;
  users: ImageUsers;
  onUntag(name: string, imageId: string): void;
  onDelete(imageId: string): void;
}

async function untag(c: RemoveCtx, rec: ImageRecord, imageId: string, out: DeleteItem[]): Promise<void> {
  await c.images.store.delete(rec.name);
  const k = recordKind(rec.name);
  const shown = k.tag ?? k.digest;
  if (shown) {
    out.push({ Untagged: shown });
    c.onUntag(shown, imageId);
  }
}

function repoOf(rec: ImageRecord): string | undefined {
  const k = recordKind(rec.name);
  const s = k.tag ?? k.digest;
  if (!s) return undefined;
  return k.digest ? s.slice(0, s.indexOf('@')) : s.slice(0, s.lastIndexOf(':'));
}

/** Removes every record of an image; keeps a dangling record while containers use it. */
async function deleteImage(c: RemoveCtx, e: ImageEntry, keep: boolean, out: DeleteItem[]): Promise<void> {
  const current = (await c.images.store.list()).filter((r) =>
    e.records.some((x) => x.target.digest === r.target.digest),
  );
  for (const r of current) await untag(c, r, e.id, out);
  if (keep) {
    await c.images.store.put(e.records[0].target.digest, e.records[0].target);
    return;
  }
  await reportDeleted(c, e, out);
}

/** The image is gone: "Deleted: ID", then (as dockerd) each of its layers no image still uses, by
 *  chain id, topmost first. */
async function reportDeleted(c: RemoveCtx, e: ImageEntry, out: DeleteItem[]): Promise<void> {
  out.push({ Deleted: e.id });
  c.onDelete(e.id);
  const kept = new Set((await c.catalog.all()).flatMap((x) => chainIds(x.config.rootfs.diff_ids)));
  for (const id of chainIds(e.config.rootfs.diff_ids).reverse()) if (!kept.has(id)) out.push({ Deleted: id });
}

export async function removeImage(c: RemoveCtx, name: string, o: { force: boolean }): Promise<DeleteItem[]> {
  const { entry: e, byId, record } = await c.catalog.find(name);
  const users = c.users.users(e.id);
  const running = users.find((u) => u.running);
  const children = (await c.catalog.all()).filter((x) => x.parent === e.id);
  const out: DeleteItem[] = [];
  if (!byId && record) {
    const named = e.records.filter((r) => recordKind(r.name).tag || recordKind(r.name).digest);
    const tags = named.filter((r) => recordKind(r.name).tag);
    const isTag = !!recordKind(record.name).tag;
    // Not the last tag: just untag (a digest reference goes alone too while tags remain).
    if ((isTag && tags.length > 1) || (!isTag && tags.length > 0) || (!isTag && named.length > 1)) {
      await untag(c, record, e.id, out);
      return out;
    }
    if (users.length && !o.force) {
      throw conflict(
        `conflict: unable to remove repository reference "${recordKind(record.name).tag ?? recordKind(record.name).digest}" (must force) - container ${short(users[0].id)} is using its referenced image ${short(e.id)}`,
      );
    }
    // The last tag: its repository's digest references go with it, then the image.
    const repo = repoOf(record);
    for (const r of named) if (r.name !== record.name && repoOf(r) === repo) await untag(c, r, e.id, out);
    await untag(c, record, e.id, out);
    const left = (await c.images.store.list()).filter((r) =>
      e.records.some((x) => x.target.digest === r.target.digest),
    );
    if (left.length) return out;
    if (users.length || children.length) {
      await c.images.store.put(record.target.digest, record.target);
      return out;
    }
    await reportDeleted(c, e, out);
    return out;
  }
  if (children.length)
    throw conflict(`conflict: unable to delete ${short(e.id)} (cannot be forced) - image has dependent child images`);
  if (running)
    throw conflict(
      `conflict: unable to delete ${short(e.id)} (cannot be forced) - image is being used by running container ${short(running.id)}`,
    );
  const repos = new Set(e.records.map(repoOf).filter(Boolean));
  if (repos.size > 1 && !o.force)
    throw conflict(
      `conflict: unable to delete ${short(e.id)} (must be forced) - image is referenced in multiple repositories`,
    );
  if (users.length && !o.force)
    throw conflict(
      `conflict: unable to delete ${short(e.id)} (must be forced) - image is being used by stopped container ${short(users[0].id)}`,
    );
  await deleteImage(c, e, users.length > 0, out);
  return out;
}

/** `POST /images/prune`: dangling images by default; with `dangling=false` every image no container
 *  uses. Filters: dangling, label, label!, until. */
export async function pruneImages(c: RemoveCtx, f: Filters): Promise<DeleteItem[]> {
  validateFilters(f, ['dangling', 'label', 'label!', 'until']);
  const danglingOnly = filterBool(f, 'dangling') ?? true;
  const until = f.until?.[0] ? untilSeconds(f.until[0]) : undefined;
  const all = await c.catalog.all();
  const parents = new Set(all.map((x) => x.parent).filter(Boolean));
  const out: DeleteItem[] = [];
  for (const e of all) {
    if (danglingOnly && e.repoTags.length) continue;
    if (c.users.users(e.id).length || parents.has(e.id)) continue;
    const labels = e.config.config?.Labels ?? {};
    if (f.label?.length && !matchLabels(labels, f.label)) continue;
    if (f['label!']?.length && f['label!'].some((l) => matchLabels(labels, [l]))) continue;
    if (until !== undefined && Date.parse(createdOf(e)) / 1000 > until) continue;
    await deleteImage(c, e, false, out);
  }
  return out;
}

function untilSeconds(v: string): number {
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const m = /^(\d+)(s|m|h)$/.exec(v);
  if (m) return Date.now() / 1000 - Number(m[1]) * ({ s: 1, m: 60, h: 3600 } as Record<string, number>)[m[2]];
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw invalidArgument(`Invalid filter 'until=${v}'`, { field: 'filters.until' });
  return t / 1000;
}
