// Protobuf encoding of etcd's TxnRequest and decoding of its TxnResponse, written by hand for the
// one call every API write makes. Why not protobufjs (through @grpc/proto-loader, as the other
// calls): its fromObject + encode and decode + toObject (int64 through Long objects into decimal
// strings) took ~7 % of the API server's CPU per update on etcd (bench/etcd.ts, --prof); these
// walk the bytes once. They produce and accept the shapes proto-loader gives (keepCase, int64 as
// decimal strings, enums as names, bytes as Buffers, absent messages as null), so callers do not
// know which codec ran; txn-codec.test.ts checks both directions against protobufjs.
// The wire format: each field is a varint key (field number << 3 | wire type) followed by a
// varint (type 0) or a varint length and that many bytes (type 2: bytes, strings, messages).
import type { IKeyValue, ITxnRequest } from 'etcd3';
// A reply that does not decode is Unavailable (as a broken connection: the caller may retry); an
// encoder that miscounts is a programming error (Internal).
import { internal, unavailable } from '../../../common/index.js';

const COMPARE_RESULT: Record<string, number> = { Equal: 0, Greater: 1, Less: 2, NotEqual: 3 };
const COMPARE_TARGET: Record<string, number> = { Version: 0, Create: 1, Mod: 2, Value: 3, Lease: 4 };

type Int64 = number | string | undefined | null;
type Bytes = Buffer | Uint8Array | string | undefined | null;

/** A field this encoder writes: a varint, bytes, or a message (its size computed before writing). */
type Field =
  | { no: number; t: 'v'; v: number }
  | { no: number; t: 'b'; v: Uint8Array }
  | { no: number; t: 'm'; v: Field[]; size: number };

const varintSize = (n: number): number => {
  let s = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    s++;
  }
  return s;
};

/** A non-negative safe integer from an int64 the caller gave (else undefined: not supported here). */
function int(v: Int64): number | undefined {
  if (v === undefined || v === null || v === '') return 0;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

const NO_BYTES = new Uint8Array(0);
function bytes(v: Bytes): Uint8Array | undefined {
  if (v === undefined || v === null) return NO_BYTES; // (bf leaves empty fields out: never written)
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return Buffer.from(v);
  return undefined;
}

class Unsupported extends Error {}
const need = <T>(v: T | undefined): T => {
  if (v === undefined) throw new Unsupported();
  return v;
};
const only = (o: object, keys: ReadonlySet<string>) => {
  for (const k in o) {
    const v = (o as Record<string, unknown>)[k];
    if (v !== undefined && v !== null && !keys.has(k)) throw new Unsupported();
  }
};

/** Fields of a message: zero values are left out, as proto3 does. */
const vf = (out: Field[], no: number, v: number | boolean | undefined) => {
  if (v) out.push({ no, t: 'v', v: Number(v) });
};
const bf = (out: Field[], no: number, b: Uint8Array) => {
  if (b.length) out.push({ no, t: 'b', v: b });
};
const msg = (no: number, v: Field[]): Field => ({ no, t: 'm', v, size: 0 });

const COMPARE_KEYS = new Set([
  'key',
  'range_end',
  'result',
  'target',
  'create_revision',
  'mod_revision',
  'version',
  'target_union',
]);
const OP_KEYS = new Set(['request_range', 'request_put', 'request_delete_range', 'request']);
const PUT_KEYS = new Set(['key', 'value', 'lease', 'prev_kv', 'ignore_value', 'ignore_lease']);
const DELETE_KEYS = new Set(['key', 'range_end', 'prev_kv']);
const RANGE_KEYS = new Set(['key', 'range_end', 'limit', 'revision', 'serializable', 'keys_only', 'count_only']);
const TXN_KEYS = new Set(['compare', 'success', 'failure']);
const MEMBERS = ['version', 'create_revision', 'mod_revision'] as const;

function compareFields(c: Record<string, unknown>): Field[] {
  only(c, COMPARE_KEYS);
  const result = need(COMPARE_RESULT[String(c.result ?? 'Equal')]);
  const target = need(COMPARE_TARGET[String(c.target ?? 'Version')]);
  // The oneof member named by the target (proto-loader's encoder writes the member that is set).
  const member = MEMBERS[target];
  if (member === undefined) throw new Unsupported(); // Value / Lease compares: not used here
  for (const m of MEMBERS) if (m !== member && c[m] !== undefined && c[m] !== null) throw new Unsupported();
  const v = need(int(c[member] as Int64));
  const out: Field[] = [];
  vf(out, 1, result);
  vf(out, 2, target);
  bf(out, 3, need(bytes(c.key as Bytes)));
  // A set oneof member is written even when it is zero (create_revision == 0 is the create check).
  if (c[member] !== undefined && c[member] !== null) out.push({ no: 4 + target, t: 'v', v });
  bf(out, 64, need(bytes(c.range_end as Bytes)));
  return out;
}

function opField(op: Record<string, unknown>): Field {
  only(op, OP_KEYS);
  const put = op.request_put as Record<string, unknown> | undefined | null;
  const del = op.request_delete_range as Record<string, unknown> | undefined | null;
  const range = op.request_range as Record<string, unknown> | undefined | null;
  if (Number(!!put) + Number(!!del) + Number(!!range) !== 1) throw new Unsupported();
  const f: Field[] = [];
  if (put) {
    only(put, PUT_KEYS);
    bf(f, 1, need(bytes(put.key as Bytes)));
    bf(f, 2, need(bytes(put.value as Bytes)));
    vf(f, 3, need(int(put.lease as Int64)));
    vf(f, 4, put.prev_kv === true);
    vf(f, 5, put.ignore_value === true);
    vf(f, 6, put.ignore_lease === true);
    return msg(2, f);
  }
  if (del) {
    only(del, DELETE_KEYS);
    bf(f, 1, need(bytes(del.key as Bytes)));
    bf(f, 2, need(bytes(del.range_end as Bytes)));
    vf(f, 3, del.prev_kv === true);
    return msg(3, f);
  }
  const r = range!;
  only(r, RANGE_KEYS);
  bf(f, 1, need(bytes(r.key as Bytes)));
  bf(f, 2, need(bytes(r.range_end as Bytes)));
  vf(f, 3, need(int(r.limit as Int64)));
  vf(f, 4, need(int(r.revision as Int64)));
  vf(f, 7, r.serializable === true);
  vf(f, 8, r.keys_only === true);
  vf(f, 9, r.count_only === true);
  return msg(1, f);
}

/** The encoded size of the fields (and, on the way, of every message among them). */
function size(fs: Field[]): number {
  let s = 0;
  for (const f of fs) {
    s += varintSize((f.no << 3) | (f.t === 'v' ? 0 : 2));
    if (f.t === 'v') s += varintSize(f.v);
    else {
      const n = f.t === 'b' ? f.v.length : (f.size = size(f.v));
      s += varintSize(n) + n;
    }
  }
  return s;
}

function writeVarint(buf: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[pos++] = n;
  return pos;
}

function write(buf: Buffer, pos: number, fs: Field[]): number {
  for (const f of fs) {
    pos = writeVarint(buf, pos, (f.no << 3) | (f.t === 'v' ? 0 : 2));
    if (f.t === 'v') pos = writeVarint(buf, pos, f.v);
    else if (f.t === 'b') {
      pos = writeVarint(buf, pos, f.v.length);
      buf.set(f.v, pos);
      pos += f.v.length;
    } else {
      pos = writeVarint(buf, pos, f.size);
      pos = write(buf, pos, f.v);
    }
  }
  return pos;
}

/**
 * The TxnRequest as protobuf, after `headroom` bytes left for the caller (the gRPC frame header);
 * undefined when it uses something this encoder does not write (nested txns, value or lease
 * compares, sorting, min/max revisions, negative or non-integer numbers): proto-loader does those.
 */
export function encodeTxnRequest(req: ITxnRequest, headroom = 0): Buffer | undefined {
  try {
    only(req, TXN_KEYS);
    const f: Field[] = [];
    for (const c of req.compare ?? []) f.push(msg(1, compareFields(c as Record<string, unknown>)));
    for (const op of req.success ?? []) f.push(msg(2, [opField(op as Record<string, unknown>)]));
    for (const op of req.failure ?? []) f.push(msg(3, [opField(op as Record<string, unknown>)]));
    const buf = Buffer.allocUnsafe(headroom + size(f));
    const end = write(buf, headroom, f);
    if (end !== buf.length) throw internal(`txn encoder: wrote ${end} of ${buf.length} bytes`);
    return buf;
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}

// ---- decoding ----

/** The last large varints decoded, by their bytes (Reader.big). */
const BIG_SEEN: { bytes: Uint8Array; text: string }[] = [];

export class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }
  /** A varint as a number when below 2^53 (every revision, count and length), else exactly as text. */
  varint(): number | string {
    const b = this.buf;
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw unavailable('etcd reply: truncated varint');
      const byte = b[this.pos++];
      n += (byte & 0x7f) * mul;
      if (byte < 0x80) return n <= Number.MAX_SAFE_INTEGER ? n : this.big(i + 1);
      mul *= 0x80;
    }
    throw unavailable('etcd reply: varint too long');
  }
  /**
   * Re-reads the last varint of `len` bytes exactly (uint64 ids above 2^53; negative int64 as
   * 2^64 − n). Every reply's header carries the same cluster and member ids, both above 2^53: the
   * last few are remembered by their bytes, so a reply does not build BigInts and strings for them
   * (in a heap profile that was ~1.2 KB of garbage per call).
   */
  private big(len: number): string {
    const b = this.buf;
    const start = this.pos - len;
    for (const c of BIG_SEEN) {
      if (c.bytes.length !== len) continue;
      let same = true;
      for (let i = 0; i < len && same; i++) same = c.bytes[i] === b[start + i];
      if (same) return c.text;
    }
    let v = 0n;
    for (let i = len - 1; i >= 0; i--) v = (v << 7n) | BigInt(b[start + i] & 0x7f);
    const text = BigInt.asUintN(64, v).toString();
    if (BIG_SEEN.length >= 8) BIG_SEEN.shift();
    BIG_SEEN.push({ bytes: Uint8Array.from(b.subarray(start, this.pos)), text });
    return text;
  }
  int(): number {
    const v = this.varint();
    if (typeof v !== 'number') throw unavailable('etcd reply: length out of range');
    return v;
  }
  sub(): Reader {
    const n = this.int();
    if (this.pos + n > this.end) throw unavailable('etcd reply: truncated field');
    const r = new Reader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }
  bytes(): Buffer {
    const r = this.sub();
    return this.buf.subarray(r.pos, r.end);
  }
  skip(type: number): void {
    if (type === 0) this.varint();
    else if (type === 2) this.sub();
    else if (type === 1) this.pos += 8;
    else if (type === 5) this.pos += 4;
    else throw unavailable(`etcd reply: wire type ${type}`);
    if (this.pos > this.end) throw unavailable('etcd reply: truncated field');
  }
}

/** int64 fields are signed: a negative value arrives as its 64-bit two's complement. */
export const i64 = (v: number | string): string =>
  typeof v === 'number' ? String(v) : BigInt.asIntN(64, BigInt(v)).toString();
const u64 = (v: number | string): string => String(v);

/** Decodes fields into `init` until the end; `field` returns false for a field it does not know. */
export function decodeMessage<T>(r: Reader, init: T, field: (o: T, no: number, type: number, r: Reader) => boolean): T {
  while (r.pos < r.end) {
    const key = r.int();
    const no = Math.floor(key / 8);
    const type = key & 7;
    if (!field(init, no, type, r)) r.skip(type);
  }
  return init;
}

// The reply's shape: proto-loader's (int64 as decimal strings, absent messages null, the oneof's
// member name in `response`), typed as it is rather than as etcd3's interfaces claim (which make
// every member of a ResponseOp present).
export interface TxnHeader {
  cluster_id: string;
  member_id: string;
  revision: string;
  raft_term: string;
}
export type TxnKv = IKeyValue;
export interface TxnRangeResponse {
  header: TxnHeader | null;
  kvs: TxnKv[];
  more: boolean;
  count: string;
}
export interface TxnPutResponse {
  header: TxnHeader | null;
  prev_kv: TxnKv | null;
}
export interface TxnDeleteResponse {
  header: TxnHeader | null;
  deleted: string;
  prev_kvs: TxnKv[];
}
export interface TxnResponseOp {
  response?: 'response_range' | 'response_put' | 'response_delete_range' | 'response_txn';
  response_range?: TxnRangeResponse;
  response_put?: TxnPutResponse;
  response_delete_range?: TxnDeleteResponse;
  response_txn?: TxnReply;
}
export interface TxnReply {
  /** (etcd always sends it; zeros if a reply had none, where proto-loader would give null) */
  header: TxnHeader;
  succeeded: boolean;
  responses: TxnResponseOp[];
}

export const header = (r: Reader): TxnHeader =>
  decodeMessage(r, { cluster_id: '0', member_id: '0', revision: '0', raft_term: '0' }, (o, no, t, x) => {
    if (t !== 0 || no < 1 || no > 4) return false;
    const v = x.varint();
    if (no === 1) o.cluster_id = u64(v);
    else if (no === 2) o.member_id = u64(v);
    else if (no === 3) o.revision = i64(v);
    else o.raft_term = u64(v);
    return true;
  });

const EMPTY = Buffer.alloc(0);
export function keyValue(r: Reader): TxnKv {
  return decodeMessage<TxnKv>(
    r,
    { key: EMPTY, create_revision: '0', mod_revision: '0', version: '0', value: EMPTY, lease: '0' },
    (o, no, t, x) => {
      if (t === 2 && (no === 1 || no === 5)) {
        if (no === 1) o.key = x.bytes();
        else o.value = x.bytes();
        return true;
      }
      if (t !== 0 || no < 2 || no > 6 || no === 5) return false;
      const v = i64(x.varint());
      if (no === 2) o.create_revision = v;
      else if (no === 3) o.mod_revision = v;
      else if (no === 4) o.version = v;
      else o.lease = v;
      return true;
    },
  );
}

function rangeResponse(r: Reader): TxnRangeResponse {
  return decodeMessage<TxnRangeResponse>(r, { header: null, kvs: [], more: false, count: '0' }, (p, n, t, y) => {
    if (n === 1 && t === 2) p.header = header(y.sub());
    else if (n === 2 && t === 2) p.kvs.push(keyValue(y.sub()));
    else if (n === 3 && t === 0) p.more = y.varint() !== 0;
    else if (n === 4 && t === 0) p.count = i64(y.varint());
    else return false;
    return true;
  });
}

function putResponse(r: Reader): TxnPutResponse {
  return decodeMessage<TxnPutResponse>(r, { header: null, prev_kv: null }, (p, n, t, y) => {
    if (t !== 2 || (n !== 1 && n !== 2)) return false;
    if (n === 1) p.header = header(y.sub());
    else p.prev_kv = keyValue(y.sub());
    return true;
  });
}

function deleteResponse(r: Reader): TxnDeleteResponse {
  return decodeMessage<TxnDeleteResponse>(r, { header: null, deleted: '0', prev_kvs: [] }, (p, n, t, y) => {
    if (n === 1 && t === 2) p.header = header(y.sub());
    else if (n === 2 && t === 0) p.deleted = i64(y.varint());
    else if (n === 3 && t === 2) p.prev_kvs.push(keyValue(y.sub()));
    else return false;
    return true;
  });
}

function responseOp(r: Reader): TxnResponseOp {
  return decodeMessage<TxnResponseOp>(r, {}, (o, no, t, x) => {
    if (t !== 2 || no < 1 || no > 4) return false;
    // (a oneof: a later member replaces an earlier one, as protobuf merges)
    delete o.response_range;
    delete o.response_put;
    delete o.response_delete_range;
    delete o.response_txn;
    const m = x.sub();
    if (no === 1) o.response_range = rangeResponse(m);
    else if (no === 2) o.response_put = putResponse(m);
    else if (no === 3) o.response_delete_range = deleteResponse(m);
    else o.response_txn = txn(m);
    o.response = (['response_range', 'response_put', 'response_delete_range', 'response_txn'] as const)[no - 1];
    return true;
  });
}

function txn(r: Reader): TxnReply {
  const zero = { cluster_id: '0', member_id: '0', revision: '0', raft_term: '0' };
  return decodeMessage<TxnReply>(r, { header: zero, succeeded: false, responses: [] }, (o, no, t, x) => {
    if (no === 1 && t === 2) o.header = header(x.sub());
    else if (no === 2 && t === 0) o.succeeded = x.varint() !== 0;
    else if (no === 3 && t === 2) o.responses.push(responseOp(x.sub()));
    else return false;
    return true;
  });
}

/** A TxnResponse from its protobuf bytes (throws on malformed input). */
export function decodeTxnResponse(buf: Buffer): TxnReply {
  return txn(new Reader(buf, 0, buf.length));
}
