// runc's `ps`: the host's `ps` lines of a container's processes.
import { execFileSync } from 'node:child_process';
import { invalidArgument } from '../common/index.js';
import type { Runtime } from './runtime.js';

/** runc's `ps` table: the host's `ps -ef` lines of the container's processes. */
export async function psTable(rt: Runtime, id: string, psArgs: string[] = ['-ef']): Promise<string> {
  const want = new Set(await rt.pids(id));
  const out = execFileSync('ps', psArgs, { encoding: 'utf8' }).split('\n');
  const header = out[0] ?? '';
  const pidCol = header.trim().split(/\s+/).indexOf('PID');
  if (pidCol < 0) throw invalidArgument('ps output has no PID column', { field: 'ps-args' });
  return (
    [header, ...out.slice(1).filter((l) => l && want.has(Number(l.trim().split(/\s+/)[pidCol])))].join('\n') + '\n'
  );
}
