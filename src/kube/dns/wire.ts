// DNS messages on the wire: the question of a query read straight from its bytes (the hot path
// needs only the name, type and EDNS size, and a full decode costs more than the whole answer), and
// responses encoded by encode.ts (with name compression), truncated to what the client can take over UDP.
import dnsPacket from 'dns-packet';
import type { Answer, Resolution } from './records.js';
import { encodeMessage, rawRecord, type Rr } from './encode.js';

export interface Question {
  id: number;
  /** Lower case, no trailing dot. */
  name: string;
  type: string;
  qclass: number;
  recursionDesired: boolean;
  /** The EDNS UDP payload size the client announced, or 0 without EDNS. */
  ednsSize: number;
  /** Bytes of the question section (for cache keys and replies). */
  questionBytes: Buffer;
}

const TYPES: Record<number, string> = {
  1: 'A',
  2: 'NS',
  5: 'CNAME',
  6: 'SOA',
  12: 'PTR',
  16: 'TXT',
  28: 'AAAA',
  33: 'SRV',
  255: 'ANY',
};

/** Reads the header and the single question; undefined for what is not a standard query. */
export function readQuestion(msg: Buffer): Question | 'formerr' | 'notimp' | undefined {
  if (msg.length < 12) return undefined;
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000) return undefined; // a response, not a query
  if ((flags >> 11) & 0xf) return 'notimp'; // opcode other than QUERY
  if (msg.readUInt16BE(4) !== 1) return 'formerr';
  let off = 12;
  const labels: string[] = [];
  for (;;) {
    if (off >= msg.length) return 'formerr';
    const len = msg[off];
    if (len === 0) {
      off++;
      break;
    }
    if (len > 63 || off + 1 + len > msg.length) return 'formerr'; // no compression in a question
    labels.push(msg.toString('latin1', off + 1, off + 1 + len).toLowerCase());
    off += 1 + len;
  }
  if (off + 4 > msg.length) return 'formerr';
  const qtype = msg.readUInt16BE(off);
  const qclass = msg.readUInt16BE(off + 2);
  const questionBytes = msg.subarray(12, off + 4);
  let ednsSize = 0;
  const arcount = msg.readUInt16BE(10);
  let p = off + 4;
  // Only the OPT pseudo-record matters in the additional section; skip answer/authority (none in queries).
  if (arcount > 0 && msg.readUInt16BE(6) === 0 && msg.readUInt16BE(8) === 0 && p + 11 <= msg.length) {
    if (msg[p] === 0 && msg.readUInt16BE(p + 1) === 41) ednsSize = Math.max(512, msg.readUInt16BE(p + 3));
  }
  return {
    id: msg.readUInt16BE(0),
    name: labels.join('.'),
    type: TYPES[qtype] ?? `TYPE${qtype}`,
    qclass,
    recursionDesired: (flags & 0x0100) !== 0,
    ednsSize,
    questionBytes,
  };
}

/** A reply carrying only an rcode (FORMERR 1, SERVFAIL 2, NOTIMP 4, REFUSED 5) for any query. */
export function errorReply(msg: Buffer, rcode: number): Buffer | undefined {
  if (msg.length < 12) return undefined;
  const out = Buffer.alloc(12);
  msg.copy(out, 0, 0, 4);
  // QR, keep opcode and RD, set RA, rcode.
  out.writeUInt16BE(0x8000 | (msg.readUInt16BE(2) & 0x7900) | 0x0080 | rcode, 2);
  return out;
}

function toRecord(a: Answer, zone: ZoneInfo): Rr {
  const ttl = a.ttl ?? zone.ttl;
  if (a.type === 'SOA') return soa(a.name, zone);
  if (a.type === 'SRV') return { name: a.name, ttl, type: 'SRV', data: a.data };
  return { name: a.name, ttl, type: a.type, data: a.data };
}

function soa(name: string, zone: ZoneInfo): Rr {
  return {
    name,
    type: 'SOA',
    ttl: zone.ttl,
    data: {
      mname: `ns.dns.${zone.domain}`,
      rname: `hostmaster.${zone.domain}`,
      serial: 1,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: zone.ttl,
    },
  };
}

export interface ZoneInfo {
  domain: string;
  ttl: number;
}

/** Largest UDP reply sent to an EDNS client (the DNS flag day 2020 size, also what we announce). */
export const EDNS_UDP_SIZE = 1232;

/**
 * Encodes the authoritative answer to `q` (AA, RD as asked, no RA: as CoreDNS answers its zones).
 * The SOA of the zone goes in the authority section of a negative answer (NXDOMAIN or NODATA), so
 * resolvers cache the negative answer for its minimum TTL. With more data than fits the client's
 * UDP size, records are dropped and TC set (the client then asks over TCP); `maxSize` 0 means no
 * limit (TCP). Owner names equal to the question point at it, so they carry the letter case asked.
 */
export function encodeAnswer(
  q: Question,
  res: Resolution,
  zone: ZoneInfo,
  maxSize: number,
  /** Records from elsewhere (a chased CNAME's target), appended as they came. */
  extra: dnsPacket.Answer[] = [],
): Buffer {
  const soaZone = q.name.endsWith('.in-addr.arpa') ? 'in-addr.arpa' : zone.domain;
  const negative = res.answers.length === 0 || (res.rcode === 'NXDOMAIN' && extra.length === 0);
  const limit = maxSize === 0 ? 0 : q.ednsSize ? Math.min(q.ednsSize, maxSize) : 512;
  return encodeMessage(
    {
      id: q.id,
      flags:
        0x8000 |
        dnsPacket.AUTHORITATIVE_ANSWER |
        (q.recursionDesired ? dnsPacket.RECURSION_DESIRED : 0) |
        (res.rcode === 'NXDOMAIN' ? 3 : 0),
      question: q.questionBytes,
      answers: [...res.answers.map((a) => toRecord(a, zone)), ...extra.map(rawRecord)],
      authorities: negative ? [soa(soaZone, zone)] : [],
      additionals: res.additionals.map((a) => toRecord(a, zone)),
      ednsSize: q.ednsSize ? EDNS_UDP_SIZE : 0,
    },
    limit,
  );
}

/** The same encoded reply for another query id. */
export function withId(reply: Buffer, id: number): Buffer {
  const out = Buffer.from(reply);
  out.writeUInt16BE(id, 0);
  return out;
}
