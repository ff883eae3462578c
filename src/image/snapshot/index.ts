export type { Change, Mount, SnapshotInfo, SnapshotKind, Snapshotter, Usage } from './types.js';
export { OverlaySnapshotter } from './overlay.js';
export { NativeSnapshotter } from './native.js';
export { mountAll, unmount } from './mount.js';
export { duUsage, VOLATILE_LABEL } from './base.js';
import { OverlaySnapshotter } from './overlay.js';
import { NativeSnapshotter } from './native.js';
import type { Snapshotter } from './types.js';

/** Opens a snapshotter ('overlayfs' or 'native') rooted at `root`. */
export async function createSnapshotter(kind: 'overlayfs' | 'native', root: string): Promise<Snapshotter> {
  // the engine's overlay keeps a few writable-layer directories made ahead (see OverlayOptions)
  return kind === 'overlayfs'
    ? new OverlaySnapshotter(root, { spares: 16 }).init()
    : new NativeSnapshotter(root).init();
}
export { overlaySupported, detectSnapshotter } from './detect.js';
