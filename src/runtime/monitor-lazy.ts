// The monitor's helpers as the runtime's index exposes them. The exit-file helpers are plain
// (validation is src/oci's dependency-free checker); the attach client (net, streams) is loaded on
// first use, so runtime CLI calls that never attach start fast.
import { ExitStatusSchema } from './monitor/exit-file.js';

export { readExitFile, monitorPid, isMonitorAlive, waitExit, type ExitStatus } from './monitor/exit-file.js';
export async function exitStatusSchema() {
  return ExitStatusSchema;
}

type AttachModule = typeof import('./monitor/attach.js');
export type { AttachSession, AttachOptions } from './monitor/attach.js';
/** The monitor's attach client (see monitor/attach.ts), loaded on first use. */
export async function attach(
  ...args: Parameters<AttachModule['attach']>
): Promise<Awaited<ReturnType<AttachModule['attach']>>> {
  return (await import('./monitor/attach.js')).attach(...args);
}
/** Encodes one attach frame (see monitor/attach.ts). */
export async function loadFrame(): Promise<AttachModule['frame']> {
  return (await import('./monitor/attach.js')).frame;
}
