// An append-only file of JSON records, one checksummed line each (`<8 hex of sha256> <json>\n`):
// appended and fdatasync'd in batches, read back up to the first line that is incomplete or fails
// its checksum (a torn tail: the append a crash interrupted, never acknowledged), and rewritten
// whole — temporary file, fsync, rename, fsync of the directory — to drop dead records. The
// snapshot metadata (metastore.ts) is its user; hand-written because the format is 40 lines and a
// database would be a second copy of what SQLite already is elsewhere in the program.
import { createHash } from 'node:crypto';
import { close, fdatasync, ftruncate, open as openFd, write } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { internal } from '../../common/index.js';
import { dirname } from 'node:path';

// The append file is held as a plain descriptor, not a FileHandle: a snapshotter lives as long as
// its process, and a FileHandle left to the garbage collector is closed with a warning.
const openP = promisify(openFd);
const writeP = promisify(write);
const datasyncP = promisify(fdatasync);
const truncateP = promisify(ftruncate);
const closeP = promisify(close);

const sum = (json: string) => createHash('sha256').update(json).digest('hex').slice(0, 8);

export function encodeLine(rec: unknown): string {
  const json = JSON.stringify(rec);
  return `${sum(json)} ${json}\n`;
}

function decodeLine(line: string): unknown {
  if (line.length < 10 || line[8] !== ' ') return undefined;
  const json = line.slice(9);
  if (sum(json) !== line.slice(0, 8)) return undefined;
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
}

async function syncDir(path: string): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

const ignoreMissing = (e: NodeJS.ErrnoException) => {
  if (e.code !== 'ENOENT') throw e;
};

export class Journal {
  /** Records in the file. */
  lines = 0;
  /** The file ended in a torn record when it was opened (rewrite it before appending). */
  torn = false;
  /** An append failed and could not be undone: the file may hold an unacknowledged record
   *  (rewrite it before appending). */
  failed = false;
  private fd?: number;
  private size = 0;
  constructor(readonly file: string) {}

  /** The records in the file, in order; undefined when there is no file. */
  async open(): Promise<unknown[] | undefined> {
    await unlink(`${this.file}.tmp`).catch(ignoreMissing); // a compaction a crash interrupted
    let buf: Buffer;
    try {
      buf = await readFile(this.file);
    } catch (e) {
      ignoreMissing(e as NodeJS.ErrnoException);
      return undefined;
    }
    const out: unknown[] = [];
    let pos = 0;
    for (;;) {
      const nl = buf.indexOf(10, pos);
      if (nl < 0) break;
      const rec = decodeLine(buf.toString('utf8', pos, nl));
      if (rec === undefined) break;
      out.push(rec);
      pos = nl + 1;
    }
    this.torn = pos < buf.length;
    this.lines = out.length;
    this.size = pos;
    return out;
  }

  /** Appends `recs` and waits until they are on disk. On failure the file is cut back to what it
   *  held before (or, if that fails too, `failed` is set). */
  async append(recs: unknown[]): Promise<void> {
    if (this.torn || this.failed) throw internal(`journal ${this.file} must be rewritten before appending`);
    const data = recs.map(encodeLine).join('');
    const buf = Buffer.from(data);
    this.fd ??= await openP(this.file, 'a', 0o644);
    const fd = this.fd;
    try {
      for (let off = 0; off < buf.length; ) off += (await writeP(fd, buf, off, buf.length - off)).bytesWritten;
      await datasyncP(fd);
    } catch (e) {
      try {
        await truncateP(fd, this.size);
        await datasyncP(fd);
      } catch {
        this.failed = true;
      }
      throw e;
    }
    this.size += buf.length;
    this.lines += recs.length;
  }

  /** Replaces the file's content by `recs`, atomically and durably. */
  async rewrite(recs: unknown[]): Promise<void> {
    const tmp = `${this.file}.tmp`;
    const data = recs.map(encodeLine).join('');
    try {
      const fh = await open(tmp, 'w', 0o644);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
    } catch (e) {
      await unlink(tmp).catch(() => undefined); // the write's error (rethrown) is the one to report
      throw e;
    }
    // the old file is gone from the directory: its handle must not be appended to
    if (this.fd !== undefined) await closeP(this.fd).catch(() => undefined);
    this.fd = undefined;
    this.size = Buffer.byteLength(data);
    this.lines = recs.length;
    this.torn = false;
    // the rename must be on disk before anything is appended to the new file
    try {
      await syncDir(dirname(this.file));
    } catch (e) {
      this.failed = true;
      throw e;
    }
    this.failed = false;
  }

  /** Removes another file (durably: the directory is synced). */
  async removeFile(path: string): Promise<void> {
    try {
      await unlink(path);
    } catch (e) {
      ignoreMissing(e as NodeJS.ErrnoException);
      return;
    }
    await syncDir(dirname(path));
  }

  async close(): Promise<void> {
    if (this.fd !== undefined) await closeP(this.fd);
    this.fd = undefined;
  }
}
