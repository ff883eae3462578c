// Image volumes (CRI Mount.image, Kubernetes' ImageVolume): an image's root file system mounted
// read-only into a container, whole or one directory of it (image_sub_path). As containerd: the
// image must be present (kubelet pulls it first), the mount must be read-only, and a sub path
// that is not a directory of the image fails CreateContainer. Each volume is a read-only view
// snapshot of the image, mounted under the container's directory at CreateContainer and
// bind-mounted (ro, exec allowed) into the container at StartContainer; RemoveContainer unmounts
// and removes it.
import { existsSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative, isAbsolute } from 'node:path';
import { invalidArgument, isSkiffError, notFound } from '../../common/index.js';
import { mountAll, unmount, type Snapshotter } from '../../image/index.js';
import type { ImagesService } from '../services/context.js';
import { isMounted } from './pause.js';
import type { ContainerConfigInput } from './types.js';

export interface ImageVolume {
  containerPath: string;
  /** The image as asked (Mount.image.image) and its id (reported as ImageSpec.image_ref). */
  image: string;
  imageId: string;
  subPath: string;
  snapshotKey: string;
  /** Where the view is mounted on the host. */
  mountpoint: string;
}

export interface ImageVolumeDeps {
  snapshotter: Snapshotter;
  images: ImagesService;
}

/** A sub path inside the mounted image, refusing what would lead out of it. */
function subDir(root: string, sub: string, containerPath: string): string {
  const field = 'mounts.image_sub_path';
  if (isAbsolute(sub) || sub.split('/').includes('..'))
    throw invalidArgument(`mounts: image_sub_path "${sub}" of ${containerPath} must be relative, without ".."`, {
      field,
    });
  const p = join(root, sub);
  let real = '';
  try {
    real = realpathSync(p);
  } catch {
    throw invalidArgument(`mounts: image_sub_path "${sub}" does not exist in the image of ${containerPath}`, { field });
  }
  const rel = relative(realpathSync(root), real);
  if (rel.startsWith('..') || isAbsolute(rel))
    throw invalidArgument(`mounts: image_sub_path "${sub}" leads out of the image of ${containerPath}`, { field });
  if (!statSync(real).isDirectory())
    throw invalidArgument(`mounts: image_sub_path "${sub}" of ${containerPath} is not a directory`, { field });
  return real;
}

export class ImageVolumes {
  constructor(private readonly d: ImageVolumeDeps) {}

  /** CreateContainer: resolves, unpacks and mounts each image volume under `dir`; on a failure what
   *  was made is undone and the error thrown. */
  async prepare(id: string, config: ContainerConfigInput, dir: string): Promise<ImageVolume[]> {
    const out: ImageVolume[] = [];
    try {
      for (const [i, m] of (config.mounts ?? []).entries()) {
        const ref = m.image?.image;
        if (!ref) continue;
        const field = 'mounts.image';
        if (!m.containerPath) throw invalidArgument('mounts: container_path is required', { field: 'mounts' });
        if (!m.readonly) throw invalidArgument(`mounts: image volume ${m.containerPath} must be read-only`, { field });
        const img = await this.d.images.resolve(ref).catch((e) => {
          if (isSkiffError(e, 'NotFound')) throw notFound(`mounts: image "${ref}" not found`, { field });
          throw e;
        });
        const parent = await this.d.images.unpack(img.id);
        const vol: ImageVolume = {
          containerPath: m.containerPath,
          image: ref,
          imageId: img.id,
          subPath: m.imageSubPath ?? '',
          snapshotKey: `cri-${id}-image-${i}`,
          mountpoint: join(dir, 'image-volumes', String(i)),
        };
        await this.d.snapshotter.view(vol.snapshotKey, parent, { labels: { 'org.skiff.cri.container': id } });
        out.push(vol);
        await this.mount(vol);
        if (vol.subPath) subDir(vol.mountpoint, vol.subPath, vol.containerPath);
      }
      return out;
    } catch (e) {
      await this.release(out);
      throw e;
    }
  }

  private async mount(v: ImageVolume): Promise<void> {
    if (await isMounted(v.mountpoint)) return;
    mkdirSync(v.mountpoint, { recursive: true });
    await mountAll(await this.d.snapshotter.mounts(v.snapshotKey), v.mountpoint);
  }

  /** StartContainer: the OCI bind mounts (mounting the views again after a host restart). */
  async binds(vols: ImageVolume[]) {
    const out = [];
    for (const v of vols) {
      await this.mount(v);
      const source = v.subPath ? subDir(v.mountpoint, v.subPath, v.containerPath) : v.mountpoint;
      out.push({ destination: v.containerPath, type: 'bind', source, options: ['rbind', 'ro', 'rprivate'] });
    }
    return out;
  }

  /** RemoveContainer (or a failed create): unmounts and removes the views. */
  async release(vols: ImageVolume[]): Promise<void> {
    for (const v of vols) {
      if (existsSync(v.mountpoint) && (await isMounted(v.mountpoint))) await unmount(v.mountpoint);
      await this.d.snapshotter.remove(v.snapshotKey).catch((e) => {
        if (!isSkiffError(e, 'NotFound')) throw e;
      });
    }
  }
}
