// Short commands through skiff-spawn (see src/common/commands.ts for why): a daemon installs this
// with setCommandRunner so mount, umount, `ip -batch` and the pods' pause processes are forked by
// a small native process instead of by Node. Output comes back as relayed lines (skiff-spawn
// relays lines of up to 2 KB), which is why only commands with short output use it.
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { CommandResult, CommandRunner } from '../common/index.js';
import { nativeBinary } from './native.js';
import { Spawner } from './spawner.js';

const paths = new Map<string, string>();

function which(file: string): string {
  if (isAbsolute(file)) return file;
  const hit = paths.get(file);
  if (hit) return hit;
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    const p = join(dir, file);
    try {
      accessSync(p, constants.X_OK);
      paths.set(file, p);
      return p;
    } catch {
      /* next */
    }
  }
  return file; // skiff-spawn's exec fails with ENOENT, as spawn's would
}

/** A CommandRunner on a skiff-spawn of its own; undefined when skiff-spawn is not built. */
export function spawnerCommandRunner(): CommandRunner | undefined {
  let spawner: Spawner;
  try {
    spawner = new Spawner(nativeBinary('skiff-spawn'));
  } catch {
    return undefined;
  }
  return async (file: string, args: string[], input?: string): Promise<CommandResult> => {
    const out: string[] = [];
    const err: string[] = [];
    const s = await spawner.spawn(
      [which(file), ...args],
      { 0: input === undefined ? { kind: 'null' } : { kind: 'spec' }, 1: { kind: 'relay' }, 2: { kind: 'relay' } },
      { payload: input, onLine: (fd, line) => (fd === 1 ? out : err).push(line) },
    );
    const st = await s.status;
    const code = (st & 0x7f) === 0 ? (st >> 8) & 0xff : 128 + (st & 0x7f);
    const text = (l: string[]) => (l.length ? `${l.join('\n')}\n` : '');
    return { code, stdout: text(out), stderr: text(err) };
  };
}
