// etcd's WatchResponse decoded by hand (every field of it; the events' key-values with the Txn
// codec's reader), and gRPC's message framing over a stream's DATA payloads. Why by hand: the
// watch stream carries one message per batch of events and the shared watch decodes each event
// once per server; the Txn codec's reader does it in one walk over the bytes, without protobufjs's
// Long objects, and yields the same shapes (int64 as decimal strings, bytes as Buffers).
import { Reader, decodeMessage, header, keyValue, i64, type TxnHeader, type TxnKv } from './txn-codec.js';
import { unavailable } from '../../../common/index.js';

export interface WatchEventReply {
  type: 'Put' | 'Delete';
  kv: TxnKv;
  prev_kv: TxnKv | null;
}

export interface WatchReply {
  header: TxnHeader;
  watch_id: string;
  created: boolean;
  canceled: boolean;
  compact_revision: string;
  cancel_reason: string;
  fragment: boolean;
  events: WatchEventReply[];
}

const EMPTY_KV = (): TxnKv => ({
  key: Buffer.alloc(0),
  create_revision: '0',
  mod_revision: '0',
  version: '0',
  value: Buffer.alloc(0),
  lease: '0',
});

function event(r: Reader): WatchEventReply {
  return decodeMessage<WatchEventReply>(r, { type: 'Put', kv: EMPTY_KV(), prev_kv: null }, (o, no, t, x) => {
    if (no === 1 && t === 0) o.type = x.varint() === 1 ? 'Delete' : 'Put';
    else if (no === 2 && t === 2) o.kv = keyValue(x.sub());
    else if (no === 3 && t === 2) o.prev_kv = keyValue(x.sub());
    else return false;
    return true;
  });
}

/** A WatchResponse from its protobuf bytes (throws Unavailable on malformed input). */
export function decodeWatchResponse(buf: Buffer): WatchReply {
  const zero = { cluster_id: '0', member_id: '0', revision: '0', raft_term: '0' };
  const init: WatchReply = {
    header: zero,
    watch_id: '0',
    created: false,
    canceled: false,
    compact_revision: '0',
    cancel_reason: '',
    fragment: false,
    events: [],
  };
  return decodeMessage(new Reader(buf, 0, buf.length), init, (o, no, t, x) => {
    if (no === 1 && t === 2) o.header = header(x.sub());
    else if (no === 2 && t === 0) o.watch_id = i64(x.varint());
    else if (no === 3 && t === 0) o.created = x.varint() !== 0;
    else if (no === 4 && t === 0) o.canceled = x.varint() !== 0;
    else if (no === 5 && t === 0) o.compact_revision = i64(x.varint());
    else if (no === 6 && t === 2) o.cancel_reason = x.bytes().toString('utf8');
    else if (no === 7 && t === 0) o.fragment = x.varint() !== 0;
    else if (no === 11 && t === 2) o.events.push(event(x.sub()));
    else return false;
    return true;
  });
}

/**
 * gRPC length-prefixed messages out of a stream's DATA payloads, which may split a message or
 * carry several. A message split over many frames is joined once, when all of it has arrived.
 */
export class GrpcMessages {
  private parts: Buffer[] = [];
  private have = 0;
  /** Bytes of the message being assembled (its prefix included), once its prefix has arrived. */
  private need = 0;

  constructor(
    private readonly onMessage: (m: Buffer) => void,
    private readonly maxBytes = 256 * 1024 * 1024,
  ) {}

  push(p: Buffer): void {
    if (this.have) {
      this.parts.push(p);
      this.have += p.length;
      if (this.need === 0 && this.have >= 5) this.need = 5 + Buffer.concat(this.parts, 5).readUInt32BE(1);
      if (this.need === 0 || this.have < this.need) return;
      p = Buffer.concat(this.parts, this.have);
      this.parts = [];
      this.have = 0;
      this.need = 0;
    }
    let off = 0;
    while (p.length - off >= 5) {
      if (p[off] !== 0) throw unavailable('etcd sent a compressed gRPC message (not asked for)');
      const len = p.readUInt32BE(off + 1);
      if (len > this.maxBytes) throw unavailable(`etcd sent a ${len}-byte gRPC message`);
      if (p.length - off - 5 < len) {
        this.need = 5 + len;
        break;
      }
      this.onMessage(p.subarray(off + 5, off + 5 + len));
      off += 5 + len;
    }
    if (off < p.length) {
      this.parts = [p.subarray(off)];
      this.have = p.length - off;
    }
  }
}
