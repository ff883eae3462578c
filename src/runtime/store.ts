// The state directory (`--root`, default /run/skiff/runtime): one folder per container holding
// state.json (the state and the container's spec, written atomically once the container is
// created, again only by pause/resume/update), the exec fifo, skiff-init's files, and a lock. A
// Runtime keeps what it wrote or read in memory, so the engine's calls do not re-read files; another
// process (the CLI) reads them. Every file operation counts: on a busy disk each costs milliseconds.
// Locking: in memory within one process; with `shared` (the CLI: one process per operation) also an
// O_EXCL lock file naming its holder's pid, taken over when the holder died (Node has no flock(2)).
import {
  mkdirSync,
  readFileSync,
  writeFileSync,
  renameSync,
  openSync,
  closeSync,
  unlinkSync,
  readdirSync,
  rmSync,
  rmdirSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { checkSafeId, notFound, alreadyExists, unavailable, internal, sleep } from '../common/index.js';
import type { Spec, ContainerStatus } from '../oci/index.js';
import { isAlive } from './proc.js';

export const DEFAULT_ROOT = '/run/skiff/runtime';

export interface StoredState {
  id: string;
  bundle: string;
  rootfs: string;
  pid: number;
  pidStartTime?: number;
  created: string;
  owner: string;
  status: ContainerStatus; // as last recorded; the live status is computed (see runtime)
  annotations?: Record<string, string>;
  cgroupPath: string;
  /** Set when cgroupPath is relative to the creating process's cgroups (see CgroupManagerOptions.parents). */
  cgroupParents?: Record<string, string>;
  monitorDir?: string;
  /** Created without a skiff-init parent (runc's `create`): nobody knows its exit status. */
  detached?: boolean;
}

export class StateStore {
  private readonly states = new Map<string, StoredState>();
  private readonly specs = new Map<string, Spec>();
  private readonly locks = new Map<string, Promise<unknown>>();
  constructor(
    readonly root: string = DEFAULT_ROOT,
    /** Other processes use this root at the same time (the CLI): lock with files too. */
    readonly shared = false,
  ) {}

  dir(id: string): string {
    return join(this.root, checkSafeId(id, 'container id'));
  }

  /** Makes the container's directory; AlreadyExists when the id is taken. */
  reserve(id: string): string {
    const d = this.dir(id);
    mkdirSync(this.root, { recursive: true, mode: 0o711 });
    try {
      mkdirSync(d, { mode: 0o711 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST')
        throw alreadyExists(`container with id ${id} already exists`, { field: 'id' });
      throw e;
    }
    return d;
  }

  load(id: string): StoredState {
    const cached = this.states.get(id);
    if (cached) return cached;
    const { config, ...st } = readJson<StoredState & { config: Spec }>(join(this.dir(id), 'state.json'), id);
    this.states.set(id, st);
    this.specs.set(id, config);
    return st;
  }

  /** Writes state.json (tmp + rename) with the container's spec (given, or the one already held). */
  save(s: StoredState, spec?: Spec): void {
    const config = spec ?? this.spec(s.id);
    const d = this.dir(s.id);
    const tmp = join(d, `.state.${process.pid}.tmp`);
    writeFileSync(tmp, JSON.stringify({ ...s, config }));
    renameSync(tmp, join(d, 'state.json'));
    this.states.set(s.id, s);
    this.specs.set(s.id, config);
  }

  /** The container's spec, as given to create (with update's resources). */
  spec(id: string): Spec {
    const cached = this.specs.get(id);
    if (cached) return cached;
    this.load(id);
    return this.specs.get(id)!;
  }

  private seccompDir?: string;
  /** Compiled seccomp filters shared by containers with the same rules. */
  seccompCacheDir(): string {
    if (this.seccompDir) return this.seccompDir;
    const d = join(this.root, '.seccomp');
    mkdirSync(d, { recursive: true, mode: 0o700 });
    this.seccompDir = d;
    return d;
  }

  remove(id: string): void {
    const d = this.dir(id);
    this.states.delete(id);
    this.specs.delete(id);
    // The directory holds a few plain files: unlink them and rmdir (Node's recursive rmSync lstats
    // its way through and cost a container's delete milliseconds); anything else (a monitor's
    // sub-directory) falls back to the recursive removal.
    try {
      for (const f of readdirSync(d)) {
        try {
          unlinkSync(join(d, f));
        } catch {
          /* a directory, or gone */
        }
      }
      rmdirSync(d);
    } catch {
      rmSync(d, { recursive: true, force: true });
    }
  }

  ids(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true })
        .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
        .map((e) => e.name)
        .sort();
    } catch {
      return [];
    }
  }

  /** Runs `fn` holding the container's lock. */
  async withLock<T>(id: string, fn: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
    const before = this.locks.get(id) ?? Promise.resolve();
    const run = before.then(() => (this.shared ? this.withFileLock(id, fn, timeoutMs) : fn()));
    // the lock chain only orders callers; each caller gets its own run's error from run
    const tail = run.catch(() => undefined);
    this.locks.set(id, tail);
    tail.then(() => {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    });
    return run;
  }

  private async withFileLock<T>(id: string, fn: () => Promise<T>, timeoutMs: number): Promise<T> {
    const file = join(this.dir(id), 'lock');
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        const fd = openSync(file, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw notFound(`container ${id} does not exist`, { field: 'id' });
        if (code !== 'EEXIST') throw e;
        let holder = 0;
        try {
          holder = Number(readFileSync(file, 'utf8'));
        } catch {
          continue;
        }
        if (holder && holder !== process.pid && !isAlive(holder)) {
          try {
            unlinkSync(file);
          } catch {
            /* raced */
          }
          continue;
        }
        if (Date.now() > until) throw unavailable(`container ${id} is locked by process ${holder}`);
        await sleep(5);
      }
    }
    try {
      return await fn();
    } finally {
      try {
        unlinkSync(file);
      } catch {
        /* removed with the dir */
      }
    }
  }
}

function readJson<T>(file: string, id: string): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw notFound(`container ${id} does not exist`, { field: 'id' });
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw internal(`state of container ${id} is corrupt`, { cause: e });
  }
}
