// runc-compatible runtime CLI (bin/skiff-runtime, `skiff runtime`). Global flags come before the
// command, as with runc: `skiff-runtime --root R --log F --log-format json create --bundle B ID`.
// The runtime library is imported lazily after flag parsing, so `--version` and bad usage stay cheap.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { appendFileSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { alreadyExists } from '../common/index.js';

const VERSION = 'skiff-runtime version 0.1.0\nspec: 1.0.2\n';
const USAGE = `usage: skiff-runtime [global options] COMMAND [options] ID

global options: --root DIR  --log FILE  --log-format text|json  --debug  --systemd-cgroup

commands:
  create --bundle DIR [--pid-file F] [--console-socket S] [--no-pivot] [--no-new-keyring] ID
  start ID                     state ID                       delete [--force] ID
  run [--detach] [--bundle DIR] [--pid-file F] [--console-socket S] [--keep] ID
  kill [--all] ID [SIGNAL]     pause ID    resume ID          ps [--format table|json] ID
  exec [--process F] [--detach] [--pid-file F] [--tty] [--console-socket S] [--cwd D] [--env K=V] [--user U[:G]] ID [ARGS...]
  list [--format table|json] [--quiet]      update --resources FILE|- ID
  features                     spec [--bundle DIR]            --version
`;

interface Global {
  root?: string;
  log?: string;
  logFormat: 'text' | 'json';
  debug: boolean;
  systemdCgroup: boolean;
}

class UsageError extends Error {}

/** Go-style flags: `-root x` is `--root x`. */
function normalize(a: string): string {
  return /^-[a-z][a-z-]+/.test(a) ? `-${a}` : a;
}

function parseGlobal(argv: string[]): { g: Global; rest: string[] } {
  const g: Global = { logFormat: 'text', debug: false, systemdCgroup: false };
  let i = 0;
  for (; i < argv.length; i++) {
    const raw = normalize(argv[i]);
    if (!raw.startsWith('-')) break;
    const [flag, inline] = raw.includes('=')
      ? [raw.slice(0, raw.indexOf('=')), raw.slice(raw.indexOf('=') + 1)]
      : [raw, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`flag ${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--root':
        g.root = value();
        break;
      case '--log':
        g.log = value();
        break;
      case '--log-format': {
        const f = value();
        if (f !== 'text' && f !== 'json') throw new UsageError(`--log-format: ${f} is not text or json`);
        g.logFormat = f;
        break;
      }
      case '--debug':
        g.debug = true;
        break;
      case '--systemd-cgroup':
        g.systemdCgroup = true;
        break;
      case '--criu':
      case '--rootless':
        value();
        break; // accepted for compatibility
      case '--version':
      case '-v':
        return { g, rest: ['--version'] };
      case '--help':
      case '-h':
        return { g, rest: ['help'] };
      default:
        throw new UsageError(`unknown global flag ${flag}`);
    }
  }
  return { g, rest: argv.slice(i) };
}

function logLine(g: Global, level: 'error' | 'debug' | 'warning', msg: string): void {
  if (!g.log) return;
  const time = new Date().toISOString();
  const line =
    g.logFormat === 'json'
      ? JSON.stringify({ level, msg, time })
      : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
  try {
    appendFileSync(g.log, line + '\n');
  } catch {
    /* the log is best effort */
  }
}

type Opts = NonNullable<ParseArgsConfig['options']>;
/** Flags are parsed up to the container id; what follows it (exec's args, ps's options) is kept. */
function sub(argv: string[], options: Opts, minPos = 1) {
  const args = argv.map(normalize);
  const takes = new Set(
    Object.entries(options).flatMap(([k, o]) =>
      o.type === 'string' ? [`--${k}`, ...(o.short ? [`-${o.short}`] : [])] : [],
    ),
  );
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i];
    if (a === '--') break;
    if (!a.startsWith('-') || a === '-') break;
    if (takes.has(a)) i++;
  }
  const head = args.slice(0, Math.min(i + 1, args.length));
  const tail = argv.slice(Math.min(i + 1, argv.length));
  const { values, positionals: p0 } = parseArgs({ args: head, options, allowPositionals: true, strict: true });
  const positionals = [...p0, ...(tail[0] === '--' ? tail.slice(1) : tail)];
  if (positionals.length < minPos) throw new UsageError(minPos === 1 ? 'container id required' : 'missing arguments');
  return { v: values as Record<string, string | boolean | string[] | undefined>, pos: positionals };
}

export async function runRuntimeCli(argv: string[]): Promise<number> {
  let g: Global = { logFormat: 'text', debug: false, systemdCgroup: false };
  try {
    const parsed = parseGlobal(argv);
    g = parsed.g;
    const [cmd, ...args] = parsed.rest;
    if (cmd === '--version' || cmd === 'version') {
      process.stdout.write(VERSION);
      return 0;
    }
    if (!cmd || cmd === 'help') {
      process.stdout.write(USAGE);
      return cmd ? 0 : 1;
    }
    if (g.systemdCgroup)
      throw new UsageError(
        '--systemd-cgroup is not supported: skiff manages cgroupfs paths (this host has no systemd)',
      );
    if (g.debug) logLine(g, 'debug', `command ${cmd} ${args.join(' ')}`);
    return await runCommand(cmd, args, g);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    logLine(g, 'error', msg);
    process.stderr.write(`skiff-runtime: ${msg}\n`);
    if (e instanceof UsageError || (e as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      process.stderr.write(`\n${USAGE}`);
    return 1;
  }
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

function preserveFds(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--preserve-fds: expected a count, got ${JSON.stringify(v)}`);
  return n;
}

async function runCommand(cmd: string, args: string[], g: Global): Promise<number> {
  const rtmod = await import('../runtime/index.js');
  const rt = new rtmod.Runtime({ root: g.root, sharedRoot: true, spawner: false });
  const out = (s: string) => process.stdout.write(s);
  const createFlags: Opts = {
    bundle: { type: 'string', short: 'b' },
    'pid-file': { type: 'string' },
    'console-socket': { type: 'string' },
    'no-pivot': { type: 'boolean' },
    'no-new-keyring': { type: 'boolean' },
    'preserve-fds': { type: 'string' },
    'no-subreaper': { type: 'boolean' },
    detach: { type: 'boolean', short: 'd' },
    keep: { type: 'boolean' },
  };
  const createOpts = (v: Record<string, unknown>) => ({
    pidFile: str(v['pid-file']),
    consoleSocket: str(v['console-socket']),
    noPivot: !!v['no-pivot'],
    noNewKeyring: !!v['no-new-keyring'],
    preserveFds: preserveFds(v['preserve-fds']),
  });
  switch (cmd) {
    case 'create': {
      const { v, pos } = sub(args, createFlags);
      const { spec, bundle } = rtmod.loadBundle(str(v.bundle) ?? process.cwd());
      await rt.create(pos[0], spec, { ...createOpts(v), bundle, detach: true });
      return 0;
    }
    case 'run': {
      const { v, pos } = sub(args, createFlags);
      const { spec, bundle } = rtmod.loadBundle(str(v.bundle) ?? process.cwd());
      if (v.detach) {
        await rt.create(pos[0], spec, { ...createOpts(v), bundle, detach: true });
        await rt.start(pos[0]);
        return 0;
      }
      return await rt.run(pos[0], spec, { ...createOpts(v), bundle, keep: !!v.keep });
    }
    case 'start': {
      const { pos } = sub(args, {});
      await rt.start(pos[0]);
      return 0;
    }
    case 'state': {
      const { pos } = sub(args, {});
      // As runc's `state`: the owner is left empty (only `list` names it) and empty annotations
      // are left out.
      const { annotations, ...st } = rt.state(pos[0]);
      const shown = { ...st, owner: '', ...(annotations && Object.keys(annotations).length ? { annotations } : {}) };
      out(JSON.stringify(shown, null, 2) + '\n');
      return 0;
    }
    case 'kill': {
      const { v, pos } = sub(args, { all: { type: 'boolean', short: 'a' } });
      await rt.kill(pos[0], pos[1] ?? 'SIGTERM', { all: !!v.all });
      return 0;
    }
    case 'delete': {
      const { v, pos } = sub(args, { force: { type: 'boolean', short: 'f' } });
      await rt.delete(pos[0], { force: !!v.force });
      return 0;
    }
    case 'pause': {
      const { pos } = sub(args, {});
      await rt.pause(pos[0]);
      return 0;
    }
    case 'resume': {
      const { pos } = sub(args, {});
      await rt.resume(pos[0]);
      return 0;
    }
    case 'ps': {
      const { v, pos } = sub(args, { format: { type: 'string', short: 'f' } });
      if (v.format === 'json') out(JSON.stringify(await rt.pids(pos[0])) + '\n');
      else out(await rtmod.psTable(rt, pos[0], pos.length > 1 ? pos.slice(1) : ['-ef']));
      return 0;
    }
    case 'list': {
      const { v } = sub(args, { format: { type: 'string', short: 'f' }, quiet: { type: 'boolean', short: 'q' } }, 0);
      const all = rt.list();
      if (v.quiet) out(all.map((c) => c.id + '\n').join(''));
      else if (v.format === 'json') out(JSON.stringify(all) + '\n');
      else {
        const rows = [
          ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
          ...all.map((c) => [c.id, String(c.pid ?? 0), c.status, c.bundle, c.created, c.owner]),
        ];
        const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
        out(
          rows
            .map((r) =>
              r
                .map((c, i) => c.padEnd(w[i]))
                .join('   ')
                .trimEnd(),
            )
            .join('\n') + '\n',
        );
      }
      return 0;
    }
    case 'update': {
      const { v, pos } = sub(args, { resources: { type: 'string', short: 'r' } });
      const src = str(v.resources);
      if (!src) throw new UsageError('update: --resources FILE|- is required');
      const text = src === '-' ? readFileSync(0, 'utf8') : readFileSync(src, 'utf8');
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw new UsageError(`update: resources are not valid JSON: ${(e as Error).message}`);
      }
      await rt.update(pos[0], rtmod.parseResources(json));
      return 0;
    }
    case 'exec':
      return execCommand(rtmod, rt, args);
    case 'features':
      out(JSON.stringify(rtmod.features(), null, 2) + '\n');
      return 0;
    case 'spec': {
      const { v } = sub(args, { bundle: { type: 'string', short: 'b' }, rootless: { type: 'boolean' } }, 0);
      const file = join(str(v.bundle) ?? process.cwd(), 'config.json');
      if (existsSync(file)) throw alreadyExists(`File ${file} exists. Remove it first`);
      writeFileSync(file, JSON.stringify(rtmod.runcSpec({ rootless: !!v.rootless }), null, 2) + '\n');
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
  }
}

async function execCommand(
  rtmod: typeof import('../runtime/index.js'),
  rt: InstanceType<typeof rtmod.Runtime>,
  args: string[],
): Promise<number> {
  // Everything after the id belongs to the process: stop flag parsing there.
  const { v, pos } = sub(args, {
    process: { type: 'string', short: 'p' },
    detach: { type: 'boolean', short: 'd' },
    'pid-file': { type: 'string' },
    tty: { type: 'boolean', short: 't' },
    'console-socket': { type: 'string' },
    cwd: { type: 'string' },
    env: { type: 'string', short: 'e', multiple: true },
    user: { type: 'string', short: 'u' },
    'additional-gids': { type: 'string', short: 'g', multiple: true },
    cap: { type: 'string', short: 'c', multiple: true },
    'no-new-privs': { type: 'boolean' },
    'preserve-fds': { type: 'string' },
    'process-label': { type: 'string' },
    apparmor: { type: 'string' },
  });
  const id = pos[0];
  let p;
  const file = str(v.process);
  if (file) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new UsageError(`exec: --process ${file}: ${(e as Error).message}`);
    }
    p = rtmod.parseProcess(json);
  } else {
    if (pos.length < 2) throw new UsageError('exec: process args required (or --process FILE)');
    const base = rt.spec(id).process;
    const user = str(v.user);
    const [uid, gid] = user ? user.split(':').map(Number) : [base?.user.uid ?? 0, base?.user.gid ?? 0];
    if (!Number.isInteger(uid) || (gid !== undefined && !Number.isInteger(gid)))
      throw new UsageError(`exec: --user ${user}: expected UID[:GID]`);
    const caps = (v.cap as string[] | undefined) ?? [];
    const add = (l?: string[]) => [...new Set([...(l ?? []), ...caps])];
    p = rtmod.parseProcess({
      ...(base ?? {}),
      args: pos.slice(1),
      terminal: !!v.tty,
      cwd: str(v.cwd) ?? base?.cwd ?? '/',
      env: [...(base?.env ?? []), ...((v.env as string[] | undefined) ?? [])],
      user: {
        ...(base?.user ?? {}),
        uid,
        gid: gid ?? 0,
        additionalGids: ((v['additional-gids'] as string[] | undefined) ?? []).map(Number),
      },
      capabilities: base?.capabilities && {
        ...base.capabilities,
        effective: add(base.capabilities.effective),
        permitted: add(base.capabilities.permitted),
        bounding: add(base.capabilities.bounding),
      },
      noNewPrivileges: v['no-new-privs'] ? true : base?.noNewPrivileges,
    });
  }
  if (v.tty) p.terminal = true;
  const r = await rt.exec(id, p, {
    preserveFds: preserveFds(v['preserve-fds']),
    detach: !!v.detach,
    pidFile: str(v['pid-file']),
    consoleSocket: str(v['console-socket']),
  });
  return r.exitCode ?? 0;
}
