// Image references: name → target descriptor (a manifest or index), persisted as one JSON
// document replaced atomically. Names are canonical references ("docker.io/library/busybox:latest",
// "host:5000/app@sha256:…"); an untagged (dangling) image is kept under its bare manifest digest.
import { invalidArgument, notFound } from '../../common/index.js';
import { KeyedMutex, readJsonFile, writeFileAtomic } from '../atomic-file.js';
import { isDigest } from '../digest.js';
import { parseReference } from '../reference/index.js';
import { DescriptorSchema, validate, type Descriptor } from '../formats/index.js';

export interface ImageRecord {
  name: string;
  target: Descriptor;
  createdAt: string;
  updatedAt: string;
  labels: Record<string, string>;
}

/** Canonical store name of a reference (or a bare digest for an untagged image). */
export function canonicalName(ref: string): string {
  if (isDigest(ref)) return ref;
  return parseReference(ref).toString();
}

export class ImageStore {
  private doc: Record<string, ImageRecord> = {};
  private readonly lock = new KeyedMutex();
  constructor(private readonly file: string) {}

  async init(): Promise<this> {
    this.doc = (await readJsonFile<{ images: Record<string, ImageRecord> }>(this.file))?.images ?? {};
    return this;
  }

  private async mutate<T>(fn: (d: Record<string, ImageRecord>) => T): Promise<T> {
    return this.lock.run('images', async () => {
      const copy = JSON.parse(JSON.stringify(this.doc)) as Record<string, ImageRecord>;
      const r = fn(copy);
      await writeFileAtomic(this.file, JSON.stringify({ images: copy }));
      this.doc = copy;
      return r;
    });
  }

  async get(name: string): Promise<ImageRecord> {
    const r = this.doc[canonicalName(name)];
    if (!r) throw notFound(`No such image: ${name}`, { field: 'name' });
    return structuredClone(r);
  }

  async has(name: string): Promise<boolean> {
    return canonicalName(name) in this.doc;
  }

  async list(): Promise<ImageRecord[]> {
    return Object.values(this.doc).map((r) => structuredClone(r));
  }

  /** Creates or moves a reference. */
  async put(name: string, target: Descriptor, labels: Record<string, string> = {}): Promise<ImageRecord> {
    const n = canonicalName(name);
    const t = validate(DescriptorSchema, target, 'image target descriptor');
    if (!isDigest(t.digest)) throw invalidArgument('image target digest is invalid', { field: 'target.digest' });
    return this.mutate((d) => {
      const now = new Date().toISOString();
      const prev = d[n];
      d[n] = {
        name: n,
        target: t,
        createdAt: prev?.createdAt ?? now,
        updatedAt: now,
        labels: { ...(prev?.labels ?? {}), ...labels },
      };
      return structuredClone(d[n]);
    });
  }

  async delete(name: string): Promise<void> {
    const n = canonicalName(name);
    await this.mutate((d) => {
      if (!d[n]) throw notFound(`No such image: ${name}`, { field: 'name' });
      delete d[n];
    });
  }
}
