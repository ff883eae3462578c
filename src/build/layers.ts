// One build step that changes files: a snapshot prepared on the stage's top layer, mounted, changed
// by `fn`, then its diff stored as an (uncompressed) layer blob and the snapshot committed under the
// new chain id. On failure nothing is left behind: the mount is undone and the snapshot removed.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MediaType, mountAll, sha256Digest, unmount } from '../image/index.js';
import type { BuildEnv, StageState } from './state.js';
import { randomSuffix } from '../common/index.js';

/** Returns false (and adds no layer) when `skipIfEmpty` and `fn` changed nothing. */
export async function withLayer(
  env: BuildEnv,
  s: StageState,
  fn: (root: string, key: string) => Promise<void>,
  o: { skipIfEmpty?: boolean } = {},
): Promise<boolean> {
  const key = `build-${randomSuffix(8)}`;
  const mountDir = join(env.tmpDir, key);
  mkdirSync(mountDir, { recursive: true });
  const mounts = await env.sn.prepare(key, s.top);
  let mounted = false;
  try {
    await mountAll(mounts, mountDir);
    mounted = true;
    await fn(mountDir, key);
    await unmount(mountDir);
    mounted = false;
    if (o.skipIfEmpty && (await env.sn.changes(key)).length === 0) {
      await env.sn.remove(key);
      return false;
    }
    const w = await env.images.content.writer(`${key}-layer`);
    let diffId: string;
    try {
      for await (const c of await env.sn.diff(key, { signal: env.signal })) await w.write(c as Buffer);
      diffId = await w.commit();
    } catch (e) {
      // undoing a failed ingest: the commit's error (rethrown below) is the one to report
      await w.abort().catch(() => {});
      throw e;
    }
    const size = (await env.images.content.info(diffId)).size;
    const chainId = s.top ? sha256Digest(`${s.top} ${diffId}`) : diffId;
    if (
      await env.sn.stat(chainId).then(
        () => true,
        () => false,
      )
    )
      await env.sn.remove(key);
    else await env.sn.commit(chainId, key);
    s.top = chainId;
    s.layers.push({ mediaType: MediaType.OciLayer, digest: diffId, size });
    s.config.rootfs.diff_ids.push(diffId);
    return true;
  } catch (e) {
    // undoing a failed step: its error (rethrown below) is the one to report
    if (mounted) await unmount(mountDir).catch(() => {});
    await env.sn.remove(key).catch(() => {});
    throw e;
  } finally {
    rmSync(mountDir, { recursive: true, force: true });
  }
}
