// RUN: the command runs in a container (our runtime) on a snapshot of the stage; the file system
// changes become a layer. Network: `default` is the engine's default bridge (a namespace the
// engine attaches through `env.sandbox`, released after the step; without a provider, a fresh
// namespace with only loopback); `none` has only loopback; `host` shares the host's.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { join, posix } from 'node:path';
import { invalidArgument, notImplemented, randomSuffix } from '../../common/index.js';
import { defaultSpec } from '../../runtime/index.js';
import type { Instruction } from '../dockerfile/index.js';
import { withLayer } from '../layers.js';
import { addHistory, type BuildEnv, type StageState } from '../state.js';
import { resolveUser } from '../users.js';
import { mkdirOwned } from '../context.js';

type Run = Extract<Instruction, { kind: 'RUN' }>;

/** The argv a RUN executes (shell form through SHELL; heredocs as a script or as stdin files). */
export function runArgv(ins: Run, shell: string[]): string[] {
  if (ins.cmd.form === 'exec') return ins.cmd.args;
  if (
    (ins.heredocs.length === 1 &&
      ins.cmd.command.trim() === `<<${ins.heredocs[0].chomp ? '-' : ''}${ins.heredocs[0].name}`) ||
    /^<<-?["']?\w+["']?$/.test(ins.cmd.command.trim())
  ) {
    return [...shell, ins.heredocs[0].content];
  }
  if (ins.heredocs.length) {
    // Heredocs used as stdin of commands: hand the whole thing to the shell as a script.
    let script = ins.cmd.command;
    for (const h of ins.heredocs) script += `\n${h.content}${h.name}`;
    return [...shell, script];
  }
  return [...shell, ins.cmd.command];
}

export async function runStep(
  env: BuildEnv,
  s: StageState,
  ins: Run,
  argv: string[],
  buildArgEnv: string[],
  createdBy: string,
): Promise<void> {
  if (ins.flags.mount)
    throw notImplemented(`Dockerfile:${ins.line}: RUN --mount is not supported by this builder`, { field: 'mount' });
  const network = ins.flags.network ?? env.network;
  if (!['none', 'host', 'default'].includes(network))
    throw invalidArgument(`Dockerfile:${ins.line}: RUN --network=${network}: expected none, host or default`, {
      field: 'network',
    });
  const id = `build-${randomSuffix(6)}`;
  const bundle = join(env.tmpDir, id);
  const logFile = join(env.tmpDir, `${id}.log`);
  await withLayer(env, s, async (root) => {
    mkdirSync(bundle, { recursive: true });
    const cfg = s.config.config ?? {};
    const user = resolveUser(root, cfg.User || 'root');
    const cwd = cfg.WorkingDir || '/';
    mkdirOwned(root, posix.normalize(cwd), 0, 0); // inside the image root, never through a symlink onto the host
    const envList = [...(cfg.Env ?? [])];
    for (const e of buildArgEnv) if (!envList.some((x) => x.split('=')[0] === e.split('=')[0])) envList.push(e);
    if (!envList.some((e) => e.startsWith('PATH=')))
      envList.unshift('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    const spec = defaultSpec({ args: argv, env: envList, cwd, rootfs: root, hostname: id.slice(0, 12) });
    spec.process!.user = { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids };
    if (network === 'host') spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'network');
    const sandbox = network === 'default' && env.sandbox ? await env.sandbox(id) : undefined;
    let code: number;
    try {
      if (sandbox) {
        spec.linux!.namespaces = spec.linux!.namespaces!.map((n) =>
          n.type === 'network' ? { type: 'network', path: sandbox.netns } : n,
        );
        // over an existing file only: a mount point created here would end up in the layer
        if (sandbox.resolvConf !== undefined && existsSync(join(root, 'etc/resolv.conf'))) {
          writeFileSync(join(bundle, 'resolv.conf'), sandbox.resolvConf);
          spec.mounts!.push({
            destination: '/etc/resolv.conf',
            type: 'bind',
            source: join(bundle, 'resolv.conf'),
            options: ['rbind', 'ro', 'rprivate'],
          });
        }
      }
      env.log(` ---> Running in ${id.slice('build-'.length)}`); // as dockerd's intermediate container
      const fd = openSync(logFile, 'w');
      // The output reaches the client as it is produced (as dockerd streams it), line by line.
      const follow = followLines(logFile, (l) => env.log(l));
      try {
        code = await env.runtime.run(id, spec, { bundle, stdio: ['ignore', fd, fd], signal: env.signal });
      } finally {
        closeSync(fd);
        follow.end();
        // the RUN's container may be gone already; its exit status decides the step
        await env.runtime.delete(id, { force: true }).catch(() => {});
      }
    } finally {
      await sandbox?.release();
    }
    const out = readFileSync(logFile, 'utf8');
    if (code !== 0) {
      const tail = out.split('\n').slice(-20).join('\n').trim();
      throw invalidArgument(
        `The command '${argv.join(' ')}' returned a non-zero code: ${code}${tail ? `\n${tail}` : ''}`,
        { field: 'RUN', reason: `ExitCode${code}` },
      );
    }
    env.log(`Removing intermediate container ${id.slice('build-'.length)}`);
  }).finally(() => {
    rmSync(bundle, { recursive: true, force: true });
    rmSync(logFile, { force: true });
  });
  addHistory(s, createdBy, false);
}

/** Follows a file the step's process writes: every complete line is passed on within ~50 ms of
 *  being written; `end()` reads what is left and passes on a last line without its newline too.
 *  (The runtime writes the process's stdio to a file descriptor; polling the file keeps the
 *  process's output independent of this process's event loop.) */
function followLines(file: string, emit: (line: string) => void): { end(): void } {
  const fd = openSync(file, 'r');
  const decoder = new StringDecoder('utf8');
  const buf = Buffer.alloc(64 * 1024);
  let partial = '';
  const read = () => {
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) return;
      const lines = (partial + decoder.write(buf.subarray(0, n))).split('\n');
      partial = lines.pop()!;
      for (const l of lines) emit(l);
    }
  };
  const timer = setInterval(read, 50);
  return {
    end() {
      clearInterval(timer);
      try {
        read();
        partial += decoder.end();
        if (partial) emit(partial);
      } finally {
        closeSync(fd);
      }
    },
  };
}
