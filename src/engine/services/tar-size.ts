// The apparent size of a tar stream's content (what dockerd reports as a layer's or a writable
// layer's size, its directory.Size over the unpacked files): regular files' sizes plus symlinks'
// (the length of their target, as lstat gives it); directories and hard links add nothing. Read
// without buffering the entries.
import type { Readable } from 'node:stream';
import { extract } from 'tar-stream';

/** Sums file sizes of the tar read from `source` (errors of any stream in `alsoWatch` abort it). */
export function tarContentSize(source: Readable, alsoWatch: Readable[] = []): Promise<number> {
  const tar = extract();
  let size = 0;
  const done = new Promise<number>((res, rej) => {
    tar.on('entry', (h, stream, next) => {
      if (h.type === 'file' || h.type === 'contiguous-file') size += h.size ?? 0;
      else if (h.type === 'symlink') size += Buffer.byteLength(h.linkname ?? '');
      stream.on('end', next);
      stream.resume();
    });
    tar.on('finish', () => res(size));
    tar.on('error', rej);
  });
  for (const s of [source, ...alsoWatch]) s.on('error', (e) => tar.destroy(e));
  source.pipe(tar);
  return done;
}
