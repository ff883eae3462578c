// NRI's connection multiplexer (github.com/containerd/nri pkg/net/multiplex): one unix socket (the
// trunk) carries several byte streams, each chunk framed as connection id u32 BE, length u32 BE,
// then the bytes (at most one ttrpc message's worth per chunk). NRI uses two: connection 1 for the
// Plugin service (the runtime calls the plugin) and 2 for the Runtime service (the plugin calls the
// runtime). Chunks for a connection nobody opened are dropped, as the Go side does.
import type { Duplex } from 'node:stream';
import { invalidArgument } from '../common/index.js';
import { HEADER_LENGTH, MESSAGE_LENGTH_MAX } from './ttrpc.js';

export const PLUGIN_SERVICE_CONN = 1;
export const RUNTIME_SERVICE_CONN = 2;
const MUX_HEADER = 8;
const MAX_CHUNK = HEADER_LENGTH + MESSAGE_LENGTH_MAX;

export class Mux {
  private readonly readers = new Map<number, (b: Buffer) => void>();
  private buf: Buffer = Buffer.alloc(0);
  private closed = false;

  constructor(
    private readonly trunk: Duplex,
    private readonly onError: (e: Error) => void,
  ) {
    trunk.on('data', (d: Buffer) => this.receive(d));
    trunk.on('error', (e) => this.onError(e));
  }

  /** A connection: where its bytes go, and a writer for its bytes. */
  open(id: number, read: (b: Buffer) => void): (b: Buffer) => void {
    this.readers.set(id, read);
    return (b) => this.write(id, b);
  }

  private write(id: number, data: Buffer): void {
    // a reply that comes after the connection went has nowhere to go
    if (this.closed || !this.trunk.writable) return;
    for (let off = 0; off < data.length; ) {
      const n = Math.min(MAX_CHUNK, data.length - off);
      const h = Buffer.alloc(MUX_HEADER);
      h.writeUInt32BE(id, 0);
      h.writeUInt32BE(n, 4);
      this.trunk.write(Buffer.concat([h, data.subarray(off, off + n)]));
      off += n;
    }
  }

  private receive(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (!this.closed && this.buf.length >= MUX_HEADER) {
      const id = this.buf.readUInt32BE(0);
      const n = this.buf.readUInt32BE(4);
      if (n > MAX_CHUNK) return this.onError(invalidArgument(`mux chunk of ${n} bytes exceeds ${MAX_CHUNK}`));
      if (this.buf.length < MUX_HEADER + n) break;
      const chunk = Buffer.from(this.buf.subarray(MUX_HEADER, MUX_HEADER + n));
      this.buf = this.buf.subarray(MUX_HEADER + n);
      const read = this.readers.get(id);
      if (!read) continue;
      try {
        read(chunk);
      } catch (e) {
        return this.onError(e as Error);
      }
    }
  }

  /** Ends the trunk after what was written (a refusal's reply reaches the peer); a peer that does
   *  not close its side within a second is cut off. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.trunk.end();
    setTimeout(() => this.trunk.destroy(), 1000).unref();
  }
}
