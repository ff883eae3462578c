// Writing archive entries with tar-stream, streaming blob bodies with backpressure.
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { pack, type Pack } from 'tar-stream';

export type { Pack };
export { pack };

const MTIME = new Date(0);

export function addBuffer(p: Pack, name: string, data: Buffer): Promise<void> {
  return new Promise((res, rej) => {
    p.entry({ name, size: data.length, mode: 0o644, mtime: MTIME, type: 'file' }, data, (e) => (e ? rej(e) : res()));
  });
}

export function addDir(p: Pack, name: string): Promise<void> {
  return new Promise((res, rej) => {
    p.entry({ name: name.endsWith('/') ? name : `${name}/`, type: 'directory', mode: 0o755, mtime: MTIME }, (e) =>
      e ? rej(e) : res(),
    );
  });
}

export async function addStream(p: Pack, name: string, size: number, body: Readable): Promise<void> {
  let done!: Promise<void>;
  const entry = p.entry({ name, size, mode: 0o644, mtime: MTIME, type: 'file' }, () => {});
  done = new Promise((res, rej) => {
    entry.on('error', rej);
    entry.on('finish', () => res());
  });
  await pipeline(body, entry);
  // the entry's stream reports its own errors through the pipeline above
  await done.catch(() => {});
}
