// Encodes a response with name compression (RFC 1035 4.1.4), which dns-packet does not do. Without
// it a headless Service's A records take three times the bytes, so a 512-byte UDP answer (musl and
// busybox send no EDNS) held 9 addresses where CoreDNS sends 28, and a 1232-byte one 24 of 60.
// Hand-written because no kept library here compresses. Sections are filled in order (answers,
// authority, additional) while they fit, as miekg/dns (CoreDNS) truncates: a record that does not
// fit is dropped with all after it in its section, and TC is set when any record was dropped.
import dnsPacket from 'dns-packet';

export type RData =
  | { type: 'A'; data: string }
  | { type: 'PTR' | 'CNAME' | 'NS'; data: string }
  | { type: 'SRV'; data: { priority: number; weight: number; port: number; target: string } }
  | { type: 'TXT'; data: string }
  | {
      type: 'SOA';
      data: {
        mname: string;
        rname: string;
        serial: number;
        refresh: number;
        retry: number;
        expire: number;
        minimum: number;
      };
    };

export type Rr = RData & { name: string; ttl: number };
/** A record already encoded elsewhere (an upstream's answer), written as is. */
export type Raw = { raw: Buffer };

export interface Message {
  id: number;
  flags: number;
  /** The question section's bytes, echoed as asked. */
  question: Buffer;
  answers: (Rr | Raw)[];
  authorities: Rr[];
  additionals: Rr[];
  /** The EDNS UDP size to announce in an OPT record, or 0 for none. */
  ednsSize: number;
}

const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, TXT: 16, SRV: 33 } as const;
const TC = 0x0200;

class Writer {
  buf = Buffer.alloc(1024);
  len = 0;
  /** Lower-case name suffix → offset, for compression pointers. */
  private names = new Map<string, number>();
  private added: string[] = [];

  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const b = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(b, 0, 0, this.len);
    this.buf = b;
  }
  u8(v: number) {
    this.room(1);
    this.buf[this.len++] = v;
  }
  u16(v: number) {
    this.room(2);
    this.buf.writeUInt16BE(v, this.len);
    this.len += 2;
  }
  u32(v: number) {
    this.room(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
  }
  bytes(b: Buffer) {
    this.room(b.length);
    b.copy(this.buf, this.len);
    this.len += b.length;
  }
  private remember(suffix: string, off: number) {
    if (off < 0x4000 && !this.names.has(suffix)) {
      this.names.set(suffix, off);
      this.added.push(suffix);
    }
  }
  /** Registers the names of the question (at offset 12) as compression targets. */
  question(q: Buffer) {
    const labels: [number, string][] = [];
    for (let off = 0; off < q.length && q[off] !== 0; off += 1 + q[off])
      labels.push([12 + off, q.toString('latin1', off + 1, off + 1 + q[off]).toLowerCase()]);
    for (let i = 0; i < labels.length; i++)
      this.remember(
        labels
          .slice(i)
          .map((l) => l[1])
          .join('.'),
        labels[i][0],
      );
    this.bytes(q);
  }
  name(n: string, compress = true) {
    const labels = n.split('.').filter(Boolean);
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.').toLowerCase();
      const ptr = this.names.get(suffix);
      if (compress && ptr !== undefined) {
        this.u16(0xc000 | ptr);
        return;
      }
      this.remember(suffix, this.len);
      const b = Buffer.from(labels[i], 'latin1');
      this.u8(b.length);
      this.bytes(b);
    }
    this.u8(0);
  }
  mark(): { len: number; added: number } {
    return { len: this.len, added: this.added.length };
  }
  rollback(m: { len: number; added: number }) {
    this.len = m.len;
    for (const s of this.added.splice(m.added)) this.names.delete(s);
  }
}

function record(w: Writer, r: Rr | Raw) {
  if ('raw' in r) return w.bytes(r.raw);
  w.name(r.name);
  w.u16(TYPE[r.type]);
  w.u16(1);
  w.u32(r.ttl);
  const at = w.len;
  w.u16(0);
  switch (r.type) {
    case 'A':
      for (const o of r.data.split('.')) w.u8(Number(o));
      break;
    case 'PTR':
    case 'CNAME':
    case 'NS':
      w.name(r.data);
      break;
    case 'SRV':
      w.u16(r.data.priority);
      w.u16(r.data.weight);
      w.u16(r.data.port);
      w.name(r.data.target, false); // RFC 2782: the target is not compressed
      break;
    case 'TXT': {
      const b = Buffer.from(r.data);
      w.u8(b.length);
      w.bytes(b);
      break;
    }
    case 'SOA':
      w.name(r.data.mname);
      w.name(r.data.rname);
      for (const v of [r.data.serial, r.data.refresh, r.data.retry, r.data.expire, r.data.minimum]) w.u32(v);
      break;
  }
  w.buf.writeUInt16BE(w.len - at - 2, at);
}

/** The wire form of `m`, at most `limit` bytes (0: no limit). */
export function encodeMessage(m: Message, limit: number): Buffer {
  const w = new Writer();
  w.u16(m.id);
  w.u16(m.flags);
  w.u16(1);
  for (let i = 0; i < 3; i++) w.u16(0);
  w.question(m.question);
  const opt = m.ednsSize ? 11 : 0;
  const max = limit ? limit - opt : Number.POSITIVE_INFINITY;
  let dropped = false;
  const counts = [0, 0, 0];
  const sections: (Rr | Raw)[][] = [m.answers, m.authorities, m.additionals];
  for (let s = 0; s < 3 && !dropped; s++) {
    for (const r of sections[s]) {
      const mark = w.mark();
      record(w, r);
      if (w.len > max) {
        w.rollback(mark);
        dropped = true;
        break;
      }
      counts[s]++;
    }
  }
  if (opt) {
    w.u8(0);
    w.u16(41);
    w.u16(m.ednsSize);
    w.u32(0);
    w.u16(0);
  }
  const out = w.buf.subarray(0, w.len);
  out.writeUInt16BE(m.flags | (dropped ? TC : 0), 2);
  out.writeUInt16BE(counts[0], 6);
  out.writeUInt16BE(counts[1], 8);
  out.writeUInt16BE(counts[2] + (opt ? 1 : 0), 10);
  return Buffer.from(out);
}

/** An upstream record in wire form (uncompressed), for `Raw`. */
export function rawRecord(a: dnsPacket.Answer): Raw {
  return { raw: Buffer.from(dnsPacket.encode({ type: 'response', answers: [a] }).subarray(12)) };
}
