// OCI mount options → mount(2) flags, propagation flags and file-system data (like mount(8)).
export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  SYNCHRONOUS: 16,
  REMOUNT: 32,
  MANDLOCK: 64,
  DIRSYNC: 128,
  NOSYMFOLLOW: 256,
  NOATIME: 1024,
  NODIRATIME: 2048,
  BIND: 4096,
  MOVE: 8192,
  REC: 16384,
  UNBINDABLE: 1 << 17,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  RELATIME: 1 << 21,
  STRICTATIME: 1 << 24,
} as const;

const SET: Record<string, number> = {
  ro: MS.RDONLY,
  nosuid: MS.NOSUID,
  nodev: MS.NODEV,
  noexec: MS.NOEXEC,
  sync: MS.SYNCHRONOUS,
  remount: MS.REMOUNT,
  mand: MS.MANDLOCK,
  dirsync: MS.DIRSYNC,
  nosymfollow: MS.NOSYMFOLLOW,
  noatime: MS.NOATIME,
  nodiratime: MS.NODIRATIME,
  bind: MS.BIND,
  rbind: MS.BIND | MS.REC,
  relatime: MS.RELATIME,
  strictatime: MS.STRICTATIME,
};
const CLEAR: Record<string, number> = {
  rw: MS.RDONLY,
  suid: MS.NOSUID,
  dev: MS.NODEV,
  exec: MS.NOEXEC,
  async: MS.SYNCHRONOUS,
  nomand: MS.MANDLOCK,
  atime: MS.NOATIME,
  diratime: MS.NODIRATIME,
  norelatime: MS.RELATIME,
  nostrictatime: MS.STRICTATIME,
};
export const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};
/** runc's recursive options (`rro`, …): mount_setattr(2) attributes set with AT_RECURSIVE on the
 *  mount and every mount below it, which MS_REMOUNT|MS_BIND cannot reach (kernel ≥ 5.12). */
export const MOUNT_ATTR_RECURSIVE: Record<string, number> = { rro: 0x1, rnosuid: 0x2, rnodev: 0x4, rnoexec: 0x8 };
/** Options that are runtime hints, not mount(2) input. */
const IGNORED = new Set([
  'defaults',
  'tmpcopyup',
  'idmap',
  'ridmap',
  'norbind',
  'auto',
  'noauto',
  'nofail',
  'user',
  'nouser',
]);

export interface ParsedMountOptions {
  flags: number;
  propagation: number;
  data: string;
  /** MOUNT_ATTR_* bits to set recursively after mounting (0: none). */
  recursiveAttrs: number;
}

export function parseMountOptions(options: readonly string[] | undefined): ParsedMountOptions {
  let flags = 0;
  let propagation = 0;
  let recursiveAttrs = 0;
  const data: string[] = [];
  for (const o of options ?? []) {
    if (o in SET) flags |= SET[o];
    else if (o in CLEAR) flags &= ~CLEAR[o];
    else if (o in PROPAGATION) propagation = PROPAGATION[o];
    else if (o in MOUNT_ATTR_RECURSIVE) recursiveAttrs |= MOUNT_ATTR_RECURSIVE[o];
    else if (!IGNORED.has(o)) data.push(o);
  }
  return { flags: flags >>> 0, propagation, data: data.join(','), recursiveAttrs };
}
