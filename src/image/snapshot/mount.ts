// Mounting snapshot mounts at a target and unmounting them — with mount(8)/umount(8), since Node
// has no mount(2). The runtime mounts container rootfs itself from the same Mount records; this
// is for tools and tests that need a snapshot's merged tree on the host.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { internal, runCommand } from '../../common/index.js';
import type { Mount } from './types.js';

const runIn = promisify(execFile);

/** mount(8)/umount(8) through the process's command runner (src/common/commands.ts: no fork of a
 *  daemon's Node), in `cwd` through Node (the runner has no working directory). */
async function run(cmd: string, args: string[], o: { cwd?: string } = {}): Promise<void> {
  if (o.cwd) {
    await runIn(cmd, args, o);
    return;
  }
  const r = await runCommand(cmd, args);
  if (r.code !== 0) throw Object.assign(new Error(`${cmd} exited ${r.code}`), { stderr: r.stderr });
}

// The kernel copies at most one page of mount options. Deep images under a long data root exceed
// it with absolute lowerdirs, so such overlay options are rewritten relative to the directory all
// their layer paths share, and mount(8) runs there (the kernel resolves them against its cwd).
const OPTIONS_LIMIT = 4000;
const LAYER_KEYS = ['lowerdir=', 'upperdir=', 'workdir='];

export function shortenOverlayOptions(opts: string[]): { opts: string[]; cwd?: string } {
  if (opts.join(',').length < OPTIONS_LIMIT) return { opts };
  const paths = opts.flatMap((o) =>
    LAYER_KEYS.some((k) => o.startsWith(k)) ? o.slice(o.indexOf('=') + 1).split(':') : [],
  );
  if (!paths.length || !paths.every((p) => p.startsWith('/'))) return { opts };
  let common = paths[0].split('/').slice(0, -1);
  for (const p of paths) {
    const parts = p.split('/');
    let i = 0;
    while (i < common.length && i < parts.length - 1 && common[i] === parts[i]) i++;
    common = common.slice(0, i);
  }
  const cwd = common.join('/') || '/';
  if (cwd === '/') return { opts };
  const rel = (p: string) => p.slice(cwd.length + 1);
  return {
    cwd,
    opts: opts.map((o) => {
      const k = LAYER_KEYS.find((x) => o.startsWith(x));
      return k ? k + o.slice(k.length).split(':').map(rel).join(':') : o;
    }),
  };
}

export async function mountAll(mounts: Mount[], targetPath: string): Promise<void> {
  const target = resolve(targetPath);
  for (const m of mounts) {
    const bind = m.type === 'bind';
    const short = m.type === 'overlay' ? shortenOverlayOptions(m.options) : { opts: m.options };
    const opts = short.opts.filter((o) => !(bind && (o === 'rbind' || o === 'bind')));
    const args = bind
      ? ['--rbind', ...(opts.length ? ['-o', opts.join(',')] : []), m.source, target]
      : ['-t', m.type, '-o', opts.join(','), m.source, target];
    try {
      await run('mount', args, short.cwd ? { cwd: short.cwd } : {});
      if (bind && opts.includes('ro')) await run('mount', ['-o', 'remount,bind,ro', target]);
    } catch (e) {
      throw internal(
        `mount ${m.type} at ${target} failed: ${(e as { stderr?: string }).stderr?.trim() || (e as Error).message}`,
        { cause: e },
      );
    }
  }
}

export async function unmount(target: string): Promise<void> {
  try {
    await run('umount', ['-R', target]);
  } catch (e) {
    throw internal(`umount ${target} failed: ${(e as { stderr?: string }).stderr?.trim() || (e as Error).message}`, {
      cause: e,
    });
  }
}
