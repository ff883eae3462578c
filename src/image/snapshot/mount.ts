// Mounting snapshot mounts at a target and unmounting them — with mount(8)/umount(8), since Node
// has no mount(2). The runtime mounts container rootfs itself from the same Mount records; this
// is for tools and tests that need a snapshot's merged tree on the host.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { internal } from '../../common/index.js';
import type { Mount } from './types.js';

const run = promisify(execFile);

export async function mountAll(mounts: Mount[], target: string): Promise<void> {
  for (const m of mounts) {
    const bind = m.type === 'bind';
    const opts = m.options.filter((o) => !(bind && (o === 'rbind' || o === 'bind')));
    const args = bind
      ? ['--rbind', ...(opts.length ? ['-o', opts.join(',')] : []), m.source, target]
      : ['-t', m.type, '-o', opts.join(','), m.source, target];
    try {
      await run('mount', args);
      if (bind && opts.includes('ro')) await run('mount', ['-o', 'remount,bind,ro', target]);
    } catch (e) {
      throw internal(`mount ${m.type} at ${target} failed: ${(e as { stderr?: string }).stderr?.trim() || (e as Error).message}`, { cause: e });
    }
  }
}

export async function unmount(target: string): Promise<void> {
  try {
    await run('umount', ['-R', target]);
  } catch (e) {
    throw internal(`umount ${target} failed: ${(e as { stderr?: string }).stderr?.trim() || (e as Error).message}`, { cause: e });
  }
}
