// DNS messages on the wire: the question of a query read straight from its bytes (the hot path
// needs only the name, type and EDNS size, and a full decode costs more than the whole answer), and
// responses encoded with dns-packet, truncated to what the client can take over UDP.
import dnsPacket from 'dns-packet';
import type { Answer, Resolution } from './records.js';
import { internal } from '../../common/index.js';

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

type Rec = dnsPacket.Answer;

function toRecord(a: Answer, ttl: number): Rec {
  const base = { name: a.name, ttl, class: 'IN' as const };
  switch (a.type) {
    case 'SRV':
      return {
        ...base,
        type: 'SRV',
        data: a.data as { priority: number; weight: number; port: number; target: string },
      };
    case 'A':
      return { ...base, type: 'A', data: a.data as string };
    case 'PTR':
      return { ...base, type: 'PTR', data: a.data as string };
    case 'CNAME':
      return { ...base, type: 'CNAME', data: a.data as string };
    case 'NS':
      return { ...base, type: 'NS', data: a.data as string };
    default:
      throw internal(`unexpected record type ${a.type}`); // a programming error: answers are built here
  }
}

export interface ZoneInfo {
  domain: string;
  ttl: number;
}

/** Largest UDP reply sent to an EDNS client (the DNS flag day 2020 size, also what we announce). */
export const EDNS_UDP_SIZE = 1232;

/**
 * Encodes the authoritative answer to `q`. The SOA of the zone goes in the authority section of a
 * negative answer (NXDOMAIN or NODATA), so resolvers cache the negative answer for its minimum TTL.
 * With more data than fits the client's UDP size, answers are dropped and TC set (the client then
 * asks over TCP); `maxSize` 0 means no limit (TCP).
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
  const packet: dnsPacket.Packet = {
    id: q.id,
    type: 'response',
    flags:
      dnsPacket.AUTHORITATIVE_ANSWER |
      dnsPacket.RECURSION_AVAILABLE |
      (q.recursionDesired ? dnsPacket.RECURSION_DESIRED : 0) |
      (res.rcode === 'NXDOMAIN' ? 3 : 0),
    questions: [{ name: q.name, type: q.type as dnsPacket.RecordType, class: 'IN' }],
    answers: [...res.answers.map((a) => toRecord(a, zone.ttl)), ...extra],
    authorities: negative
      ? [
          {
            name: soaZone,
            type: 'SOA',
            ttl: zone.ttl,
            class: 'IN',
            data: {
              mname: `ns.dns.${zone.domain}`,
              rname: `hostmaster.${zone.domain}`,
              serial: 1,
              refresh: 7200,
              retry: 1800,
              expire: 86400,
              minimum: zone.ttl,
            },
          },
        ]
      : [],
    additionals: res.additionals.map((a) => toRecord(a, zone.ttl)),
  };
  if (q.ednsSize) {
    const opt: dnsPacket.OptAnswer = {
      name: '.',
      type: 'OPT',
      udpPayloadSize: EDNS_UDP_SIZE,
      extendedRcode: 0,
      ednsVersion: 0,
      flags: 0,
      flag_do: false,
      options: [],
    };
    packet.additionals!.push(opt);
  }
  let out = echoQuestion(dnsPacket.encode(packet), q);
  const limit = maxSize === 0 ? 0 : q.ednsSize ? Math.min(q.ednsSize, maxSize) : 512;
  if (limit && out.length > limit) {
    packet.additionals = q.ednsSize ? [packet.additionals!.at(-1)!] : [];
    while (out.length > limit && packet.answers!.length > 0) {
      packet.answers!.pop();
      packet.flags! |= dnsPacket.TRUNCATED_RESPONSE;
      out = echoQuestion(dnsPacket.encode(packet), q);
    }
  }
  return out;
}

/** The question goes back exactly as asked (letter case included: some resolvers check it). */
function echoQuestion(out: Buffer, q: Question): Buffer {
  q.questionBytes.copy(out, 12);
  return out;
}

/** The same encoded reply for another query id. */
export function withId(reply: Buffer, id: number): Buffer {
  const out = Buffer.from(reply);
  out.writeUInt16BE(id, 0);
  return out;
}
