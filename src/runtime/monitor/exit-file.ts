// The monitor's exit file (DIR/exit.json): read, validated at the edge, and waited for.
import { readFile, readdir } from 'node:fs/promises';
import { watch } from 'node:fs';
import { join } from 'node:path';
import { check, parseOrThrow, type Infer } from '../../oci/index.js';
import { internal, unavailable } from '../../common/index.js';

const { object, int, string, nullable, optional, boolean } = check;
export const ExitStatusSchema = object({
  pid: int(),
  exitCode: int(),
  signal: nullable(string()),
  oomKilled: boolean(),
  startedAt: string(),
  finishedAt: string(),
  error: optional(string()),
});
export type ExitStatus = Infer<typeof ExitStatusSchema>;

/** The exit status, or undefined while the container runs (no exit file yet). */
export async function readExitFile(stateDir: string): Promise<ExitStatus | undefined> {
  let text: string;
  try {
    text = await readFile(join(stateDir, 'exit.json'), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw internal(`monitor exit file ${join(stateDir, 'exit.json')} is not JSON`, { cause: e });
  }
  try {
    return parseOrThrow(ExitStatusSchema, json, `monitor exit file ${join(stateDir, 'exit.json')}`);
  } catch (e) {
    throw internal((e as Error).message, { cause: e });
  }
}

/** Pid of the monitor for a state dir while it runs (monitor.pid exists and names a live skiff-monitor). */
export async function monitorPid(stateDir: string): Promise<number | undefined> {
  return (await monitorLiveness(stateDir)).pid;
}

/** The monitor's pid while it runs, else what the check found instead (for error messages). */
async function monitorLiveness(stateDir: string): Promise<{ pid?: number; why: string }> {
  let text: string;
  try {
    text = (await readFile(join(stateDir, 'monitor.pid'), 'utf8')).trim();
  } catch (e) {
    return { why: `monitor.pid unreadable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 0) return { why: `monitor.pid holds ${JSON.stringify(text.slice(0, 32))}` };
  let cmdline: string;
  let stat: string;
  try {
    cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch (e) {
    return { why: `monitor.pid names ${pid}: /proc/${pid} unreadable (${(e as NodeJS.ErrnoException).code})` };
  }
  // Guards against pid reuse: the process must still be a skiff-monitor.
  const argv0 = cmdline.split('\0')[0];
  if (!argv0.endsWith('skiff-monitor')) return { why: `monitor.pid names ${pid}, now ${JSON.stringify(argv0)}` };
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  if (state === 'Z') return { why: `monitor.pid names ${pid}, a zombie` };
  return { pid, why: `running as ${pid}` };
}

/** Why a monitor counts as gone: the liveness check's finding and the state dir's contents. */
async function goneDetail(stateDir: string): Promise<string> {
  const { why } = await monitorLiveness(stateDir);
  const names = await readdir(stateDir).catch((e: NodeJS.ErrnoException) => `unreadable (${e.code})`);
  return `${why}; state dir: ${Array.isArray(names) ? `[${names.sort().join(', ')}]` : names}`;
}

export async function isMonitorAlive(stateDir: string): Promise<boolean> {
  return (await monitorPid(stateDir)) !== undefined;
}

/** The poll's period while fs.watch follows the state directory. */
const WATCHED_POLL_MS = 2000;

/**
 * Resolves with the exit status once the monitor writes it (fs.watch on the state dir, with a
 * polling fallback). Rejects if the monitor is gone without writing one, or on abort.
 */
export function waitExit(stateDir: string, signal?: AbortSignal, pollMs = 250): Promise<ExitStatus> {
  return new Promise<ExitStatus>((resolve, reject) => {
    let done = false;
    let checking = false;
    let again = false;
    let watcher: ReturnType<typeof watch> | undefined;
    const finish = (err: unknown, v?: ExitStatus) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      watcher?.close();
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(v!);
    };
    const check = async () => {
      if (checking) {
        again = true;
        return;
      }
      checking = true;
      try {
        do {
          again = false;
          const st = await readExitFile(stateDir);
          if (st) return finish(undefined, st);
          if (!(await isMonitorAlive(stateDir))) {
            const late = await readExitFile(stateDir); // it may have written the file in between
            if (late) return finish(undefined, late);
            return finish(
              unavailable(`monitor for ${stateDir} is gone and left no exit file: ${await goneDetail(stateDir)}`),
            );
          }
        } while (again && !done);
      } catch (e) {
        finish(e);
      } finally {
        checking = false;
      }
    };
    const onAbort = () => finish(signal!.reason ?? new Error('aborted'));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      watcher = watch(stateDir, (_ev, name) => {
        if (name === 'exit.json' || name === 'monitor.pid') void check();
      });
      watcher.on('error', () => undefined);
    } catch {
      // No inotify (or the dir is gone): polling alone.
    }
    // With inotify the exit file is seen at once; the poll only catches a monitor that died
    // without writing one, so it can be slow: four file reads per running container every 250 ms
    // were a steady load on the event loop and the fs thread pool with a hundred pods running.
    const timer = setInterval(check, watcher ? Math.max(pollMs, WATCHED_POLL_MS) : pollMs);
    void check();
  });
}
