// A busybox root filesystem from Debian's busybox-static (for `npm start`'s demo and benchmarks).
import { copyFileSync, mkdirSync, writeFileSync, symlinkSync, existsSync, chmodSync, lstatSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { failedPrecondition } from '../common/index.js';

export const HOST_BUSYBOX = '/bin/busybox';

export function buildBusyboxRootfs(dir: string): string {
  if (!existsSync(HOST_BUSYBOX)) throw failedPrecondition(`${HOST_BUSYBOX} missing: install Debian's busybox-static`);
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'var', 'run'])
    mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(HOST_BUSYBOX, join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  chmodSync(join(dir, 'tmp'), 0o1777);
  for (const a of execFileSync(HOST_BUSYBOX, ['--list-full'], { encoding: 'utf8' }).split('\n')) {
    if (!a || a === 'bin/busybox') continue;
    const p = join(dir, a);
    try {
      lstatSync(p);
      continue;
    } catch {
      /* create */
    }
    mkdirSync(dirname(p), { recursive: true });
    symlinkSync('/bin/busybox', p);
  }
  writeFileSync(
    join(dir, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n');
  return dir;
}
