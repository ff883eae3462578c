// Bind propagation needs the source's mount to propagate (dockerd's ensureShared /
// ensureSharedOrSlave at start): `rshared` needs a shared mount, `rslave` a shared or slave one.
import { readFileSync } from 'node:fs';
import { invalidArgument } from '../../../common/index.js';
import type { MountPoint } from './record.js';

interface MountInfo {
  point: string;
  optional: string[];
}

function mountinfo(): MountInfo[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.split(' ');
      const sep = f.indexOf('-');
      return { point: f[4].replace(/\\040/g, ' '), optional: f.slice(6, sep) };
    });
}

/** The mount holding `path`: the longest mount point that is a prefix of it (the last one wins). */
function mountOf(path: string, all: MountInfo[]): MountInfo | undefined {
  let best: MountInfo | undefined;
  for (const m of all)
    if (path === m.point || path.startsWith(m.point === '/' ? '/' : `${m.point}/`))
      if (!best || m.point.length >= best.point.length) best = m;
  return best;
}

export function checkPropagation(mounts: MountPoint[]): void {
  const binds = mounts.filter((m) => m.Type === 'bind' && /shared|slave/.test(m.Propagation));
  if (!binds.length) return;
  const all = mountinfo();
  for (const m of binds) {
    const info = mountOf(m.Source, all);
    if (!info) continue;
    const shared = info.optional.some((o) => o.startsWith('shared:'));
    const slave = info.optional.some((o) => o.startsWith('master:'));
    if (/shared/.test(m.Propagation) && !shared)
      throw invalidArgument(`path ${m.Source} is mounted on ${info.point} but it is not a shared mount`, {
        field: 'HostConfig.Binds',
      });
    if (/slave/.test(m.Propagation) && !shared && !slave)
      throw invalidArgument(`path ${m.Source} is mounted on ${info.point} but it is not a shared or slave mount`, {
        field: 'HostConfig.Binds',
      });
  }
}
