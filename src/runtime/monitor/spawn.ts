// Starts skiff-monitor for one container. The binary daemonizes; its invoking process exits 0 as
// soon as DIR/monitor.pid is written (or non-zero with a message on stderr), so awaiting that exit
// is all the synchronisation needed.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { internal, invalidArgument } from '../../common/index.js';
import { monitorBinary } from './binary.js';
import type { Spawner } from '../spawner.js';

export interface SpawnMonitorOptions {
  stateDir: string;
  containerPidFile: string;
  logFile?: string;
  logMaxSize?: number;
  logMaxFiles?: number;
  tty?: boolean;
  stdin?: boolean;
  oomFile?: string;
  cmd: string[];
  monitorPath?: string;
  /** Extra environment for CMD (inherits this process's environment otherwise). */
  env?: NodeJS.ProcessEnv;
}

export function monitorArgs(opts: SpawnMonitorOptions): string[] {
  const args = ['--state-dir', opts.stateDir, '--container-pid-file', opts.containerPidFile];
  if (opts.logFile) args.push('--log-file', opts.logFile);
  if (opts.logMaxSize !== undefined) args.push('--log-max-size', String(opts.logMaxSize));
  if (opts.logMaxFiles !== undefined) args.push('--log-max-files', String(opts.logMaxFiles));
  if (opts.tty) args.push('--tty');
  if (opts.stdin) args.push('--stdin');
  if (opts.oomFile) args.push('--oom-file', opts.oomFile);
  args.push('--', ...opts.cmd);
  return args;
}

function validate(opts: SpawnMonitorOptions): void {
  if (!opts.stateDir || !isAbsolute(opts.stateDir))
    throw invalidArgument('stateDir must be an absolute path', { field: 'stateDir' });
  if (!opts.containerPidFile || !isAbsolute(opts.containerPidFile))
    throw invalidArgument('containerPidFile must be an absolute path', { field: 'containerPidFile' });
  if (opts.logFile !== undefined && !isAbsolute(opts.logFile))
    throw invalidArgument('logFile must be an absolute path', { field: 'logFile' });
  if (!Array.isArray(opts.cmd) || opts.cmd.length === 0)
    throw invalidArgument('cmd must name a command', { field: 'cmd' });
  for (const [k, v] of [
    ['logMaxSize', opts.logMaxSize],
    ['logMaxFiles', opts.logMaxFiles],
  ] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0))
      throw invalidArgument(`${k} must be a non-negative integer`, { field: k });
  }
}

export async function spawnMonitor(opts: SpawnMonitorOptions, spawner?: Spawner): Promise<{ monitorPid: number }> {
  validate(opts);
  const bin = opts.monitorPath ?? monitorBinary();
  if (spawner && !opts.env) {
    // through skiff-spawn (see spawner.ts): no fork of this process
    let out = '';
    let err = '';
    const p = await spawner.spawn(
      [bin, ...monitorArgs(opts)],
      { 0: { kind: 'null' }, 1: { kind: 'relay' }, 2: { kind: 'relay' } },
      {
        onLine: (fd, line) => {
          if (fd === 1 && out.length < 64) out += `${line}\n`;
          else if (err.length < 4096) err += `${line}\n`;
        },
      },
    );
    const st = await p.status;
    const code = st & 0x7f ? 128 + (st & 0x7f) : (st >> 8) & 0xff;
    return monitorResult(opts, code, out, err);
  }
  const child = spawn(bin, monitorArgs(opts), { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    if (stdout.length < 64) stdout += d;
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', (e) => reject(internal(`cannot run ${bin}: ${e.message}`, { cause: e })));
    child.on('close', (c, sig) => resolve(c ?? (sig ? 128 : null)));
  });
  return monitorResult(opts, code, stdout, stderr);
}

async function monitorResult(
  opts: SpawnMonitorOptions,
  code: number | null,
  stdout: string,
  stderr: string,
): Promise<{ monitorPid: number }> {
  if (code !== 0) throw internal(`skiff-monitor failed (exit ${code}): ${stderr.trim() || 'no message'}`);
  // The invoker prints the daemon's pid (monitor.pid may be gone already when CMD failed at once).
  const pid = Number(stdout.trim() || (await readFile(join(opts.stateDir, 'monitor.pid'), 'utf8')).trim());
  if (!Number.isInteger(pid) || pid <= 0)
    throw internal(`skiff-monitor wrote an invalid monitor.pid in ${opts.stateDir}`);
  return { monitorPid: pid };
}
