// Exec and attach sessions over SPDY (v1–v4 of channel.k8s.io: the client opens one stream per
// stdin/stdout/stderr/error/resize, tagged by the `streamType` header) and over WebSocket channels
// (0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize). The end of a session is reported on the error
// stream: a metav1.Status JSON with v4/v5 (NonZeroExitCode + the ExitCode cause), plain text before.
import type { Readable, Writable } from 'node:stream';
import type { ChannelConn } from './channels.js';
import type { SpdySession, SpdyStream } from './spdy.js';
import type { StreamIO, TerminalSize } from './types.js';

export interface SessionRequest {
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  /** Shown in the non-zero exit message ("error executing command [...]"). */
  cmd?: string[];
}

/** What the session ran into: an exit code (exec), nothing (attach), or an error. */
export type Outcome = { exitCode: number } | { error: string } | undefined;

export function statusJson(o: Outcome, cmd: string[] = []): string {
  if (!o || ('exitCode' in o && o.exitCode === 0)) return JSON.stringify({ metadata: {}, status: 'Success' });
  if ('error' in o) return JSON.stringify({ metadata: {}, status: 'Failure', message: o.error });
  const code = o.exitCode;
  return JSON.stringify({
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${cmd.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  });
}

/** v1–v3 write only failures, as text. */
function statusText(o: Outcome, cmd: string[] = []): string {
  if (!o || ('exitCode' in o && o.exitCode === 0)) return '';
  if ('error' in o) return o.error;
  return `command terminated with non-zero exit code: error executing command [${cmd.join(' ')}], exit code ${o.exitCode}`;
}

/** Terminal sizes from a stream of JSON objects ({"Width":80,"Height":24}). */
function resizes(src: Readable, cb: (s: TerminalSize) => void): void {
  let buf = '';
  src.setEncoding('utf8');
  src.on('data', (d: string) => {
    buf += d;
    for (;;) {
      const end = buf.indexOf('}');
      if (end < 0) break;
      const text = buf.slice(buf.indexOf('{'), end + 1);
      buf = buf.slice(end + 1);
      try {
        const j = JSON.parse(text) as { Width?: number; Height?: number };
        if (j.Width && j.Height) cb({ width: j.Width, height: j.Height });
      } catch {
        /* a malformed size is ignored */
      }
    }
  });
}

function makeIO(
  r: SessionRequest,
  s: { stdin?: Readable; stdout?: Writable; stderr?: Writable; resize?: Readable },
  signal: AbortSignal,
): StreamIO {
  const listeners: ((s: TerminalSize) => void)[] = [];
  if (s.resize) resizes(s.resize, (size) => listeners.forEach((l) => l(size)));
  return {
    stdin: r.stdin ? s.stdin : undefined,
    stdout: r.stdout ? s.stdout : undefined,
    stderr: r.stderr && !r.tty ? s.stderr : undefined,
    tty: r.tty,
    onResize: (cb) => listeners.push(cb),
    signal,
  };
}

/** SPDY: waits for the client's streams, runs the session, reports, closes. */
export async function serveSpdy(
  session: SpdySession,
  protocol: string,
  r: SessionRequest,
  run: (io: StreamIO) => Promise<Outcome>,
  creationTimeoutMs = 30_000,
): Promise<void> {
  const resize = r.tty && (protocol === 'v3.channel.k8s.io' || protocol === 'v4.channel.k8s.io');
  const expected = 1 + Number(r.stdin) + Number(r.stdout) + Number(r.stderr && !r.tty) + Number(resize);
  const got = new Map<string, SpdyStream>();
  const ok = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), creationTimeoutMs);
    const onStream = (s: SpdyStream) => {
      s.reply();
      got.set(s.headers.streamtype ?? '', s);
      if (got.size >= expected) {
        clearTimeout(t);
        session.off('stream', onStream);
        resolve(true);
      }
    };
    session.on('stream', onStream);
    session.once('close', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
  if (!ok) {
    session.close();
    return;
  }
  const errorStream = got.get('error');
  const gone = new AbortController();
  session.once('close', () => gone.abort());
  const io = makeIO(
    r,
    { stdin: got.get('stdin'), stdout: got.get('stdout'), stderr: got.get('stderr'), resize: got.get('resize') },
    gone.signal,
  );
  // v1 clients get no stdin half-close semantics: their stdin stream is closed at once upstream.
  if (protocol === '' || protocol === 'channel.k8s.io') got.get('stdin')?.resume();
  let outcome: Outcome;
  try {
    outcome = await run(io);
  } catch (e) {
    outcome = { error: (e as Error).message };
  }
  if (errorStream) {
    const text = protocol === 'v4.channel.k8s.io' ? statusJson(outcome, r.cmd) : statusText(outcome, r.cmd);
    if (text) errorStream.write(Buffer.from(text));
  }
  for (const name of ['stdout', 'stderr', 'error']) got.get(name)?.finish();
  setTimeout(() => session.close(), 50).unref();
}

/** WebSocket channels: the same session over one WebSocket. */
export async function serveChannels(
  conn: ChannelConn,
  protocol: string,
  r: SessionRequest,
  run: (io: StreamIO) => Promise<Outcome>,
): Promise<void> {
  const stdin = conn.reader(0);
  const resize = conn.reader(4);
  const gone = new AbortController();
  void conn.closed.then(() => gone.abort());
  const io = makeIO(r, { stdin, stdout: conn.writer(1), stderr: conn.writer(2), resize }, gone.signal);
  // The first (empty) message tells the client which streams are there, as kubelet does.
  conn.send(r.stdout ? 1 : r.stderr ? 2 : 3, Buffer.alloc(0));
  let outcome: Outcome;
  try {
    outcome = await Promise.race([run(io), conn.closed.then(() => ({ error: 'the client went away' }) as Outcome)]);
  } catch (e) {
    outcome = { error: (e as Error).message };
  }
  const v4 = protocol.startsWith('v4.') || protocol.startsWith('v5.');
  const text = v4 ? statusJson(outcome, r.cmd) : statusText(outcome, r.cmd);
  if (text) conn.send(3, Buffer.from(text));
  conn.close();
}
