// `User` and `GroupAdd` → the process's uid, gid and supplementary groups, resolved against the
// container's /etc/passwd and /etc/group as dockerd does (moby's getUser over libcontainer's
// GetExecUser): the primary group is always a supplementary group too, then the groups that list
// the user by name (only when no group was given), then --group-add's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../../../common/index.js';

// A type alias (not an interface) so it is assignable to the OCI schema's open object type.
export type ProcessUser = {
  uid: number;
  gid: number;
  additionalGids: number[];
};

function table(rootfs: string, file: string): string[][] {
  try {
    return readFileSync(join(rootfs, file), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

const isId = (s: string) => /^\d+$/.test(s);

export function resolveUser(rootfs: string, user: string, groupAdd: string[] = []): ProcessUser {
  const [u = '', g] = user.split(':');
  const passwd = table(rootfs, 'etc/passwd');
  const groups = table(rootfs, 'etc/group');
  let uid = 0,
    gid = 0,
    name: string | undefined;
  if (u !== '') {
    const p = passwd.find((x) => (isId(u) ? x[2] === u : x[0] === u));
    if (p) {
      uid = Number(p[2]);
      gid = Number(p[3]);
      name = p[0];
    } else if (isId(u)) uid = Number(u);
    else
      throw invalidArgument(`unable to find user ${u}: no matching entries in passwd file`, { field: 'Config.User' });
  }
  const sgids: number[] = [];
  if (g !== undefined && g !== '') {
    const gr = groups.find((x) => (isId(g) ? x[2] === g : x[0] === g));
    if (gr) gid = Number(gr[2]);
    else if (isId(g)) gid = Number(g);
    else
      throw invalidArgument(`unable to find group ${g}: no matching entries in group file`, { field: 'Config.User' });
  } else if (name !== undefined) {
    for (const gr of groups) if ((gr[3] ?? '').split(',').includes(name)) sgids.push(Number(gr[2]));
  }
  const added = groupAdd.map((a) => {
    const gr = groups.find((x) => x[0] === a || (isId(a) && x[2] === a));
    if (gr) return Number(gr[2]);
    if (isId(a)) return Number(a);
    throw invalidArgument(`Unable to find group ${a}: no matching entries in group file`, {
      field: 'HostConfig.GroupAdd',
    });
  });
  // each group once (`--group-add 0` for a user whose primary group is 0 is no second 0)
  return { uid, gid, additionalGids: [...new Set([gid, ...sgids, ...added])] };
}
