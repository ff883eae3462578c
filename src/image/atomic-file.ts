// Small-file persistence used by the image component's metadata (labels, leases, references,
// snapshot metadata): write a temp file beside the target, fsync, rename — readers see the old or
// the new file, never a torn one.
import { open, rename, readFile, unlink, mkdir } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { randomSuffix } from '../common/index.js';

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${randomSuffix()}.tmp`);
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    // the temp file may not exist; the write's error (rethrown below) is the one to report
    await unlink(tmp).catch(() => {});
    throw e;
  }
}

/** Reads and parses a JSON file; undefined when it does not exist. */
export async function readJsonFile<T = unknown>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return JSON.parse(text) as T;
}

/** Serialises async critical sections per key, within this process. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => {
      release = r;
    });
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
