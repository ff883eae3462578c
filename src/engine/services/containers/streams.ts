// Streaming a container's output to API clients: logs (from the monitor's CRI log) and attach
// (through the monitor's attach socket), framed as stdcopy for non-TTY containers, raw for TTY ones.
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { readCriLog, attach as monitorAttach, type AttachSession } from '../../../runtime/index.js';
import { failedPrecondition, sleep } from '../../../common/index.js';
import { stdcopyFrame } from '../common/stdcopy.js';
import type { Containers } from './service.js';

export interface LogOptions {
  follow: boolean;
  stdout: boolean;
  stderr: boolean;
  timestamps: boolean;
  /** `--details`: each line after its log attributes and a space (none here: no labels/env opts). */
  details?: boolean;
  since?: number;
  until?: number;
  tail?: number;
  signal?: AbortSignal;
}

/** Writes the log records to `out`; resolves when done (or the client left). */
export async function streamLogs(svc: Containers, ref: string, o: LogOptions, out: Writable): Promise<void> {
  const rec = svc.get(ref);
  if (rec.HostConfig.LogConfig?.Type === 'none')
    throw failedPrecondition('configured logging driver does not support reading', { field: 'LogConfig.Type' });
  const tty = rec.Config.Tty;
  const stateDir = rec.State.Running || rec.State.Restarting ? svc.monitorDir(rec.Id) : svc.dirOf(rec.Id);
  const follow = o.follow && (rec.State.Running || rec.State.Restarting);
  const it = readCriLog(svc.logPath(rec.Id), {
    follow,
    stateDir,
    signal: o.signal,
    tail: o.tail,
    since: o.since !== undefined ? BigInt(Math.floor(o.since * 1e9)) : undefined,
    until: o.until !== undefined ? BigInt(Math.floor(o.until * 1e9)) : undefined,
  });
  try {
    for await (const r of it) {
      if (r.stream === 'stdout' ? !o.stdout : !o.stderr) continue;
      let payload = r.partial ? r.bytes : Buffer.concat([r.bytes, Buffer.from('\n')]);
      if (o.details) payload = Buffer.concat([Buffer.from(' '), payload]);
      if (o.timestamps) payload = Buffer.concat([Buffer.from(`${r.time} `), payload]);
      const chunk = tty ? payload : stdcopyFrame(r.stream === 'stdout' ? 1 : 2, payload);
      if (!out.write(chunk))
        await new Promise<void>((res) => {
          out.once('drain', res);
          out.once('close', res);
        });
      if (out.destroyed) break;
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // no log yet
    if (o.signal?.aborted) return;
    throw e;
  }
}

export interface AttachOpts {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  stream: boolean;
  logs: boolean;
  detachKeys: number[];
}

/** ctrl-p,ctrl-q style detach keys → byte sequence. */
export function parseDetachKeys(v: string | undefined): number[] {
  const s = v ?? 'ctrl-p,ctrl-q';
  if (s === '') return [];
  return s.split(',').map((k) => {
    const m = /^ctrl-([a-z@\[\\\]^_])$/.exec(k);
    if (m)
      return m[1] === '@'
        ? 0
        : m[1] >= 'a' && m[1] <= 'z'
          ? m[1].charCodeAt(0) - 96
          : { '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 }[m[1]]!;
    if (k.length === 1) return k.charCodeAt(0);
    throw failedPrecondition(`Invalid detach keys (${s}) provided`, { field: 'detachKeys' });
  });
}

/** Connects a hijacked client socket to a container's monitor. Output frames are written as they
 *  come; stdin (when asked and the container has OpenStdin) is forwarded until EOF or the detach
 *  keys. Resolves when the client or the container is done. */
export async function bridgeAttach(
  sess: AttachSession,
  sock: Socket,
  head: Buffer,
  o: AttachOpts,
  tty: boolean,
  stdinOnce: boolean,
  input?: Promise<AttachSession>,
  beforeEnd?: Promise<unknown>,
): Promise<void> {
  // `input`: a second session for stdin (a tty exec's pty master reaches the monitor only after the
  // output session connected, and the monitor takes stdin from clients connected after that).
  let inSess: AttachSession = sess;
  const write = (stream: 1 | 2) => (d: Buffer) => {
    if (!sock.destroyed) sock.write(tty ? d : stdcopyFrame(stream, d));
  };
  if (o.stdout) sess.stdout.on('data', write(1));
  else sess.stdout.resume();
  if (o.stderr) sess.stderr.on('data', write(2));
  else sess.stderr.resume();
  let detached = false;
  const keys = o.detachKeys;
  let matched = 0;
  const onIn = (d: Buffer) => {
    if (!keys.length) {
      inSess.stdin.write(d);
      return;
    }
    const pass: number[] = [];
    for (const b of d) {
      if (b === keys[matched]) {
        matched++;
        if (matched === keys.length) {
          detached = true;
          break;
        }
        continue;
      }
      if (matched) {
        pass.push(...keys.slice(0, matched));
        matched = 0;
      }
      if (b === keys[0]) {
        matched = 1;
        continue;
      }
      pass.push(b);
    }
    if (pass.length) inSess.stdin.write(Buffer.from(pass));
    if (detached) {
      sess.close();
      sock.end();
    }
  };
  if (o.stdin) {
    if (head.length) onIn(head);
    sock.on('data', onIn);
    sock.on('end', () => {
      if (stdinOnce && !detached) inSess.closeStdin();
    });
    if (input) {
      try {
        inSess = await input;
        inSess.stdout.resume();
        inSess.stderr.resume();
      } catch {
        /* exited already */
      }
    }
    sock.resume();
  } else {
    sock.on('data', () => {
      /* ignore */
    });
    sock.resume();
  }
  const clientGone = new Promise<void>((res) => sock.once('close', () => res()));
  await Promise.race([sess.done, clientGone]);
  if (beforeEnd) await Promise.race([beforeEnd, sleep(5000)]);
  if (!sock.destroyed) {
    await new Promise<void>((res) => {
      sock.end(() => res());
      setTimeout(res, 1000).unref();
    });
    sock.destroy();
  }
  sess.close();
  if (inSess !== sess) inSess.close();
}

export { monitorAttach };
