// Runs iproute2 / iptables tools. One spawn per batch: callers hand a whole `ip -batch -` or
// `iptables-restore` script on stdin rather than one process per rule.
import { internal, runCommand, spawnCommand, type CommandResult } from '../common/index.js';

export type RunResult = CommandResult;

/** Node's spawn: for commands whose output is long (`ip -j`, `nft -j`, iptables-save). */
export function run(cmd: string, args: string[], input?: string): Promise<RunResult> {
  return spawnCommand(cmd, args, input);
}

/** A command whose output is a few short lines (no `-j`): through the process's command runner
 *  (skiff-spawn in a daemon: no fork of Node; src/common/commands.ts). */
export function runShort(cmd: string, args: string[], input?: string): Promise<RunResult> {
  return runCommand(cmd, args, input ?? '');
}

/** runShort; a non-zero exit is an Internal error carrying the tool's message. */
export async function mustRunShort(cmd: string, args: string[], input?: string): Promise<string> {
  const r = await runShort(cmd, args, input);
  if (r.code !== 0) throw internal(`${cmd} ${args.join(' ')} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  return r.stdout;
}

/** Like run, but a non-zero exit is an Internal error carrying the tool's message. */
export async function mustRun(cmd: string, args: string[], input?: string): Promise<string> {
  const r = await run(cmd, args, input);
  if (r.code !== 0) throw internal(`${cmd} ${args.join(' ')} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  return r.stdout;
}
