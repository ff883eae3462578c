// The slice of ASN.1 DER that certificate issuance needs (X.690): definite lengths, the universal
import { invalidArgument } from '../../../common/index.js';
// types an X.509 v3 certificate uses, context tags, and a reader for the few fields taken from an
// existing certificate (its subject, its key identifier). Encoding follows DER's rules: minimal
// lengths and integers, DEFAULT values omitted by the callers, bit strings without padding bits.

export type Der = Buffer;

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v % 256);
  return Buffer.from([0x80 | out.length, ...out]);
}

export const tlv = (tag: number, ...parts: Buffer[]): Der => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
};
export const seq = (...parts: Buffer[]) => tlv(0x30, ...parts);
export const set = (...parts: Buffer[]) => tlv(0x31, ...parts);
export const explicit = (n: number, inner: Buffer) => tlv(0xa0 + n, inner);
export const octets = (b: Buffer) => tlv(0x04, b);
export const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
export const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));

/** A non-negative INTEGER from big-endian bytes (leading zeros dropped, a 0x00 added before a high bit). */
export function uint(b: Buffer): Der {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return tlv(0x02, v[0] & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

export function oid(dotted: string): Der {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a + b];
  for (const n of rest) {
    const groups: number[] = [];
    for (let v = n; ; v = Math.floor(v / 128)) {
      groups.unshift(v % 128);
      if (v < 128) break;
    }
    out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return tlv(0x06, Buffer.from(out));
}

/** BIT STRING of whole bytes whose trailing zero bits are not part of the value (named bit lists). */
export function namedBits(bytes: number[]): Der {
  const b = [...bytes];
  while (b.length > 1 && b[b.length - 1] === 0) b.pop();
  const last = b[b.length - 1];
  let unused = 0;
  while (unused < 7 && last !== 0 && !(last & (1 << unused))) unused++;
  return tlv(0x03, Buffer.from([unused, ...b]));
}
export const bits = (b: Buffer) => tlv(0x03, Buffer.from([0]), b);

/** UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
export function time(d: Date): Der {
  const iso = d
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:T]/g, '');
  return d.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii'))
    : tlv(0x18, Buffer.from(iso, 'ascii'));
}

export interface Node {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

/** The TLV at `off` (definite lengths only, as DER has). */
export function readTlv(buf: Buffer, off: number): Node {
  const tag = buf[off];
  let len = buf[off + 1];
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i];
    p += n;
  }
  if (tag === undefined || p + len > buf.length) throw invalidArgument('malformed DER');
  return { tag, start: off, contentStart: p, end: p + len };
}

/** The children of a constructed TLV. */
export function children(buf: Buffer, n: Node): Node[] {
  const out: Node[] = [];
  for (let off = n.contentStart; off < n.end; ) {
    const c = readTlv(buf, off);
    out.push(c);
    off = c.end;
  }
  return out;
}
