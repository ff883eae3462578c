// HPACK (RFC 7541) for the lean HTTP/2 client (h2.ts says why it exists): a full decoder — static
// and dynamic tables, integers, Huffman strings — because etcd's Go HTTP/2 server indexes response
// headers in the dynamic table and Huffman-codes strings; and the request side's literal encoding.
// The client never indexes what it sends (its header block is built once per method and reused),
// so its encoder keeps no state.
import { HUFFMAN_CODES, HUFFMAN_LENGTHS, STATIC_TABLE } from './hpack-tables.js';

export class HpackError extends Error {}

/** Huffman decoding tree: node n has children at tree[2n] (bit 0) and tree[2n+1] (bit 1); a leaf is -(symbol+1). */
const tree = (() => {
  const t: number[] = [0, 0];
  let nodes = 1;
  for (let sym = 0; sym < HUFFMAN_CODES.length; sym++) {
    const code = HUFFMAN_CODES[sym];
    const len = HUFFMAN_LENGTHS[sym];
    let n = 0;
    for (let i = len - 1; i >= 0; i--) {
      const bit = (code >>> i) & 1;
      if (i === 0) {
        t[2 * n + bit] = -(sym + 1);
        break;
      }
      if (t[2 * n + bit] === 0) {
        t[2 * n + bit] = nodes++;
        t.push(0, 0);
      }
      n = t[2 * n + bit];
    }
  }
  return Int32Array.from(t);
})();

function huffmanDecode(b: Buffer, start: number, end: number): string {
  const out: number[] = [];
  let n = 0;
  let depth = 0; // bits since the last symbol
  let ones = true; // whether those bits were all 1 (a valid padding is a prefix of EOS)
  for (let i = start; i < end; i++) {
    const byte = b[i];
    for (let j = 7; j >= 0; j--) {
      const bit = (byte >> j) & 1;
      const next = tree[2 * n + bit];
      depth++;
      ones &&= bit === 1;
      if (next < 0) {
        const sym = -next - 1;
        if (sym === 256) throw new HpackError('EOS in a Huffman string');
        out.push(sym);
        n = 0;
        depth = 0;
        ones = true;
      } else if (next === 0) {
        throw new HpackError('invalid Huffman code');
      } else {
        n = next;
      }
    }
  }
  if (depth > 7 || !ones) throw new HpackError('invalid Huffman padding');
  return Buffer.from(out).toString('latin1');
}

/** Decodes header blocks of one connection (the dynamic table lives as long as the connection). */
export class HpackDecoder {
  private dynamic: [string, string][] = [];
  private size = 0;
  private pos = 0;
  private buf: Buffer = Buffer.alloc(0);

  constructor(private maxSize = 4096) {}

  /** Decodes a complete header block into [name, value] pairs, in order. */
  decode(block: Buffer): (readonly [string, string])[] {
    this.buf = block;
    this.pos = 0;
    const out: (readonly [string, string])[] = [];
    while (this.pos < block.length) {
      const b = block[this.pos];
      if (b & 0x80) {
        out.push(this.entry(this.int(7)));
      } else if (b & 0x40) {
        const f = this.literal(6);
        this.add(f);
        out.push(f);
      } else if (b & 0x20) {
        const size = this.int(5);
        if (size > 4096) throw new HpackError(`dynamic table size ${size} above the limit`);
        this.maxSize = size;
        this.evict(0);
      } else {
        out.push(this.literal(4)); // without indexing / never indexed
      }
    }
    return out;
  }

  /** The table's own entry, not a copy (a reply's headers are mostly indexed: no garbage per field). */
  private entry(i: number): readonly [string, string] {
    if (i >= 1 && i <= STATIC_TABLE.length) return STATIC_TABLE[i - 1];
    const d = this.dynamic[i - STATIC_TABLE.length - 1];
    if (!d) throw new HpackError(`header index ${i} out of range`);
    return d;
  }

  private literal(prefix: number): [string, string] {
    const idx = this.int(prefix);
    const name = idx === 0 ? this.string() : this.entry(idx)[0];
    return [name, this.string()];
  }

  private add(f: [string, string]): void {
    const sz = f[0].length + f[1].length + 32;
    this.evict(sz);
    if (sz > this.maxSize) return; // larger than the table: the table is now empty
    this.dynamic.unshift(f);
    this.size += sz;
  }

  private evict(room: number): void {
    while (this.dynamic.length && this.size + room > this.maxSize) {
      const [n, v] = this.dynamic.pop()!;
      this.size -= n.length + v.length + 32;
    }
  }

  private int(prefix: number): number {
    const max = (1 << prefix) - 1;
    if (this.pos >= this.buf.length) throw new HpackError('truncated header block');
    let v = this.buf[this.pos++] & max;
    if (v < max) return v;
    for (let shift = 0; ; shift += 7) {
      if (this.pos >= this.buf.length || shift > 28) throw new HpackError('bad integer in a header block');
      const b = this.buf[this.pos++];
      v += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return v;
    }
  }

  private string(): string {
    if (this.pos >= this.buf.length) throw new HpackError('truncated header block');
    const huffman = (this.buf[this.pos] & 0x80) !== 0;
    const len = this.int(7);
    const start = this.pos;
    const end = start + len;
    if (end > this.buf.length) throw new HpackError('truncated header string');
    this.pos = end;
    return huffman ? huffmanDecode(this.buf, start, end) : this.buf.toString('latin1', start, end);
  }
}

function encodeInt(out: number[], first: number, prefix: number, v: number): void {
  const max = (1 << prefix) - 1;
  if (v < max) {
    out.push(first | v);
    return;
  }
  out.push(first | max);
  v -= max;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

/**
 * A request header block: each field as a static-table index when the static table has it
 * exactly, else a literal without indexing (the name by static index when it has the name).
 */
export function encodeHeaders(fields: [string, string][]): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) {
    const exact = STATIC_TABLE.findIndex(([n, v]) => n === name && v === value);
    if (exact >= 0) {
      encodeInt(out, 0x80, 7, exact + 1);
      continue;
    }
    const byName = STATIC_TABLE.findIndex(([n]) => n === name);
    encodeInt(out, 0x00, 4, byName + 1); // 0 = a literal name follows
    if (byName < 0) {
      const n = Buffer.from(name, 'latin1');
      encodeInt(out, 0x00, 7, n.length);
      out.push(...n);
    }
    const v = Buffer.from(value, 'latin1');
    encodeInt(out, 0x00, 7, v.length);
    out.push(...v);
  }
  return Buffer.from(out);
}
