// Attached I/O for run/start -a/exec: the hijacked socket carries raw bytes (TTY) or stdcopy frames;
// stdin is forwarded (half-closing at EOF), the terminal goes to raw mode for -t and its size is
// proxied (`/resize` now and on every SIGWINCH).
import type { Socket } from 'node:net';
import { spawnSync } from 'node:child_process';
import type { Client } from './http.js';
import { demux } from './http.js';

export interface AttachOptions {
  tty: boolean;
  stdin: boolean;
}

/** Pumps the streams until the engine closes the connection. */
export function pumpAttach(socket: Socket, head: Buffer, o: AttachOptions): { done: Promise<void>; restore(): void } {
  const write = o.tty
    ? (b: Buffer) => {
        process.stdout.write(b);
      }
    : demux(process.stdout, process.stderr);
  if (head.length) write(head);
  socket.on('data', (d: Buffer) => write(d));
  let raw = false;
  if (o.stdin) {
    if (o.tty && process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      setOpost(false);
      raw = true;
    }
    process.stdin.on('data', (d) => socket.write(d));
    // Half-close at stdin EOF only without a TTY (a terminal's EOF is a keystroke the shell sees).
    process.stdin.on('end', () => {
      if (!o.tty) {
        try {
          socket.end();
        } catch {
          /* closed */
        }
      }
    });
    process.stdin.resume();
  }
  const restore = () => {
    if (raw) {
      try {
        process.stdin.setRawMode(false);
        setOpost(true);
      } catch {
        /* not a tty any more */
      }
      raw = false;
    }
    process.stdin.pause();
  };
  const done = new Promise<void>((resolve) => {
    const fin = () => {
      restore();
      resolve();
    };
    socket.on('end', fin);
    socket.on('close', fin);
    socket.on('error', fin);
  });
  return { done, restore };
}

/** libuv's raw mode keeps output post-processing (\n → \r\n) on; the container's own pty already
 *  does that, so it is turned off as `docker` (term.MakeRaw) does, through stty on our stdin. */
function setOpost(on: boolean): void {
  spawnSync('stty', [on ? 'opost' : '-opost'], { stdio: ['inherit', 'ignore', 'ignore'] });
}

/** Sends the terminal size now and on every resize. */
export function proxyResize(c: Client, path: string): () => void {
  if (!process.stdout.isTTY) return () => undefined;
  const send = () => {
    void c.raw('POST', path, { query: { h: process.stdout.rows, w: process.stdout.columns } }).then(
      (r) => r.resume(),
      () => undefined,
    );
  };
  send();
  process.stdout.on('resize', send);
  return () => process.stdout.off('resize', send);
}
