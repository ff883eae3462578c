// Decompression streams for layer media types. gzip uses zlib with large chunks (fewer callbacks);
// zstd uses fzstd's streaming `Decompress` (pure JS, push-based: input chunks in, output chunks
// out, no whole-layer buffering).
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { invalidArgument } from '../../common/index.js';
import type { Compression } from '../formats/index.js';

const CHUNK = 256 * 1024;

class ZstdDecompress extends Transform {
  private readonly z: Decompress;
  constructor() {
    super({ readableHighWaterMark: 4 * CHUNK });
    this.z = new Decompress((chunk) => {
      this.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    });
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, cb: TransformCallback): void {
    try {
      this.z.push(chunk);
      cb();
    } catch (e) {
      cb(invalidArgument(`zstd: ${(e as Error).message}`, { field: 'layer' }));
    }
  }
  override _flush(cb: TransformCallback): void {
    try {
      this.z.push(new Uint8Array(0), true);
      cb();
    } catch (e) {
      cb(invalidArgument(`zstd: ${(e as Error).message}`, { field: 'layer' }));
    }
  }
}

/** A transform that decompresses `compression` (identity for 'none'). */
export function decompressor(compression: Compression): Transform {
  switch (compression) {
    case 'gzip':
      return createGunzip({ chunkSize: CHUNK });
    case 'zstd':
      return new ZstdDecompress();
    case 'none':
      return new Transform({
        transform(c, _e, cb) {
          cb(null, c);
        },
      });
  }
}

/** Detects compression from the first bytes (for `docker load`/`import` inputs without media types). */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  if (head.length >= 3 && head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68) {
    throw invalidArgument('bzip2-compressed archives are not supported (use gzip, zstd or plain tar)', {
      field: 'archive',
    });
  }
  if (head.length >= 6 && head[0] === 0xfd && head[1] === 0x37 && head[2] === 0x7a && head[3] === 0x58) {
    throw invalidArgument('xz-compressed archives are not supported (use gzip, zstd or plain tar)', {
      field: 'archive',
    });
  }
  return 'none';
}

/** Reads the first bytes of a stream without losing them: returns them and a stream of everything. */
export async function peek(src: Readable, n = 8): Promise<{ head: Buffer; stream: AsyncIterable<Buffer> }> {
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const got: Buffer[] = [];
  let len = 0;
  let done = false;
  while (len < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    got.push(b);
    len += b.length;
  }
  const head = Buffer.concat(got);
  async function* rest(): AsyncIterable<Buffer> {
    if (head.length) yield head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    }
  }
  return { head: head.subarray(0, n), stream: rest() };
}
