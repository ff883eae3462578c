// What Node cannot do itself: create device nodes and FIFOs (no mknod) and set/get extended
// attributes (no xattr API). Each is batched into ONE child process per layer — a shell running
// coreutils `mknod`, and attr's `setfattr --restore` / `getfattr --dump` — instead of a native
// addon: layers rarely carry more than a handful of such entries, and the tools are in Debian.
// Callers must pass paths whose parent components they have verified to be real directories.
import { spawn } from 'node:child_process';
import { internal } from '../../common/index.js';

export interface NodeOp {
  path: string;
  kind: 'c' | 'b' | 'p';
  major: number;
  minor: number;
}
export interface XattrOp {
  path: string;
  name: string;
  value: Buffer;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function run(cmd: string, args: string[], input: string, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => reject(internal(`${what}: cannot run ${cmd}: ${e.message}`, { cause: e })));
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else
        reject(
          internal(`${what}: ${cmd} failed (exit ${code}): ${Buffer.concat(err).toString().trim().slice(0, 500)}`),
        );
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/** Creates device nodes and FIFOs (mode bits are set by the caller afterwards). */
export async function makeNodes(ops: readonly NodeOp[]): Promise<void> {
  if (ops.length === 0) return;
  const script = ops
    .map((o) =>
      o.kind === 'p'
        ? `/usr/bin/mknod -- ${q(o.path)} p`
        : `/usr/bin/mknod -- ${q(o.path)} ${o.kind} ${o.major >>> 0} ${o.minor >>> 0}`,
    )
    .join('\n');
  await run('/bin/sh', ['-e', '-s'], script + '\n', 'creating device nodes');
}

/** Escapes a path for attr's dump format (octal for control characters and backslash). */
function escapePath(p: string): string {
  return p.replace(/[\x00-\x20\\\x7f=]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

function unescapePath(p: string): string {
  const parts = p
    .split(/(\\[0-7]{3})/)
    .map((seg) => (/^\\[0-7]{3}$/.test(seg) ? Buffer.from([parseInt(seg.slice(1), 8)]) : Buffer.from(seg, 'utf8')));
  return Buffer.concat(parts).toString('utf8');
}

/** Sets xattrs without following a final symlink. */
export async function setXattrs(ops: readonly XattrOp[]): Promise<void> {
  if (ops.length === 0) return;
  const byPath = new Map<string, XattrOp[]>();
  for (const o of ops) {
    const l = byPath.get(o.path) ?? [];
    l.push(o);
    byPath.set(o.path, l);
  }
  let dump = '';
  for (const [p, list] of byPath) {
    dump += `# file: ${escapePath(p)}\n`;
    for (const o of list) dump += `${o.name}=0s${o.value.toString('base64')}\n`;
    dump += '\n';
  }
  await run('/usr/bin/setfattr', ['-h', '--restore=-'], dump, 'setting extended attributes');
}

/** All xattrs below `dir` (recursive, not following symlinks): absolute path → name → value. */
export async function dumpXattrs(dir: string): Promise<Map<string, Map<string, Buffer>>> {
  const text = await run(
    '/usr/bin/getfattr',
    ['-R', '-h', '-d', '-m', '-', '-e', 'base64', '--absolute-names', dir],
    '',
    'reading extended attributes',
  ).catch((e: Error) => {
    if (/No such file/.test(e.message)) return '';
    throw e;
  });
  const out = new Map<string, Map<string, Buffer>>();
  let cur: Map<string, Buffer> | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# file: ')) {
      cur = new Map();
      out.set(unescapePath(line.slice(8)), cur);
    } else if (cur && line.includes('=')) {
      const eq = line.indexOf('=');
      const name = line.slice(0, eq);
      const v = line.slice(eq + 1);
      cur.set(
        name,
        v.startsWith('0s')
          ? Buffer.from(v.slice(2), 'base64')
          : v.startsWith('0x')
            ? Buffer.from(v.slice(2), 'hex')
            : Buffer.from(v.replace(/^"|"$/g, ''), 'utf8'),
      );
    }
  }
  return out;
}
