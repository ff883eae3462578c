// `GET /containers/{id}/top`: the host's `ps` with the client's arguments over the container's
// processes, as dockerd runs it (moby's daemon/top_unix.go): `ps ARGS -qPID,…` (or `ps ARGS` when
// those arguments cannot take -q, e.g. `f`), then only the rows whose PID column is one of the
// container's processes. Default arguments `-ef`; PIDs are host PIDs, as dockerd shows them.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { conflict, invalidArgument, SkiffError } from '../../../common/index.js';
import type { Containers } from './service.js';

const run = promisify(execFile);

export interface TopResult {
  Processes: string[][];
  Titles: string[];
}

/** dockerd refuses renaming another column "PID" (it would confuse the PID filter). */
export function validatePsArgs(psArgs: string): void {
  for (const m of psArgs.matchAll(/\s+([^\s]*)=\s*(PID[^\s]*)/g))
    if (m[1] !== 'pid') throw invalidArgument(`specifying "${m[1]}=${m[2]}" is not allowed`, { field: 'ps_args' });
}

/** moby's parsePSOutput: the PID column selects the rows; surplus fields join the last column. */
export function parsePsOutput(out: string, pids: Set<number>): TopResult {
  const lines = out.split('\n');
  const Titles = (lines[0] ?? '').trim().split(/\s+/).filter(Boolean);
  const pidIndex = Titles.indexOf('PID');
  if (pidIndex < 0) throw new SkiffError('Internal', "Couldn't find PID field in ps output");
  const Processes: string[][] = [];
  for (const line of lines.slice(1)) {
    if (!line.trim()) continue;
    const fields = line.trim().split(/\s+/);
    const p = Number(fields[pidIndex]);
    if (!/^\d+$/.test(fields[pidIndex] ?? ''))
      throw new SkiffError('Internal', `Unexpected pid '${fields[pidIndex]}': invalid syntax`);
    if (!pids.has(p)) continue;
    Processes.push([...fields.slice(0, Titles.length - 1), fields.slice(Titles.length - 1).join(' ')]);
  }
  return { Processes, Titles }; // dockerd's field order
}

export async function topProcesses(s: Containers, id: string, psArgs?: string): Promise<TopResult> {
  const rec = s.get(id);
  if (!rec.State.Running) throw conflict(`Container ${rec.Id} is not running`, { field: 'id' });
  if (rec.State.Restarting) throw conflict(`Container ${rec.Id} is restarting, wait until the container is running`);
  const args = psArgs || '-ef';
  validatePsArgs(args);
  const pids = (await s.runtime.pids(s.rtId(rec.Id))).sort((a, b) => a - b);
  const argv = args.split(' ');
  let out: string;
  try {
    out = (await run('ps', [...argv, `-q${pids.join(',')}`], { maxBuffer: 64 << 20 })).stdout;
  } catch {
    try {
      out = (await run('ps', argv, { maxBuffer: 64 << 20 })).stdout;
    } catch (e) {
      const first = String((e as { stderr?: string }).stderr ?? '').split('\n')[0];
      throw new SkiffError('Internal', `ps: ${first || (e as Error).message}`);
    }
  }
  return parsePsOutput(out, new Set(pids));
}
