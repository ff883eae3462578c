// Test helpers for the image suites: layer tars built in the test with tar-stream, and a scan of
// a directory tree.
import { pack, type Header } from 'tar-stream';
import { gzipSync } from 'node:zlib';
import { readdirSync, lstatSync } from 'node:fs';
import { join } from 'node:path';

export type E = Partial<Header> & { name: string; data?: string | Buffer };

/** An uncompressed tar of `entries` (type defaults to file, or directory for names ending in /). */
export async function makeTar(entries: E[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((res, rej) => {
    p.on('end', res);
    p.on('error', rej);
  });
  for (const e of entries) {
    const { data, ...h } = e;
    const type = h.type ?? (h.name.endsWith('/') ? 'directory' : 'file');
    await new Promise<void>((res, rej) => {
      p.entry(
        { mode: type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: new Date(1_600_000_000_000), ...h, type },
        (type === 'file' ? (data ?? '') : undefined) as string,
        (err) => (err ? rej(err) : res()),
      );
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

export async function makeTarGz(entries: E[]): Promise<Buffer> {
  return gzipSync(await makeTar(entries));
}

/** Relative paths of everything under `dir` (sorted). */
export function scan(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, pre: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      out.push(pre + n);
      if (lstatSync(p).isDirectory()) walk(p, `${pre}${n}/`);
    }
  };
  walk(dir, '');
  return out.sort();
}
