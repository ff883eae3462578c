// On-disk layout of the registry (`--data-root DIR`):
//   blobs/sha256/<hh>/<hex>                       content, shared by every repository (manifests too)
//   repositories/<name>/_layers/sha256/<hex>      link: the blob belongs to the repository
//   repositories/<name>/_manifests/revisions/sha256/<hex>   link holding {"mediaType"} of the manifest
//   repositories/<name>/_manifests/tags/<tag>     the digest the tag points to
//   repositories/<name>/_referrers/<subjecthex>/<hex>       descriptor of a manifest whose subject is it
//   uploads/<uuid>/{data,info.json}               upload sessions (never visible as blobs)
//   tmp/                                          staging for atomic renames
// Every write lands in tmp/ or uploads/ first and is renamed into place, so readers never see a
// partially written blob, link or tag. Repository path components never start with `_` (name regex),
// so `_layers` etc. cannot collide with a nested repository.
import { promises as fs, constants as fsc } from 'node:fs';
import { join } from 'node:path';
import { hexOf } from './names.js';
import { randomSuffix } from '../../common/index.js';

export interface ManifestLink {
  mediaType: string;
}
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p, fsc.F_OK);
    return true;
  } catch {
    return false;
  }
}

export class RegistryStorage {
  readonly tmpDir: string;
  readonly uploadsDir: string;
  constructor(readonly root: string) {
    this.tmpDir = join(root, 'tmp');
    this.uploadsDir = join(root, 'uploads');
  }

  async init(): Promise<void> {
    for (const d of ['blobs/sha256', 'repositories', 'uploads', 'tmp'])
      await fs.mkdir(join(this.root, d), { recursive: true });
    // Staging leftovers from a crash are never referenced: drop them.
    for (const f of await fs.readdir(this.tmpDir)) await fs.rm(join(this.tmpDir, f), { recursive: true, force: true });
  }

  blobPath(digest: string): string {
    const h = hexOf(digest);
    return join(this.root, 'blobs', 'sha256', h.slice(0, 2), h);
  }
  repoDir(name: string): string {
    return join(this.root, 'repositories', ...name.split('/'));
  }
  private layerLink(name: string, digest: string) {
    return join(this.repoDir(name), '_layers', 'sha256', hexOf(digest));
  }
  private revisionLink(name: string, digest: string) {
    return join(this.repoDir(name), '_manifests', 'revisions', 'sha256', hexOf(digest));
  }
  private tagFile(name: string, tag: string) {
    return join(this.repoDir(name), '_manifests', 'tags', tag);
  }
  private referrersDir(name: string, subject: string) {
    return join(this.repoDir(name), '_referrers', hexOf(subject));
  }

  /** Writes `data` to `dest` through tmp/ + rename. */
  async atomicWrite(dest: string, data: string | Uint8Array): Promise<void> {
    const tmp = join(this.tmpDir, randomSuffix(12));
    await fs.writeFile(tmp, data);
    await this.moveIntoPlace(tmp, dest);
  }

  async moveIntoPlace(src: string, dest: string): Promise<void> {
    try {
      await fs.rename(src, dest);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      await fs.mkdir(join(dest, '..'), { recursive: true });
      await fs.rename(src, dest);
    }
  }

  async blobSize(digest: string): Promise<number | undefined> {
    try {
      return (await fs.stat(this.blobPath(digest))).size;
    } catch {
      return undefined;
    }
  }

  /** Moves a verified file into the blob store (a no-op if the blob already exists). */
  async commitBlob(file: string, digest: string): Promise<void> {
    const dest = this.blobPath(digest);
    if (await exists(dest)) {
      await fs.rm(file, { force: true });
      return;
    }
    await this.moveIntoPlace(file, dest);
  }

  async putBlobBytes(digest: string, data: Uint8Array): Promise<void> {
    if (!(await exists(this.blobPath(digest)))) await this.atomicWrite(this.blobPath(digest), data);
  }

  async readBlob(digest: string): Promise<Buffer> {
    return fs.readFile(this.blobPath(digest));
  }

  async repoExists(name: string): Promise<boolean> {
    return exists(this.repoDir(name));
  }

  /** Size of a blob linked into `name`, or undefined. */
  async layerSize(name: string, digest: string): Promise<number | undefined> {
    if (!(await exists(this.layerLink(name, digest)))) return undefined;
    return this.blobSize(digest);
  }
  async linkLayer(name: string, digest: string): Promise<void> {
    if (!(await exists(this.layerLink(name, digest)))) await this.atomicWrite(this.layerLink(name, digest), digest);
  }
  async unlinkLayer(name: string, digest: string): Promise<boolean> {
    try {
      await fs.unlink(this.layerLink(name, digest));
      return true;
    } catch {
      return false;
    }
  }

  async manifestLink(name: string, digest: string): Promise<ManifestLink | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.revisionLink(name, digest), 'utf8')) as ManifestLink;
    } catch {
      return undefined;
    }
  }
  async putManifest(name: string, digest: string, bytes: Uint8Array, mediaType: string): Promise<void> {
    await this.putBlobBytes(digest, bytes);
    await this.atomicWrite(this.revisionLink(name, digest), JSON.stringify({ mediaType }));
  }
  async deleteManifest(name: string, digest: string): Promise<boolean> {
    try {
      await fs.unlink(this.revisionLink(name, digest));
    } catch {
      return false;
    }
    for (const t of await this.tags(name))
      if ((await this.resolveTag(name, t)) === digest) await this.deleteTag(name, t);
    return true;
  }
  async manifestDigests(name: string): Promise<string[]> {
    try {
      return (await fs.readdir(join(this.repoDir(name), '_manifests', 'revisions', 'sha256'))).map(
        (h) => `sha256:${h}`,
      );
    } catch {
      return [];
    }
  }
  async layerDigests(name: string): Promise<string[]> {
    try {
      return (await fs.readdir(join(this.repoDir(name), '_layers', 'sha256'))).map((h) => `sha256:${h}`);
    } catch {
      return [];
    }
  }

  async resolveTag(name: string, tag: string): Promise<string | undefined> {
    try {
      return (await fs.readFile(this.tagFile(name, tag), 'utf8')).trim();
    } catch {
      return undefined;
    }
  }
  async setTag(name: string, tag: string, digest: string): Promise<void> {
    await this.atomicWrite(this.tagFile(name, tag), digest);
  }
  async deleteTag(name: string, tag: string): Promise<boolean> {
    try {
      await fs.unlink(this.tagFile(name, tag));
      return true;
    } catch {
      return false;
    }
  }
  async tags(name: string): Promise<string[]> {
    try {
      return (await fs.readdir(join(this.repoDir(name), '_manifests', 'tags'))).sort();
    } catch {
      return [];
    }
  }

  async addReferrer(name: string, subject: string, desc: Descriptor): Promise<void> {
    await this.atomicWrite(join(this.referrersDir(name, subject), hexOf(desc.digest)), JSON.stringify(desc));
  }
  async referrers(name: string, subject: string): Promise<Descriptor[]> {
    const dir = this.referrersDir(name, subject);
    let files: string[];
    try {
      files = await fs.readdir(dir);
    } catch {
      return [];
    }
    const out: Descriptor[] = [];
    for (const f of files.sort()) {
      // A referrer whose manifest was deleted is dropped from the answer (and lazily from disk).
      if (!(await this.manifestLink(name, `sha256:${f}`))) {
        await fs.rm(join(dir, f), { force: true });
        continue;
      }
      try {
        out.push(JSON.parse(await fs.readFile(join(dir, f), 'utf8')) as Descriptor);
      } catch {
        /* raced with delete */
      }
    }
    return out;
  }

  /** All repository names, sorted (a repository is a directory holding `_manifests` or `_layers`). */
  async repositories(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      if (entries.some((e) => e.name === '_manifests' || e.name === '_layers')) out.push(prefix);
      for (const e of entries)
        if (e.isDirectory() && !e.name.startsWith('_'))
          await walk(join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name);
    };
    await walk(join(this.root, 'repositories'), '');
    return out.filter(Boolean).sort();
  }

  async *allBlobs(): AsyncIterable<string> {
    const base = join(this.root, 'blobs', 'sha256');
    for (const hh of await fs.readdir(base).catch(() => [] as string[])) {
      for (const h of await fs.readdir(join(base, hh)).catch(() => [] as string[])) yield `sha256:${h}`;
    }
  }
}
