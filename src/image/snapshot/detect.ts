// Picks the snapshotter for a data root: overlay when the kernel can mount an overlay whose upper
// dir lives on that file system (it needs d_type and trusted xattrs), else the copy snapshotter.
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { mountAll, unmount } from './mount.js';

export async function overlaySupported(root: string): Promise<boolean> {
  await mkdir(root, { recursive: true });
  const dir = await mkdtemp(join(root, '.overlay-check-'));
  try {
    for (const d of ['lower', 'upper', 'work', 'merged']) await mkdir(join(dir, d));
    await mountAll(
      [
        {
          type: 'overlay',
          source: 'overlay',
          options: [`lowerdir=${join(dir, 'lower')}`, `upperdir=${join(dir, 'upper')}`, `workdir=${join(dir, 'work')}`],
        },
      ],
      join(dir, 'merged'),
    );
    await unmount(join(dir, 'merged'));
    return true;
  } catch {
    return false;
  } finally {
    // a probe directory left in the scratch area is harmless; the probe's answer stands
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** 'overlayfs' where it works on `root`, else 'native'. */
export async function detectSnapshotter(root: string): Promise<'overlayfs' | 'native'> {
  return (await overlaySupported(root)) ? 'overlayfs' : 'native';
}
