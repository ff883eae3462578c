// ttrpc (github.com/containerd/ttrpc), the framed RPC NRI speaks: every message is a 10-byte header
// (payload length u32 BE, stream id u32 BE, type u8: 1 request / 2 response / 3 data, flags u8)
// and a protobuf payload of at most 4 MiB; a unary call is one Request {service, method, payload,
// timeout_nano, metadata} on a new odd, increasing stream id, answered by one Response {status,
// payload} on the same id. Hand-written because no maintained Node library speaks it (the npm
// packages named after it are unmaintained experiments); the header is 10 bytes and the two
// messages are protobuf, encoded by protobufjs (proto.ts), not by hand.
import { createLogger } from '../common/index.js';
import { ttrpcRequest, ttrpcResponse } from './proto.js';

const log = createLogger({ component: 'nri.ttrpc' });

export const HEADER_LENGTH = 10;
export const MESSAGE_LENGTH_MAX = 4 << 20;
export const TYPE_REQUEST = 1;
export const TYPE_RESPONSE = 2;
export const TYPE_DATA = 3;

/** gRPC status codes ttrpc carries (google.rpc.Status.code). */
export const CODE = { OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, UNIMPLEMENTED: 12 };

export interface Frame {
  streamId: number;
  type: number;
  flags: number;
  payload: Buffer;
}

export function encodeFrame(f: Frame): Buffer {
  if (f.payload.length > MESSAGE_LENGTH_MAX)
    throw new TtrpcError(CODE.INVALID_ARGUMENT, `ttrpc message of ${f.payload.length} bytes exceeds 4 MiB`);
  const h = Buffer.alloc(HEADER_LENGTH);
  h.writeUInt32BE(f.payload.length, 0);
  h.writeUInt32BE(f.streamId, 4);
  h[8] = f.type;
  h[9] = f.flags;
  return Buffer.concat([h, f.payload]);
}

/** Reassembles frames from a byte stream fed in arbitrary pieces. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  /** Returns the complete frames; throws on a frame longer than ttrpc allows (a protocol error). */
  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Frame[] = [];
    while (this.buf.length >= HEADER_LENGTH) {
      const len = this.buf.readUInt32BE(0);
      if (len > MESSAGE_LENGTH_MAX) throw new TtrpcError(CODE.INVALID_ARGUMENT, `ttrpc frame of ${len} bytes`);
      if (this.buf.length < HEADER_LENGTH + len) break;
      out.push({
        streamId: this.buf.readUInt32BE(4),
        type: this.buf[8],
        flags: this.buf[9],
        payload: Buffer.from(this.buf.subarray(HEADER_LENGTH, HEADER_LENGTH + len)),
      });
      this.buf = this.buf.subarray(HEADER_LENGTH + len);
    }
    return out;
  }
}

export class TtrpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Serves a call: resolves to the response payload; a TtrpcError's code goes back as the status. */
export type TtrpcHandler = (service: string, method: string, payload: Buffer, timeoutMs: number) => Promise<Buffer>;

/** One ttrpc connection: the client side (call) and the server side (handler) over one byte
 *  stream. NRI uses each multiplexed connection in one direction only. */
export class TtrpcChannel {
  private nextId = 1;
  private lastRemoteId = 0;
  private readonly pending = new Map<number, { resolve(b: Buffer): void; reject(e: Error): void }>();
  private readonly decoder = new FrameDecoder();
  private closedWith?: Error;

  constructor(
    private readonly write: (b: Buffer) => void,
    private readonly handler?: TtrpcHandler,
  ) {}

  /** Bytes from the peer. A protocol error closes the channel (the caller drops the connection). */
  receive(chunk: Buffer): void {
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (e) {
      this.close(e as Error);
      throw e;
    }
    for (const f of frames) this.dispatch(f);
  }

  private dispatch(f: Frame): void {
    if (f.type === TYPE_RESPONSE) {
      const p = this.pending.get(f.streamId);
      if (!p) return log.debug('response for an unknown stream', { stream: f.streamId });
      this.pending.delete(f.streamId);
      try {
        const r = ttrpcResponse.decode(f.payload);
        const code = r.status?.code ?? 0;
        if (code !== CODE.OK) p.reject(new TtrpcError(code, r.status?.message ?? `ttrpc status ${code}`));
        else p.resolve(r.payload);
      } catch (e) {
        p.reject(new TtrpcError(CODE.UNKNOWN, `malformed ttrpc response: ${(e as Error).message}`));
      }
      return;
    }
    if (f.type !== TYPE_REQUEST) return this.respond(f.streamId, CODE.UNIMPLEMENTED, 'streams are not supported');
    if (f.streamId % 2 !== 1 || f.streamId <= this.lastRemoteId)
      return this.respond(f.streamId, CODE.INVALID_ARGUMENT, 'stream ids must be odd and increasing');
    this.lastRemoteId = f.streamId;
    let req: ReturnType<typeof ttrpcRequest.decode>;
    try {
      req = ttrpcRequest.decode(f.payload);
    } catch (e) {
      return this.respond(f.streamId, CODE.INVALID_ARGUMENT, `unmarshal request error: ${(e as Error).message}`);
    }
    if (!this.handler) return this.respond(f.streamId, CODE.UNIMPLEMENTED, `${req.service} is not served here`);
    this.handler(req.service, req.method, req.payload, req.timeoutNano / 1e6).then(
      (payload) => this.respond(f.streamId, CODE.OK, '', payload),
      (e: Error) => this.respond(f.streamId, e instanceof TtrpcError ? e.code : CODE.UNKNOWN, e.message),
    );
  }

  private respond(streamId: number, code: number, message: string, payload: Buffer = Buffer.alloc(0)): void {
    if (this.closedWith) return;
    const body = ttrpcResponse.encode({ status: code ? { code, message } : undefined, payload });
    this.write(encodeFrame({ streamId, type: TYPE_RESPONSE, flags: 0, payload: body }));
  }

  /** A unary call; rejects with a TtrpcError (DEADLINE_EXCEEDED after timeoutMs, the peer's status). */
  call(service: string, method: string, payload: Buffer, timeoutMs: number): Promise<Buffer> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const streamId = this.nextId;
    this.nextId += 2;
    const body = ttrpcRequest.encode({ service, method, payload, timeoutNano: Math.round(timeoutMs * 1e6) });
    return new Promise<Buffer>((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(streamId);
        reject(new TtrpcError(CODE.DEADLINE_EXCEEDED, `${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(streamId, {
        resolve: (b) => {
          clearTimeout(t);
          resolve(b);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
      this.write(encodeFrame({ streamId, type: TYPE_REQUEST, flags: 0, payload: body }));
    });
  }

  /** Fails every call in flight; later calls fail at once. */
  close(why: Error = new TtrpcError(CODE.CANCELLED, 'ttrpc connection closed')): void {
    if (this.closedWith) return;
    this.closedWith = why;
    for (const p of this.pending.values()) p.reject(why);
    this.pending.clear();
  }
}
