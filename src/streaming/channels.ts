// Kubernetes' WebSocket channel protocol (channel.k8s.io and its base64/v4/v5 variants): every
// message is one channel byte then the payload (binary), or an ASCII digit then base64 (text).
// v5.channel.k8s.io adds the close signal [255, channel] for half-closing a client stream.
import { PassThrough, Writable } from 'node:stream';
import type { RawData, WebSocket } from 'ws';

export const CLOSE_SIGNAL = 255;

export class ChannelConn {
  private readonly readers = new Map<number, PassThrough>();
  readonly closed: Promise<void>;
  constructor(
    readonly ws: WebSocket,
    readonly base64: boolean,
    readonly supportsClose: boolean,
  ) {
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    this.closed = new Promise((resolve) => {
      ws.on('close', () => {
        for (const r of this.readers.values()) r.end();
        resolve();
      });
      ws.on('error', () => undefined);
    });
  }

  /** A stream of what the client sends on `channel`. */
  reader(channel: number): PassThrough {
    let r = this.readers.get(channel);
    if (!r) {
      r = new PassThrough();
      this.readers.set(channel, r);
    }
    return r;
  }

  /** A writable that sends on `channel` (ending it sends nothing: channels have no EOF). */
  writer(channel: number): Writable {
    return new Writable({
      write: (chunk: Buffer, _e, cb) => {
        this.send(channel, chunk);
        cb();
      },
    });
  }

  send(channel: number, data: Buffer): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    if (this.base64) this.ws.send(String.fromCharCode(48 + channel) + data.toString('base64'));
    else this.ws.send(Buffer.concat([Buffer.from([channel]), data]), { binary: true });
  }

  close(): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.close(1000);
  }

  private onMessage(raw: RawData, isBinary: boolean): void {
    const data = Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw as ArrayBuffer);
    if (!data.length) return;
    if (this.supportsClose && data[0] === CLOSE_SIGNAL) {
      if (data.length === 2) this.readers.get(data[1])?.end();
      return;
    }
    if (this.base64 && !isBinary) {
      const ch = data[0] - 48;
      this.readers.get(ch)?.write(Buffer.from(data.subarray(1).toString('latin1'), 'base64'));
      return;
    }
    this.readers.get(data[0])?.write(data.subarray(1));
  }
}
