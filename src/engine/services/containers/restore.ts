// Engine start: load the container records, re-attach to containers whose monitors kept them
// running (live restore), record the exits that happened meanwhile, apply restart policies, and
// discard what a crash left half-made.
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../../common/index.js';
import { unmount } from '../../../image/index.js';
import { loadRecord, type ContainerRecord } from './record.js';
import type { Containers } from './service.js';
import { activity as idleActivity } from './idle-gc.js';
import { unmountShm } from './shared.js';
import { isMountpoint, onExit, removeLocked, startLocked, stopRunning, watchExit } from './lifecycle.js';

const log = createLogger({ component: 'engine.containers' });

export async function restore(svc: Containers): Promise<void> {
  idleActivity(); // start-up garbage (module loading, restore) is collected once the engine is idle
  mkdirSync(svc.root, { recursive: true });
  for (const id of readdirSync(svc.root)) {
    const dir = svc.dirOf(id);
    let rec: ContainerRecord;
    try {
      rec = loadRecord(dir);
    } catch {
      await discardPartial(svc, id, dir);
      continue;
    }
    const c = svc.adopt(rec, dir);
    if (rec.State.Status === 'removing') {
      await removeLocked(svc, c, {}).catch(() => undefined);
      continue;
    }
    if (rec.State.Running || rec.State.Restarting) {
      const mdir = svc.monitorDir(id);
      const rtid = svc.rtId(id);
      let known = true;
      try {
        svc.runtime.state(rtid);
      } catch {
        known = false;
      }
      const ex = known ? await svc.runtime.exitStatus(rtid).catch(() => undefined) : undefined;
      if (known && !ex) {
        // running, or ended with its monitor still writing the exit file
        watchExit(svc, c, mdir);
        c.health = svc.healthStarter?.(c);
        if (svc.opts.liveRestore === false) await shutdownAndRestart(svc, c);
        continue;
      }
      rec.State.Running = true; // let onExit record it
      await onExit(
        svc,
        c,
        {
          code: ex?.exitCode ?? 255,
          oom: ex?.oomKilled ?? false,
          finishedAt: ex?.finishedAt ?? new Date().toISOString(),
          error: ex ? undefined : 'the container monitor died while the engine was away',
        },
        mdir,
      );
      continue;
    }
    const p = rec.HostConfig.RestartPolicy?.Name;
    if (rec.HasBeenStarted && (p === 'always' || (p === 'unless-stopped' && !rec.ManuallyStopped))) {
      void svc.locked(c, () => startLocked(svc, c)).catch(() => undefined);
    }
  }
}

/** A container directory without a readable record: the engine died while creating or removing
 *  it. Its rootfs may still be mounted and its snapshot prepared; both go before the directory. */
export async function discardPartial(svc: Containers, id: string, dir: string): Promise<void> {
  try {
    const rootfs = join(dir, 'rootfs');
    if (isMountpoint(rootfs)) await unmount(rootfs);
    unmountShm(dir);
    const keys: string[] = [];
    for await (const info of svc.ctx.snapshotter.walk())
      if (info.labels?.['org.skiff.container'] === id) keys.push(info.name);
    // the container's own snapshot before its init layer (a parent goes after its children)
    keys.sort((a, b) => Number(a.endsWith('-init')) - Number(b.endsWith('-init')));
    for (const k of keys) await svc.ctx.snapshotter.remove(k).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  } catch (e) {
    log.warn('could not discard a partial container directory', { id, error: (e as Error).message });
  }
}

/** Without live restore: a container still running from before is stopped as at an engine
 *  shutdown (not by the user), then started again if its restart policy says so (dockerd). */
async function shutdownAndRestart(svc: Containers, c: Parameters<typeof startLocked>[1]): Promise<void> {
  await stopRunning(svc, c, {}).catch(() => undefined);
  const p = c.rec.HostConfig.RestartPolicy?.Name;
  if (p === 'always' || (p === 'unless-stopped' && !c.rec.ManuallyStopped))
    void svc.locked(c, () => startLocked(svc, c)).catch(() => undefined);
}

/** Engine shutdown without live restore: every running container is stopped (its stop signal and
 *  timeout, all at once); they are not marked stopped by the user, so restart policies bring them
 *  back at the next start. */
export async function stopAllForShutdown(svc: Containers): Promise<void> {
  await Promise.all(
    [...svc.byId.values()]
      .filter((c) => !c.removed && c.rec.State.Running)
      .map((c) => stopRunning(svc, c, {}).catch(() => undefined)),
  );
}
