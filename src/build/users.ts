// Resolving `user[:group]` (names or ids) against a root file system's /etc/passwd and /etc/group,
// as USER (for RUN) and COPY/ADD --chown do.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../common/index.js';

function table(root: string, file: string): string[][] {
  try {
    return readFileSync(join(root, file), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

/** `user[:group]` → numeric ids; a user without a group takes the user's primary group. */
export function resolveUser(
  root: string,
  spec: string,
  field = 'user',
): { uid: number; gid: number; additionalGids: number[] } {
  const [u, g] = spec.split(':', 2);
  const passwd = table(root, 'etc/passwd');
  const groups = table(root, 'etc/group');
  let uid: number;
  let gid: number | undefined;
  if (/^\d+$/.test(u)) {
    uid = Number(u);
    const row = passwd.find((r) => Number(r[2]) === uid);
    gid = row ? Number(row[3]) : 0;
  } else {
    const row = passwd.find((r) => r[0] === u);
    if (!row) throw invalidArgument(`unable to find user ${u}: no matching entries in passwd file`, { field });
    uid = Number(row[2]);
    gid = Number(row[3]);
  }
  if (g !== undefined) {
    if (/^\d+$/.test(g)) gid = Number(g);
    else {
      const row = groups.find((r) => r[0] === g);
      if (!row) throw invalidArgument(`unable to find group ${g}: no matching entries in group file`, { field });
      gid = Number(row[2]);
    }
  }
  const name = passwd.find((r) => Number(r[2]) === uid)?.[0];
  const additionalGids =
    g === undefined && name
      ? groups.filter((r) => (r[3] ?? '').split(',').includes(name)).map((r) => Number(r[2]))
      : [];
  return { uid, gid: gid ?? 0, additionalGids };
}
