// Small file helpers for secrets on disk: atomic replace (temp file + fsync + rename) so a crash
// never leaves a half-written key, and strict permissions (keys 0600, directories 0700).
import { promises as fs, constants } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { randomSuffix } from '../../../common/index.js';

/** Writes `data` to `path` atomically with the given mode (temp file in the same dir, fsync, rename). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${randomSuffix()}`);
  const fh = await fs.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await fh.writeFile(data);
    await fh.chmod(mode); // umask may have narrowed or the caller wants it exact
    await fh.sync();
  } catch (e) {
    // the write's error (rethrown below) is the one to report
    await fh.close().catch(() => {});
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dirname(path));
}

/** fsync a directory so a rename inside it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } catch {
    /* some filesystems refuse fsync on directories */
  } finally {
    await fh.close();
  }
}

/** Reads a file, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
