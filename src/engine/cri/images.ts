// CRI ImageService over the engine's own image store: the images `docker build`, `docker pull` and
// `docker load` made are the ones kubelet sees (no import step), named by their full references
// (docker.io/library/busybox:latest), identified by their config digest (Docker's image id).
import { statfsSync } from 'node:fs';
import { isSkiffError, notFound } from '../../common/index.js';
import type {
  ImageFsInfoResponse,
  ImageStatusRequestInput,
  ImageStatusResponse,
  ListImagesRequestInput,
  ListImagesResponse,
  PullImageRequestInput,
  PullImageResponse,
  RemoveImageRequestInput,
  RemoveImageResponse,
} from '../../cri/index.js';
import { canonicalName, isDigest, parseReference, type Images } from '../../image/index.js';
import type { ImageEntry } from '../services/images/catalog.js';
import type { Image } from './types.js';

/** What the CRI image service needs from the engine's images service (EngineImages has it). */
export interface CriImageBackend {
  catalog: {
    all(): Promise<ImageEntry[]>;
    find(ref: string): Promise<{ entry: ImageEntry }>;
  };
  pull(
    fromImage: string,
    tag: string | undefined,
    o: {
      auth?: {
        username?: string;
        password?: string;
        auth?: string;
        identitytoken?: string;
        registrytoken?: string;
        serveraddress?: string;
      };
      emit: (m: unknown) => void;
      signal?: AbortSignal;
    },
  ): Promise<{ id: string; name: string }>;
  gc(): Promise<unknown>;
}

function tagsOf(e: ImageEntry): { tags: string[]; digests: string[] } {
  const tags: string[] = [];
  const digests: string[] = [];
  for (const r of e.records) {
    if (isDigest(r.name)) continue;
    if (r.name.includes('@')) digests.push(r.name);
    else tags.push(r.name);
  }
  return { tags: tags.sort(), digests: digests.sort() };
}

export function criImage(e: ImageEntry): Image {
  const { tags, digests } = tagsOf(e);
  const user = (e.config.config?.User ?? '').split(':')[0];
  const numeric = /^\d+$/.test(user);
  return {
    id: e.id,
    repoTags: tags,
    repoDigests: digests,
    size: e.size,
    uid: numeric ? { value: Number(user) } : null,
    username: numeric ? '' : user,
    spec: { image: e.id, annotations: {}, userSpecifiedImage: '', runtimeHandler: '', imageRef: e.id },
    pinned: false,
  };
}

export class CriImages {
  constructor(
    private readonly backend: CriImageBackend,
    private readonly store: Images,
    private readonly root: string,
  ) {}

  /** The image entry a CRI image string names, or undefined. */
  async lookup(ref: string): Promise<ImageEntry | undefined> {
    try {
      return (await this.backend.catalog.find(ref)).entry;
    } catch (e) {
      if (isSkiffError(e, 'NotFound') || isSkiffError(e, 'InvalidArgument')) return undefined;
      throw e;
    }
  }

  /** repo@digest for a container's image_ref (the reference it was asked by, when pulled). */
  async refOf(id: string, asked: string): Promise<string> {
    const e = await this.lookup(id);
    if (!e) return id;
    const { digests } = tagsOf(e);
    let repo = '';
    try {
      repo = parseReference(asked, { defaultTag: false }).name;
    } catch {
      /* an id */
    }
    return digests.find((d) => d.startsWith(`${repo}@`)) ?? digests[0] ?? id;
  }

  async listImages(req: ListImagesRequestInput): Promise<ListImagesResponse> {
    const want = req.filter?.image?.image;
    if (want) {
      const e = await this.lookup(want);
      return { images: e ? [criImage(e)] : [] };
    }
    return { images: (await this.backend.catalog.all()).map(criImage) };
  }

  async imageStatus(req: ImageStatusRequestInput): Promise<ImageStatusResponse> {
    const ref = req.image?.image ?? '';
    const e = ref ? await this.lookup(ref) : undefined;
    if (!e) return { image: null, info: {} };
    return { image: criImage(e), info: req.verbose ? { info: JSON.stringify({ imageSpec: e.config }) } : {} };
  }

  async pullImage(req: PullImageRequestInput): Promise<PullImageResponse> {
    const ref = req.image?.image ?? '';
    const a = req.auth;
    const auth =
      a && (a.username || a.password || a.auth || a.identityToken || a.registryToken)
        ? {
            username: a.username,
            password: a.password,
            auth: a.auth,
            identitytoken: a.identityToken,
            registrytoken: a.registryToken,
            serveraddress: a.serverAddress,
          }
        : undefined;
    const r = await this.backend.pull(ref, undefined, { auth, emit: () => undefined });
    return { imageRef: r.id };
  }

  /** Removes every name of the image (CRI: removing by one tag removes all); unknown is not an error. */
  async removeImage(req: RemoveImageRequestInput): Promise<RemoveImageResponse> {
    const ref = req.image?.image ?? '';
    const e = ref ? await this.lookup(ref) : undefined;
    if (!e) return {};
    for (const r of e.records)
      await this.store.store.delete(r.name).catch((err) => {
        if (!isSkiffError(err, 'NotFound')) throw err;
      });
    // the removal is done; a failed gc leaves unreferenced content for the next gc
    await this.backend.gc().catch(() => undefined);
    return {};
  }

  async imageFsInfo(): Promise<ImageFsInfoResponse> {
    const now = Date.now() * 1e6;
    let used = 0;
    let inodes = 0;
    try {
      const s = statfsSync(this.root);
      used = (s.blocks - s.bfree) * s.bsize;
      inodes = s.files - s.ffree;
    } catch {
      /* unknown */
    }
    const fs = {
      timestamp: now,
      fsId: { mountpoint: this.root },
      usedBytes: { value: used },
      inodesUsed: { value: inodes },
    };
    return { imageFilesystems: [fs], containerFilesystems: [fs] };
  }
}

export function notFoundImage(ref: string) {
  return notFound(`image "${ref}" not found`, { field: 'image' });
}

export { canonicalName };
