// Runs iproute2 / iptables tools. One spawn per batch: callers hand a whole `ip -batch -` or
// `iptables-restore` script on stdin rather than one process per rule.
import { spawn } from 'node:child_process';
import { internal, runCommand } from '../common/index.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    p.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    p.stdin.on('error', () => undefined);
    p.stdin.end(input ?? '');
  });
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
