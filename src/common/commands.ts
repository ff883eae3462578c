// Short external commands of a daemon's hot paths (mount, umount, `ip -batch`, nsenter, a pod's
// pause process): their output is a few short lines at most. Node's child_process.spawn forks the
// whole Node process, whose page tables grow with its heap, and blocks the event loop meanwhile —
// profiled at 18 s of a 106 s pod start-up benchmark under load (bench/pods.ts). A daemon installs
// a cheaper starter once (`setCommandRunner`; the engine installs the runtime's skiff-spawn, a
// small native process that forks itself); without one, commands are spawned by Node.
// Commands whose output is long or one long line (`ip -j`, `nft -j`, iptables-save) do not use this.
import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export type CommandRunner = (file: string, args: string[], input?: string) => Promise<CommandResult>;

export function spawnCommand(file: string, args: string[], input?: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    p.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    p.stdin.on('error', () => undefined);
    p.stdin.end(input ?? '');
  });
}

let runner: CommandRunner = spawnCommand;

/** Installs the process's starter of short commands (undefined: Node's spawn again). */
export function setCommandRunner(r: CommandRunner | undefined): void {
  runner = r ?? spawnCommand;
}

/** Runs a short command (see above); `input` is written to its stdin. */
export function runCommand(file: string, args: string[], input?: string): Promise<CommandResult> {
  return runner(file, args, input);
}
