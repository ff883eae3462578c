// HTTP/2 framing for the lean client (h2.ts): a frame header's bytes, and the frames of a byte
// stream whose reads may cut a frame anywhere.
import { unavailable } from '../../../common/index.js';

export const MAX_FRAME = 16384; // our SETTINGS_MAX_FRAME_SIZE (the default)
export const MAX_STREAM_ID = 0x7fffffff;

export function frameHeader(len: number, type: number, flags: number, id: number): Buffer {
  const h = Buffer.allocUnsafe(9);
  h.writeUIntBE(len, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return h;
}

/** Calls `onFrame` for each whole frame of the pushed reads (the payload a view of the read, no
 *  copy) until it returns false; throws on a frame above MAX_FRAME. */
export class FrameReader {
  private rest: Buffer | undefined;
  constructor(private readonly onFrame: (type: number, flags: number, id: number, payload: Buffer) => boolean) {}

  push(data: Buffer): void {
    let chunk = data;
    // A frame split across reads is completed with only the bytes it still needs (its header's
    // first, then its payload), so a large read after a split frame is not copied whole.
    while (this.rest && chunk.length) {
      const have = this.rest.length;
      const len = have >= 9 ? this.rest.readUIntBE(0, 3) : 0;
      if (len > MAX_FRAME) throw unavailable(`etcd sent a ${len}-byte HTTP/2 frame`);
      const take = Math.min(have < 9 ? 9 - have : 9 + len - have, chunk.length);
      this.rest = Buffer.concat([this.rest, chunk.subarray(0, take)]);
      chunk = chunk.subarray(take);
      if (this.rest.length >= 9 && this.rest.length === 9 + this.rest.readUIntBE(0, 3)) {
        const whole = this.rest;
        this.rest = undefined;
        if (!this.frames(whole)) return;
      }
    }
    if (chunk.length) this.frames(chunk);
  }

  /** The whole frames of buf; a partial one at its end is kept. False: onFrame said stop. */
  private frames(buf: Buffer): boolean {
    let off = 0;
    while (buf.length - off >= 9) {
      const len = buf.readUIntBE(off, 3);
      if (len > MAX_FRAME) throw unavailable(`etcd sent a ${len}-byte HTTP/2 frame`);
      if (buf.length - off < 9 + len) break;
      const type = buf[off + 3];
      const flags = buf[off + 4];
      const id = buf.readUInt32BE(off + 5) & MAX_STREAM_ID;
      if (!this.onFrame(type, flags, id, buf.subarray(off + 9, off + 9 + len))) return false;
      off += 9 + len;
    }
    if (off < buf.length) this.rest = buf.subarray(off);
    return true;
  }
}
