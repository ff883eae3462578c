// hostPath types as upstream checks them before a pod starts: DirectoryOrCreate (made 0755),
// Directory, FileOrCreate (an empty 0644 file; the parent is not made), File, Socket, CharDevice,
// BlockDevice; an empty type checks nothing.
import { closeSync, mkdirSync, openSync, statSync, chmodSync, type Stats } from 'node:fs';
import { MountError } from './projection.js';

const KINDS: Record<string, { test: (s: Stats) => boolean; what: string }> = {
  Directory: { test: (s) => s.isDirectory(), what: 'a directory' },
  File: { test: (s) => s.isFile(), what: 'a file' },
  Socket: { test: (s) => s.isSocket(), what: 'a socket file' },
  CharDevice: { test: (s) => s.isCharacterDevice(), what: 'a character device' },
  BlockDevice: { test: (s) => s.isBlockDevice(), what: 'a block device' },
};

const statOf = (p: string): Stats | undefined => {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
};

export function checkHostPath(path: string, type: string): void {
  if (!type) return;
  if (type === 'DirectoryOrCreate') {
    if (!statOf(path)) mkdirSync(path, { recursive: true, mode: 0o755 });
    type = 'Directory';
  } else if (type === 'FileOrCreate') {
    if (!statOf(path)) {
      try {
        closeSync(openSync(path, 'wx', 0o644));
        chmodSync(path, 0o644);
      } catch (e) {
        throw new MountError(`hostPath type check failed: ${path}: ${(e as Error).message}`);
      }
    }
    type = 'File';
  }
  const k = KINDS[type];
  if (!k) throw new MountError(`invalid HostPath type ${JSON.stringify(type)}`);
  const s = statOf(path);
  if (!s || !k.test(s)) throw new MountError(`hostPath type check failed: ${path} is not ${k.what}`);
}
