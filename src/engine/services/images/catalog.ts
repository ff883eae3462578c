// The engine's view of the image store in Docker's terms: an image is identified by its config
// digest (`Id`), and the store's records (tags `repo:tag`, digests `repo@sha256:…`, or a bare
// manifest digest for an untagged image) are grouped by that id. Resolving a record costs two blob
// reads, so resolved metadata is cached by the record's target digest (content is immutable).
import { invalidArgument, isSkiffError, notFound } from '../../../common/index.js';
import {
  canonicalName,
  isDigest,
  parseReference,
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  type ImageRecord,
  type Images,
} from '../../../image/index.js';
import { imageUnpackedSize } from './size.js';

export interface ImageMeta {
  id: string;
  config: ImageConfig;
  configDesc: Descriptor;
  manifest: ImageManifest;
  manifestDesc: Descriptor;
  /** Unpacked size of the layers, as dockerd reports it (see size.ts). */
  size: number;
}

export interface ImageEntry extends ImageMeta {
  records: ImageRecord[];
  /** "busybox:latest", "127.0.0.1:5000/app:v1". */
  repoTags: string[];
  /** "busybox@sha256:…". */
  repoDigests: string[];
  /** Parent image id (commits and builds record it), or ''. */
  parent: string;
  /** Earliest record creation: when the image arrived here. */
  createdAt: string;
}

export const PARENT_LABEL = 'org.skiff.image.parent';

/** What a record name contributes: a tag, a digest reference, or nothing (dangling). */
export function recordKind(name: string): { tag?: string; digest?: string } {
  if (isDigest(name)) return {};
  const r = parseReference(name, { defaultTag: false });
  if (r.digest) return { digest: `${r.familiarName()}@${r.digest}` };
  return { tag: r.familiarString() };
}

export class Catalog {
  private readonly cache = new Map<string, ImageMeta>();
  constructor(private readonly images: Images) {}

  async meta(rec: ImageRecord): Promise<ImageMeta> {
    const hit = this.cache.get(rec.target.digest);
    if (hit) return hit;
    const r = await this.images.resolve(rec.name);
    const size = await imageUnpackedSize(this.images.content, r.manifest.layers);
    const m: ImageMeta = {
      id: r.id,
      config: r.config,
      configDesc: r.configDesc,
      manifest: r.manifest,
      manifestDesc: r.manifestDesc,
      size,
    };
    this.cache.set(rec.target.digest, m);
    return m;
  }

  /** Every image, grouped by id. Records whose content is missing or broken are skipped. */
  async all(): Promise<ImageEntry[]> {
    const byId = new Map<string, ImageEntry>();
    for (const rec of await this.images.store.list()) {
      let m: ImageMeta;
      try {
        m = await this.meta(rec);
      } catch {
        continue;
      }
      let e = byId.get(m.id);
      if (!e) {
        e = { ...m, records: [], repoTags: [], repoDigests: [], parent: '', createdAt: rec.createdAt };
        byId.set(m.id, e);
      }
      e.records.push(rec);
      if (rec.createdAt < e.createdAt) e.createdAt = rec.createdAt;
      if (rec.labels[PARENT_LABEL]) e.parent = rec.labels[PARENT_LABEL];
      const k = recordKind(rec.name);
      if (k.tag) e.repoTags.push(k.tag);
      if (k.digest) e.repoDigests.push(k.digest);
    }
    for (const e of byId.values()) {
      e.repoTags.sort();
      e.repoDigests.sort();
    }
    return [...byId.values()];
  }

  /** Finds an image by tag/reference, digest reference, full id, or unique id prefix (≥ 1 hex char,
   *  as Docker allows); NotFound "No such image: X". */
  async find(name: string): Promise<{ entry: ImageEntry; byId: boolean; record?: ImageRecord }> {
    if (!name) throw invalidArgument('image name is empty', { field: 'name' });
    const all = await this.all();
    let canonical: string | undefined;
    try {
      canonical = canonicalName(name);
    } catch (e) {
      if (!isSkiffError(e, 'InvalidArgument')) throw e;
    }
    if (canonical) {
      for (const e of all) {
        const rec = e.records.find((r) => r.name === canonical);
        if (rec && !isDigest(canonical)) return { entry: e, byId: false, record: rec };
      }
    }
    const hex = name.replace(/^sha256:/, '');
    if (/^[a-f0-9]{1,64}$/.test(hex)) {
      const hits = all.filter((e) => e.id.slice(7).startsWith(hex));
      if (hits.length === 1) return { entry: hits[0], byId: true };
      if (hits.length > 1)
        throw invalidArgument(`image id prefix ${name} is ambiguous: it matches ${hits.length} images`, {
          field: 'name',
        });
      // A manifest digest (what a dangling record is named by).
      const m = all.filter(
        (e) => e.records.some((r) => r.target.digest.slice(7) === hex) || e.manifestDesc.digest.slice(7) === hex,
      );
      if (m.length === 1) return { entry: m[0], byId: true };
    }
    let shown = name;
    try {
      if (!/^(sha256:)?[a-f0-9]{1,64}$/.test(name)) shown = parseReference(name).familiarString();
    } catch {
      /* as given */
    }
    throw notFound(`No such image: ${shown}`, { field: 'name' });
  }
}

/** Go's path.Match as a RegExp: `*` any run of non-`/`, `?` one non-`/`, `[…]` classes (`^`
 *  negates), `\\` escapes; a malformed pattern (unclosed class) matches nothing, as Go errors. */
export function pathMatchRegExp(pattern: string): RegExp | undefined {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\') {
      if (i + 1 >= pattern.length) return undefined;
      re += escapeRe(pattern[++i]);
    } else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) return undefined;
      let body = pattern.slice(i + 1, close);
      const neg = body.startsWith('^');
      if (neg) body = body.slice(1);
      re += `[${neg ? '^/' : ''}${body.replace(/[\\\]]/g, '\\$&')}]`;
      i = close;
    } else re += escapeRe(c);
  }
  try {
    return new RegExp(`${re}$`);
  } catch {
    return undefined;
  }
}

function escapeRe(c: string): string {
  return c.replace(/[.+^${}()|[\]\\*?/]/g, '\\$&');
}

/** moby's reference.FamiliarMatch: the pattern against the familiar string (`busybox:latest`,
 *  `busybox@sha256:…`) or, failing that, the familiar name (`busybox`). */
export function familiarMatch(pattern: string, ref: string): boolean {
  const re = pathMatchRegExp(pattern);
  if (!re) return false;
  if (re.test(ref)) return true;
  const at = ref.indexOf('@');
  const name =
    at >= 0
      ? ref.slice(0, at)
      : ref.slice(0, ref.lastIndexOf(':') > ref.lastIndexOf('/') ? ref.lastIndexOf(':') : ref.length);
  return re.test(name);
}

/** Docker's `reference` filter: the entry narrowed to its tags and digests that match one of the
 *  patterns (dockerd lists only those), or undefined when none does (untagged images never match). */
export function referenceMatches(entry: ImageEntry, patterns: string[]): ImageEntry | undefined {
  if (!patterns.length) return entry;
  const hit = (r: string) => patterns.some((p) => familiarMatch(p, r));
  const repoTags = entry.repoTags.filter(hit);
  const repoDigests = entry.repoDigests.filter(hit);
  if (!repoTags.length && !repoDigests.length) return undefined;
  return { ...entry, repoTags, repoDigests };
}
