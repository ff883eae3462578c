// ExecSync (in-process through the runtime library, output to files, killed at its timeout) and the
// streaming exec/attach sessions behind the streaming server (under skiff-monitor, as the engine's
// `docker exec`: the monitor holds the process's stdio or pty and serves attach).
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { StreamIO } from '../../streaming/index.js';
import { SkiffError, failedPrecondition, invalidArgument, isSkiffError, randomSuffix } from '../../common/index.js';
import type { Process } from '../../oci/index.js';
import type { AttachSession, Runtime } from '../../runtime/index.js';

export type SessionIO = StreamIO;

export function deadlineExceeded(message: string): SkiffError {
  return new SkiffError('Unavailable', message, { reason: 'DeadlineExceeded' });
}

/** The exec process: the container's own process settings with another command. */
export function execProcessSpec(rt: Runtime, rtid: string, cmd: string[], tty: boolean): Process {
  if (!cmd.length) throw invalidArgument('cmd: name a command to run', { field: 'cmd' });
  const p = rt.spec(rtid).process;
  if (!p) throw failedPrecondition(`container ${rtid} has no process`);
  return {
    terminal: tty,
    user: p.user,
    args: cmd,
    env: p.env,
    cwd: p.cwd || '/',
    capabilities: p.capabilities,
    noNewPrivileges: p.noNewPrivileges,
    ...(p.apparmorProfile ? { apparmorProfile: p.apparmorProfile } : {}),
  } as Process;
}

export async function execSync(
  rt: Runtime,
  rtid: string,
  cmd: string[],
  timeoutSec: number,
  scratch: string,
): Promise<{ stdout: Buffer; stderr: Buffer; exitCode: number }> {
  const dir = join(scratch, randomSuffix(8));
  mkdirSync(dir, { recursive: true });
  const outFile = join(dir, 'stdout');
  const errFile = join(dir, 'stderr');
  const out = openSync(outFile, 'w');
  const err = openSync(errFile, 'w');
  let pid = 0;
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  try {
    const run = rt.exec(rtid, execProcessSpec(rt, rtid, cmd, false), {
      stdio: ['ignore', out, err],
      onStart: (p) => {
        pid = p;
      },
    });
    if (timeoutSec > 0)
      timer = setTimeout(() => {
        timedOut = true;
        if (pid)
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
      }, timeoutSec * 1000);
    const r = await run;
    if (timedOut) throw deadlineExceeded(`command ${JSON.stringify(cmd)} timed out after ${timeoutSec}s`);
    return { stdout: readFileSync(outFile), stderr: readFileSync(errFile), exitCode: r.exitCode ?? 0 };
  } finally {
    if (timer) clearTimeout(timer);
    closeSync(out);
    closeSync(err);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Copies a monitor session to the client streams; resolves once the process's output is drained. */
async function bridge(sess: AttachSession, io: SessionIO, stdinWanted: boolean): Promise<void> {
  io.onResize((s) => sess.resize(s.height, s.width));
  if (io.stdout) sess.stdout.pipe(io.stdout, { end: false });
  else sess.stdout.resume();
  if (io.stderr) sess.stderr.pipe(io.stderr, { end: false });
  else sess.stderr.resume();
  if (io.stdin && stdinWanted) {
    io.stdin.on('data', (d: Buffer) => sess.stdin.write(d));
    io.stdin.on('end', () => sess.closeStdin());
  }
  await sess.done;
}

/** A streaming exec: a monitored exec of the runtime library; the client is attached before the
 *  process runs (beforeStart), so no early output is lost. */
export async function streamExec(rt: Runtime, rtid: string, cmd: string[], io: SessionIO): Promise<number> {
  const execId = randomSuffix(8);
  let sess: AttachSession | undefined;
  let copying: Promise<void> = Promise.resolve();
  try {
    await rt.exec(rtid, execProcessSpec(rt, rtid, cmd, io.tty), {
      monitor: { execId, stdin: !!io.stdin },
      beforeStart: async () => {
        sess = await rt.attach(rtid, { execId });
        copying = bridge(sess, { ...io, stdin: undefined }, false);
      },
    });
    const out = sess!;
    // A tty's stdin goes through a second session, opened once the pty master reached the monitor
    // (the exec has started by now).
    const stdinSess = io.tty && io.stdin ? await rt.attach(rtid, { execId }).catch(() => out) : out;
    if (io.stdin) {
      io.stdin.on('data', (d: Buffer) => stdinSess.stdin.write(d));
      io.stdin.on('end', () => stdinSess.closeStdin());
    }
    const ex = await rt.waitExit(rtid, { execId });
    await copying;
    if (stdinSess !== out) stdinSess.close();
    return ex.exitCode;
  } finally {
    sess?.close();
    // the exec's state may be gone already (the runtime reaps it at exit)
    await rt.delete(rtid, { execId, force: true }).catch(() => undefined);
  }
}

/** Attach to a running container's monitor: its output from now on, and its stdin when it has one. */
export async function streamAttach(rt: Runtime, rtid: string, io: SessionIO, stdinOpen: boolean): Promise<void> {
  const sess = await rt.attach(rtid).catch((e) => {
    // The container exited between the Attach call and this session (a short `kubectl run -i`):
    // containerd's wording, which kubectl prints before falling back to the logs.
    throw isSkiffError(e, 'NotFound') ? failedPrecondition('container is in CONTAINER_EXITED state', { cause: e }) : e;
  });
  const detach = () => sess.close();
  io.signal.addEventListener('abort', detach, { once: true });
  try {
    await bridge(sess, io, stdinOpen);
  } finally {
    io.signal.removeEventListener('abort', detach);
    sess.close();
  }
}
