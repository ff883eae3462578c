// Pods with `spec.hostUsers: false` get a user namespace of their own: 65536 ids per pod, from
// 65536 up, as kubelet's user namespace manager hands them out. The range is kept in the pod's
// directory (`userns`, JSON, as kubelet keeps it) so a restarted agent gives the pod the same one,
// and freed with the directory. Allocation scans the other pods' files: synchronous, so two pods
// of one agent never take the same range.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { unavailable } from '../../../common/index.js';
import type * as cri from '../../../cri/index.js';

export const USERNS_LENGTH = 65536;
const FIRST_ID = 65536;
const LAST_ID = 2 ** 32 - 1;

interface PodDirs {
  podDir(uid: string): string;
  podUids(): string[];
}

function hostIdOf(file: string): number | undefined {
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as { uidMappings?: { hostId?: number }[] };
    const id = j.uidMappings?.[0]?.hostId;
    return typeof id === 'number' && Number.isInteger(id) ? id : undefined;
  } catch {
    return undefined; // none yet (or unreadable: allocated again)
  }
}

/** The pod's range: the one it has, else the lowest one no other pod of this node holds. */
export function podUsernsOptions(dirs: PodDirs, uid: string): cri.UserNamespaceInput {
  const file = join(dirs.podDir(uid), 'userns');
  let hostId = hostIdOf(file);
  if (hostId === undefined) {
    const used = new Set(
      dirs
        .podUids()
        .filter((u) => u !== uid)
        .map((u) => hostIdOf(join(dirs.podDir(u), 'userns'))),
    );
    for (let id = FIRST_ID; id + USERNS_LENGTH - 1 <= LAST_ID; id += USERNS_LENGTH)
      if (!used.has(id)) {
        hostId = id;
        break;
      }
    if (hostId === undefined) throw unavailable('no user namespace range is free on this node');
    const m = [{ containerId: 0, hostId, length: USERNS_LENGTH }];
    mkdirSync(dirs.podDir(uid), { recursive: true, mode: 0o750 });
    writeFileSync(`${file}.tmp`, JSON.stringify({ uidMappings: m, gidMappings: m }));
    renameSync(`${file}.tmp`, file);
  }
  const m = [{ containerId: 0, hostId, length: USERNS_LENGTH }];
  return { mode: 'POD', uids: m, gids: m };
}
