// A streaming tar reader (ustar + GNU long names + PAX). Hand-written rather than tar-stream's
// extract for two reasons: tar-stream decodes PAX values as UTF-8, which corrupts binary xattrs
// such as `security.capability` (SCHILY.xattr.*), and layer unpack is throughput-bound, so file
// data is handed to the consumer as slices of the incoming chunks with no per-entry stream objects.
import { invalidArgument } from '../../common/index.js';

export type TarEntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo';

export interface TarHeader {
  name: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch (fractional when PAX gives it). */
  mtime: number;
  atime?: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from PAX `SCHILY.xattr.*` / `LIBARCHIVE.xattr.*`, raw bytes. */
  xattrs?: Map<string, Buffer>;
}

/** What the consumer does with an entry's data: called with slices, then end(). */
export interface EntrySink {
  write(data: Buffer): void | Promise<void>;
  end(): void | Promise<void>;
}

export interface TarConsumer {
  entry(h: TarHeader): Promise<EntrySink | undefined> | EntrySink | undefined;
}

const BLOCK = 512;

function cstr(buf: Buffer, off: number, len: number): string {
  let end = off;
  const max = off + len;
  while (end < max && buf[end] !== 0) end++;
  return buf.toString('utf8', off, end);
}

function num(buf: Buffer, off: number, len: number, field: string): number {
  if (buf[off] & 0x80) {
    // GNU base-256: big-endian two's complement with the top bit as a marker.
    let v = buf[off] & 0x3f;
    if (buf[off] & 0x40) throw invalidArgument(`tar header: negative ${field}`, { field });
    for (let i = 1; i < len; i++) v = v * 256 + buf[off + i];
    return v;
  }
  const s = cstr(buf, off, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw invalidArgument(`tar header: invalid octal ${field} ${JSON.stringify(s)}`, { field });
  return parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 32 : h[i];
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  const want = num(h, 148, 8, 'checksum');
  return want === unsigned || want === signed;
}

const TYPES: Record<string, TarEntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'directory',
  '6': 'fifo',
};

/** Parses PAX records ("len key=value\n"), keeping values as raw bytes. */
export function parsePax(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < buf.length) {
    const sp = buf.indexOf(0x20, pos);
    if (sp < 0) break;
    const len = parseInt(buf.toString('ascii', pos, sp), 10);
    if (!Number.isFinite(len) || len <= 0 || pos + len > buf.length)
      throw invalidArgument('tar: malformed PAX header record', { field: 'pax' });
    const rec = buf.subarray(sp + 1, pos + len - 1); // without trailing \n
    const eq = rec.indexOf(0x3d);
    if (eq > 0) out.set(rec.toString('utf8', 0, eq), Buffer.from(rec.subarray(eq + 1)));
    pos += len;
  }
  return out;
}

/**
 * Reads a tar stream, calling `consumer.entry` for each entry in order and feeding file data to
 * the returned sink. Backpressure: the next chunk is read only after the sink's promises settle.
 */
export async function readTar(source: AsyncIterable<Buffer | Uint8Array>, consumer: TarConsumer): Promise<void> {
  let pending: Buffer | null = null; // partial header or meta block bytes
  const st: { state: 'header' | 'data' | 'meta' | 'pad' | 'end' } = { state: 'header' };
  let remaining = 0; // bytes of data (or meta) left in the current entry
  let padding = 0;
  let sink: EntrySink | undefined;
  let metaKind = '';
  let meta: Buffer[] = [];
  let gnuLongName: string | undefined;
  let gnuLongLink: string | undefined;
  let pax: Map<string, Buffer> | undefined;
  let globalPax: Map<string, Buffer> | undefined;
  let zeroBlocks = 0;

  const onHeader = async (h: Buffer): Promise<void> => {
    if (h.every((b) => b === 0)) {
      zeroBlocks++;
      if (zeroBlocks >= 2) st.state = 'end';
      return;
    }
    zeroBlocks = 0;
    if (!checksumOk(h))
      throw invalidArgument('tar: header checksum mismatch (not a tar archive, or corrupt)', { field: 'layer' });
    const flag = String.fromCharCode(h[156]);
    const size = num(h, 124, 12, 'size');
    padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > 64 << 20)
        throw invalidArgument(`tar: ${flag} meta header of ${size} bytes is too large`, { field: 'layer' });
      metaKind = flag;
      meta = [];
      remaining = size;
      st.state = size > 0 ? 'meta' : padding ? 'pad' : 'header';
      if (size === 0) finishMeta();
      return;
    }
    const magic = h.toString('ascii', 257, 263);
    let name = cstr(h, 0, 100);
    if (magic.startsWith('ustar')) {
      const prefix = cstr(h, 345, 155);
      if (prefix && magic === 'ustar\u0000') name = `${prefix}/${name}`;
    }
    let linkname = cstr(h, 157, 100);
    let type = TYPES[flag];
    if (!type) {
      if (flag === 'S')
        throw invalidArgument(`tar entry ${JSON.stringify(name)}: GNU sparse files are not supported`, { field: name });
      throw invalidArgument(`tar entry ${JSON.stringify(name)}: unsupported entry type ${JSON.stringify(flag)}`, {
        field: name,
      });
    }
    const hdr: TarHeader = {
      name,
      type,
      linkname,
      size,
      mode: num(h, 100, 8, 'mode'),
      uid: num(h, 108, 8, 'uid'),
      gid: num(h, 116, 8, 'gid'),
      mtime: num(h, 136, 12, 'mtime'),
      devmajor: type === 'char' || type === 'block' ? num(h, 329, 8, 'devmajor') : 0,
      devminor: type === 'char' || type === 'block' ? num(h, 337, 8, 'devminor') : 0,
    };
    if (gnuLongName !== undefined) {
      hdr.name = gnuLongName;
      gnuLongName = undefined;
    }
    if (gnuLongLink !== undefined) {
      hdr.linkname = gnuLongLink;
      gnuLongLink = undefined;
    }
    const p = globalPax || pax ? new Map([...(globalPax ?? []), ...(pax ?? [])]) : undefined;
    pax = undefined;
    if (p) applyPax(hdr, p);
    if (type === 'file' && name.endsWith('/') && flag === '\0') hdr.type = 'directory';
    if (hdr.type !== 'file') {
      hdr.size = type === 'link' || type === 'symlink' || type === 'directory' ? 0 : hdr.size;
    }
    remaining = hdr.type === 'file' ? hdr.size : size;
    padding = (BLOCK - (remaining % BLOCK)) % BLOCK;
    sink = (await consumer.entry(hdr)) ?? undefined;
    if (remaining > 0) st.state = 'data';
    else {
      if (sink) await sink.end();
      sink = undefined;
      st.state = padding ? 'pad' : 'header';
    }
  };

  const finishMeta = (): void => {
    const buf = Buffer.concat(meta);
    meta = [];
    if (metaKind === 'x') pax = parsePax(buf);
    else if (metaKind === 'g') globalPax = new Map([...(globalPax ?? []), ...parsePax(buf)]);
    else if (metaKind === 'L') gnuLongName = cstr(buf, 0, buf.length);
    else if (metaKind === 'K') gnuLongLink = cstr(buf, 0, buf.length);
  };

  for await (const c of source) {
    let chunk = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    while (chunk.length > 0) {
      if (st.state === 'end') break;
      if (st.state === 'header') {
        if (pending || chunk.length < BLOCK) {
          const need = BLOCK - (pending?.length ?? 0);
          const take = chunk.subarray(0, need);
          pending = pending ? Buffer.concat([pending, take]) : Buffer.from(take);
          chunk = chunk.subarray(take.length);
          if (pending.length < BLOCK) continue;
          const h = pending;
          pending = null;
          await onHeader(h);
        } else {
          const h = chunk.subarray(0, BLOCK);
          chunk = chunk.subarray(BLOCK);
          await onHeader(h);
        }
      } else if (st.state === 'data' || st.state === 'meta') {
        const n = Math.min(remaining, chunk.length);
        const piece = chunk.subarray(0, n);
        chunk = chunk.subarray(n);
        remaining -= n;
        if (st.state === 'meta') meta.push(Buffer.from(piece));
        else if (sink) await sink.write(piece);
        if (remaining === 0) {
          if (st.state === 'meta') finishMeta();
          else {
            if (sink) await sink.end();
            sink = undefined;
          }
          st.state = padding ? 'pad' : 'header';
        }
      } else if (st.state === 'pad') {
        const n = Math.min(padding, chunk.length);
        chunk = chunk.subarray(n);
        padding -= n;
        if (padding === 0) st.state = 'header';
      }
    }
  }
  if (st.state === 'data' || st.state === 'meta' || st.state === 'pad' || pending) {
    throw invalidArgument('tar: unexpected end of archive (truncated layer)', { field: 'layer' });
  }
}

function applyPax(h: TarHeader, p: Map<string, Buffer>): void {
  for (const [k, v] of p) {
    switch (k) {
      case 'path':
        h.name = v.toString('utf8');
        break;
      case 'linkpath':
        h.linkname = v.toString('utf8');
        break;
      case 'size':
        h.size = parseInt(v.toString(), 10);
        break;
      case 'uid':
        h.uid = parseInt(v.toString(), 10);
        break;
      case 'gid':
        h.gid = parseInt(v.toString(), 10);
        break;
      case 'mtime':
        h.mtime = parseFloat(v.toString());
        break;
      case 'atime':
        h.atime = parseFloat(v.toString());
        break;
      default:
        if (k.startsWith('SCHILY.xattr.')) {
          (h.xattrs ??= new Map()).set(k.slice('SCHILY.xattr.'.length), v);
        } else if (k.startsWith('LIBARCHIVE.xattr.')) {
          (h.xattrs ??= new Map()).set(
            decodeURIComponent(k.slice('LIBARCHIVE.xattr.'.length)),
            Buffer.from(v.toString(), 'base64'),
          );
        }
    }
  }
  if (!Number.isFinite(h.size) || h.size < 0)
    throw invalidArgument(`tar entry ${JSON.stringify(h.name)}: invalid PAX size`, { field: h.name });
}
