// The engine differential's harness: run the same docker command line (or raw Engine API request)
// against two daemons concurrently and compare what they print once masked (ids, times, sizes,
// percentages, addresses, host ports). Used by engine-differential.test.ts (the fast part, in npm test)
// and engine-differential.slow.test.ts (the rest).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { startDockerd } from '../fixtures/dockerd.js';
import { startEngine } from '../fixtures/engine.js';
import { busyboxTar } from '../fixtures/busybox.js';
import { words } from '../fixtures/words.js';

export interface Side {
  name: 'dockerd' | 'skiff';
  host: string;
  socket: string;
  /** DOCKER_CONFIG of this side's CLI runs. */
  config: string;
}
export { words };
export interface Out {
  status: number;
  stdout: string;
  stderr: string;
}

/** Placeholder for the destination directory of a `docker cp CONTAINER:SRC DEST` case. */
export const OUT = '{out}';

/** The host destination of `docker cp CONTAINER:SRC DEST` (or `docker container cp`), if `args` is one
 *  that writes on this host (DEST `-` writes a tar to stdout). */
export function hostCopyOut(args: string[]): string | undefined {
  const i = args[0] === 'cp' ? 1 : args[0] === 'container' && args[1] === 'cp' ? 2 : -1;
  if (i < 0) return undefined;
  const pos = args.slice(i).filter((a) => !a.startsWith('-') || a === '-');
  if (pos.length !== 2) return undefined;
  const [src, dst] = pos;
  const fromContainer = /^[^/.][^:/]*:/.test(src);
  return fromContainer && dst !== '-' ? dst : undefined;
}

/** Why a copy out of a container to a host path is refused (see `exec`). */
const COPY_OUT = (dst: string) =>
  `docker cp to the host path ${dst}: the CLI follows a destination that is already a symlink, so the ` +
  "other side's run (or a repeat) of a container symlink writes at the link's target on this host. " +
  `Copy to stdout (-) or into ${OUT}/… (a fresh directory per side and run)`;

function exec(
  file: string,
  argsIn: string[],
  side: Side,
  input?: string,
  env: Record<string, string> = {},
): Promise<Out> {
  // The docker CLI extracts `docker cp CONTAINER:SRC DEST` here, following DEST when it already is a
  // symlink (moby's CopyInfoDestinationPath): a container symlink to /etc/passwd copied twice to the same
  // DEST (both sides of a case share their arguments) replaced the host's /etc/passwd by a link to itself
  // on 2026-12-07. Each copy out gets a fresh directory for OUT; any other host destination is refused.
  let args = argsIn;
  let out: string | undefined;
  const dst = file === 'docker' ? hostCopyOut(args) : undefined;
  if (dst !== undefined) {
    if (!dst.startsWith(`${OUT}/`)) return Promise.reject(new Error(COPY_OUT(dst)));
    const dir = mkdtempSync('/tmp/skiff-ediff-out-');
    out = dir;
    args = args.map((a) => (a.startsWith(`${OUT}/`) ? dir + a.slice(OUT.length) : a));
  }
  if (file === 'sh') {
    const re = /\bdocker\s+(?:container\s+)?cp\s+(?:-\S+\s+)*[^\s/.][^\s:/]*:\S*\s+([^\s|;&)]+)/g;
    for (const m of args.join(' ').matchAll(re)) if (m[1] !== '-') return Promise.reject(new Error(COPY_OUT(m[1])));
  }
  const unOut = (t: string) => (out ? t.replaceAll(out, OUT) : t);
  return new Promise<Out>((resolve) => {
    const child = execFile(
      file,
      args,
      {
        env: { ...process.env, DOCKER_HOST: side.host, DOCKER_CONFIG: side.config, DOCKER_BUILDKIT: '0', ...env },
        timeout: 60_000,
        maxBuffer: 64 << 20,
        encoding: 'utf8',
      },
      (err, stdout, stderr) =>
        resolve({
          status: err ? ((err as { code?: number }).code ?? 1) : 0,
          stdout: unOut(String(stdout)),
          stderr: unOut(String(stderr)),
        }),
    );
    if (input !== undefined) child.stdin?.end(input);
  }).finally(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });
}

export const docker = (side: Side, args: string[], input?: string, env?: Record<string, string>) =>
  exec('docker', args, side, input, env);
export const sh = (side: Side, script: string) => exec('sh', ['-c', script], side);

export function http(
  side: Side,
  path: string,
  method = 'GET',
  json?: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = json === undefined ? undefined : JSON.stringify(json);
    const headers = data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {};
    // A connection of its own (agent: false): Node's global agent keeps connections alive and may
    // hand a request one the server is closing as idle (its keep-alive timeout, 5 s for a Node
    // server) — under load a burst of requests ~5 s after the previous one all got EPIPE.
    const req = request({ socketPath: side.socket, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('latin1') }));
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.end(data);
  });
}

/** What legitimately differs between two engines running the same commands. */
export function mask(s: string): string {
  return s
    .replace(/[0-9a-f]{64}/g, '<ID>')
    .replace(/\b[0-9a-f]{12}\b/g, '<SID>')
    .replace(
      /(Less than a second|About a minute|About an hour|\d+ (seconds?|minutes?|hours?|days?|weeks?|months?|years?)) ago/g,
      '<AGO>',
    )
    .replace(/Up (Less than a second|About a minute|About an hour|\d+ (seconds?|minutes?|hours?))/g, 'Up <DUR>')
    .replace(/\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-][\d:]+)/g, '<TIME>')
    .replace(/\b\d+(\.\d+)?\s?(B|kB|KB|MB|GB|KiB|MiB|GiB)\b/g, '<SIZE>')
    .replace(/\b\d+(\.\d+)?%/g, '<PCT>')
    .replace(/\b(10|172)\.\d+\.\d+\.\d+\b/g, '<IP>')
    .replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<PORT>')
    .replace(/[ \t]{2,}/g, '  ')
    .replace(/[ \t]+$/gm, '')
    .trimEnd();
}

export const sortLines = (s: string) => s.split('\n').sort().join('\n');

/** Only some columns of a table whose columns are 2+ spaces apart (after `mask`); a negative index
 *  keeps that column and the rest of the line. */
export const cols =
  (...keep: number[]) =>
  (s: string) =>
    s
      .split('\n')
      .map((l) => {
        const f = l.split(/ {2,}/);
        return keep.map((i) => (i < 0 ? f.slice(-i).join('  ') : f[i])).join('|');
      })
      .join('\n');

export interface Case {
  /** A command line (`words`) or its arguments. */
  cmd: string | string[];
  /** Order of lines is not part of the contract (map order, table order). */
  sort?: boolean;
  /** Further masking for this case (pids, columns that differ by design). */
  more?: (s: string) => string;
  input?: string;
  /** More environment for the CLI (e.g. DOCKER_API_VERSION). */
  env?: Record<string, string>;
  /** Owner and description of a known difference: the case runs and reports without failing. */
  todo?: string;
}

/** A start failure's message as the client shows it, without what names dockerd's runtime stack
 *  (containerd's shim and runc wrap the runtime's own words): Skiff has neither. */
export function runtimeMessage(m: string): string {
  return m
    .replace(/^failed to create shim task: OCI runtime create failed: runc create failed: /, '')
    .replace(/^unable to start container process: error during container init: /, '')
    .replace(/^error setting (cgroup config for procHooks process|rlimits for ready process): /, '')
    .replace(/: unknown$/, '');
}

/** A raw create request (`body` over busybox running `true`), and a start when it was created. */
export interface CreateCase {
  title: string;
  body: Record<string, unknown>;
  /** Why only the phase and status are compared (a start refused by the runtime, whose own words
   *  differ from runc's). */
  statusOnly?: string;
}

export class Differential {
  sides!: [Side, Side];
  /** Containers made by createCases (removed by the file's clean-up). */
  readonly made: string[] = [];
  constructor(readonly tmp: string) {}

  setSides(dockerd: Omit<Side, 'name' | 'config'>, skiff: Omit<Side, 'name' | 'config'>): void {
    this.sides = [
      { ...dockerd, name: 'dockerd', config: join(this.tmp, 'cfg-dockerd') },
      { ...skiff, name: 'skiff', config: join(this.tmp, 'cfg-skiff') },
    ];
  }

  both(args: string[], input?: string, env?: Record<string, string>): Promise<Out[]> {
    return Promise.all(this.sides.map((x) => docker(x, args, input, env)));
  }

  /** Runs the command line on both sides; exit status, stdout and stderr must match once masked. */
  async compare(c: Case): Promise<void> {
    const args = typeof c.cmd === 'string' ? words(c.cmd) : c.cmd;
    const [d, s] = await this.both(args, c.input, c.env);
    const view = (o: Out) => {
      const f = (t: string) => {
        let m = mask(t);
        if (c.more) m = c.more(m);
        return c.sort ? sortLines(m) : m;
      };
      return { status: o.status, stdout: f(o.stdout), stderr: f(o.stderr) };
    };
    assert.deepEqual(view(s), view(d), `docker ${args.join(' ')}`);
  }

  /** Raw create requests (API 1.41, dockerd 20.10's), then a start of what was created: the phase a
   *  request fails in, its status and its message must match (start messages through runtimeMessage). */
  createCases(title: string, list: CreateCase[]): void {
    describe(title, { concurrency: true }, () => {
      for (const c of list) {
        const name = `dc-${this.made.length}`;
        this.made.push(name);
        test(c.title, async () => {
          const view = async (x: Side) => {
            const body = { Image: 'busybox', Cmd: ['true'], ...c.body };
            const cr = await http(x, `/v1.41/containers/create?name=${name}`, 'POST', body);
            const msg = (b: string) =>
              c.statusOnly ? '<runtime message>' : ((JSON.parse(b) as { message?: string }).message ?? '');
            if (cr.status !== 201) return { create: cr.status, message: msg(cr.body) };
            const st = await http(x, `/v1.41/containers/${name}/start`, 'POST');
            return {
              create: cr.status,
              start: st.status,
              ...(st.status >= 400 ? { message: runtimeMessage(msg(st.body)) } : {}),
            };
          };
          const [dd, s] = await Promise.all(this.sides.map(view));
          assert.deepEqual(s, dd, JSON.stringify(c.body));
        });
      }
    });
  }

  /** A group of independent cases, run concurrently (one test each). */
  cases(title: string, list: (Case | string)[]): void {
    describe(title, { concurrency: true }, () => {
      for (const x of list) {
        const c = typeof x === 'string' ? { cmd: x } : x;
        const name = typeof c.cmd === 'string' ? c.cmd : c.cmd.join(' ');
        test(name, c.todo ? { todo: c.todo } : {}, () => this.compare(c));
      }
    });
  }
}

/** Both daemons for one test file, set up the same way in parallel: dockerd (test/fixtures/dockerd.ts)
 *  and the engine's built bundle (as users run it; npm test rebuilds it first) with dockerd's default
 *  live restore (off), so that `info` compares as is. busybox:latest is the same tar on both sides,
 *  then `setup` runs line by line on each side (lines naming c-exit may fail: they exit non-zero).
 *  `times`: whole seconds before and after the setup (for events --since/--until). */
export async function startSides(
  d: Differential,
  setup: string[],
  opts: { wait?: (x: Side) => Promise<void> } = {},
): Promise<{ stop(cleanup: string[]): Promise<void>; times: { t0: number; t1: number } }> {
  if (process.getuid?.() !== 0) throw new Error('the engine differential needs root (both daemons run containers)');
  const tar = busyboxTar(join(d.tmp, 'busybox.tar'));
  const [dockerd, engine] = await Promise.all([
    startDockerd(),
    startEngine({ bundle: true, args: ['--live-restore=false'] }),
  ]);
  d.setSides(dockerd, engine);
  const stop = async (cleanup: string[]) => {
    // Removed first: both daemons would otherwise stop them at shutdown, waiting out the stop timeout
    // of shells that ignore SIGTERM as PID 1.
    if (cleanup.length) await d.both(['rm', '-f', '-v', ...cleanup]);
    await Promise.all([engine.stop(), dockerd.stop()]);
  };
  try {
    // skiff's fixture seeded busybox:latest as `import -c 'CMD ["sh"]'` of the same tar.
    const imp = await docker(d.sides[0], ['import', '-c', 'CMD ["sh"]', tar, 'busybox:latest']);
    assert.equal(imp.status, 0, imp.stderr);
    // Events are compared from the next whole second on (the import is no event the engine made).
    await new Promise((res) => setTimeout(res, 1000 - (Date.now() % 1000)));
    const t0 = Math.floor(Date.now() / 1000);
    await Promise.all(
      d.sides.map(async (x) => {
        for (const line of setup) {
          const r = await docker(x, words(line));
          if (r.status !== 0 && !line.includes('c-exit')) assert.fail(`${x.name}: docker ${line}: ${r.stderr}`);
        }
        await opts.wait?.(x);
      }),
    );
    await new Promise((res) => setTimeout(res, 1000 - (Date.now() % 1000)));
    return { stop, times: { t0, t1: Math.floor(Date.now() / 1000) } };
  } catch (e) {
    await stop([]);
    throw e;
  }
}

/** Waits until a detached container's output (stdout and stderr) has been logged. */
export async function waitLogged(x: Side, name: string, out: string, err: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const r = await docker(x, ['logs', name]);
    if (r.stdout.includes(out) && r.stderr.includes(err)) return;
    await new Promise((res) => setTimeout(res, 100));
  }
}
