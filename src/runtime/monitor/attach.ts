// Client for the monitor's attach socket (DIR/attach.sock), speaking Docker's stdcopy framing:
// 8-byte header [stream, 0, 0, 0, uint32 BE length] + payload. Monitor → client: 1 = stdout,
// 2 = stderr. Client → monitor: 0 = stdin data, 3 = close stdin, 4 = resize (rows, cols as uint16 BE).
import { connect, type Socket } from 'node:net';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { notFound, unavailable } from '../../common/index.js';

export interface AttachSession {
  stdout: Readable;
  stderr: Readable;
  /** Data written here goes to the container's stdin (when the monitor was started with --stdin). */
  stdin: Writable;
  resize(rows: number, cols: number): void;
  /** Closes the container's stdin (after what was written so far). */
  closeStdin(): void;
  /** Detaches (the container keeps running). */
  close(): void;
  /** Resolves when the monitor closes the connection (the container exited and its output is drained). */
  done: Promise<void>;
}

export interface AttachOptions {
  /** Send close-stdin when `stdin` is ended (Docker's StdinOnce). Default false. */
  closeStdinOnEnd?: boolean;
  signal?: AbortSignal;
}

export function frame(type: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = type;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

/** sun_path holds 107 bytes; longer state dirs are reached through /proc/self/fd/<dirfd>/. */
async function connectSocket(dir: string, name: string): Promise<Socket> {
  const full = join(dir, name);
  let dirFd: number | undefined;
  let path = full;
  if (Buffer.byteLength(full) > 100) {
    dirFd = openSync(dir, 'r');
    path = `/proc/self/fd/${dirFd}/${name}`;
  }
  try {
    return await new Promise<Socket>((resolve, reject) => {
      const s = connect({ path });
      s.once('connect', () => {
        s.removeListener('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED')
      throw notFound(`no monitor attach socket at ${full} (container not running?)`, { cause: e });
    throw unavailable(`cannot connect to ${full}: ${(e as Error).message}`, { cause: e });
  } finally {
    if (dirFd !== undefined) closeSync(dirFd);
  }
}

export async function attach(stateDir: string, opts: AttachOptions = {}): Promise<AttachSession> {
  const sock = await connectSocket(stateDir, 'attach.sock');
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let buf: Buffer = Buffer.alloc(0);
  const onData = (d: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    let paused = false;
    while (buf.length >= 8) {
      const len = buf.readUInt32BE(4);
      if (buf.length < 8 + len) break;
      const type = buf[0];
      const payload = buf.subarray(8, 8 + len);
      buf = buf.subarray(8 + len);
      const out = type === 2 ? stderr : type === 1 ? stdout : undefined;
      if (out && !out.write(payload)) paused = true;
    }
    if (paused) {
      // Backpressure: stop reading the socket until the slow side drains (the monitor buffers,
      // and drops us only if we fall more than 1 MiB behind).
      sock.pause();
      let waiting = 0;
      const resume = () => {
        if (--waiting <= 0) sock.resume();
      };
      for (const o of [stdout, stderr])
        if (o.writableNeedDrain) {
          waiting++;
          o.once('drain', resume);
        }
      if (waiting === 0) sock.resume();
    }
  };
  sock.on('data', onData);
  const done = new Promise<void>((resolve) => {
    sock.on('close', () => {
      stdout.end();
      stderr.end();
      resolve();
    });
  });
  // A socket error (EPIPE or ECONNRESET once the container exited and its monitor hung up) is the
  // end of the session, not a failure of its readers: 'close' follows and ends both streams.
  sock.on('error', () => {
    /* 'close' handles it */
  });
  const send = (type: number, payload: Buffer, cb?: (e?: Error | null) => void) => {
    if (sock.destroyed || !sock.writable) {
      cb?.();
      return;
    }
    // A failed write (the container exited and the monitor closed its end: EPIPE) surfaces once
    // through the socket's 'error' handler; input for a gone container is dropped, as dockerd does.
    sock.write(frame(type, payload), () => cb?.());
  };
  // Close-stdin goes through the stdin writable's queue, after the frames of what was written
  // before it (a chunk over 64 KiB is sent as several frames, each after the last one's write).
  const CLOSE = Buffer.alloc(0);
  const closeStdin = () => {
    if (!stdin.writableEnded) stdin.write(CLOSE);
    else if (stdin.writableFinished) send(3, Buffer.alloc(0));
    else stdin.once('finish', () => send(3, Buffer.alloc(0)));
  };
  const stdin: Writable = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (chunk === CLOSE) return send(3, Buffer.alloc(0), () => cb());
      // Frames are at most 64 KiB so the monitor can stream them through its stdin buffer.
      let off = 0;
      const next = (e?: Error | null) => {
        if (e || off >= chunk.length) return cb(e ?? null);
        const part = chunk.subarray(off, off + 65536);
        off += part.length;
        send(0, part, next);
      };
      next();
    },
    final(cb) {
      if (opts.closeStdinOnEnd) closeStdin();
      cb();
    },
  });
  const close = () => sock.destroy();
  opts.signal?.addEventListener('abort', close, { once: true });
  return {
    stdout,
    stderr,
    stdin,
    resize(rows, cols) {
      const p = Buffer.alloc(4);
      p.writeUInt16BE(rows & 0xffff, 0);
      p.writeUInt16BE(cols & 0xffff, 2);
      send(4, p);
    },
    closeStdin,
    close,
    done,
  };
}
