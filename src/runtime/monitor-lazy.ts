// The monitor's exit-file helpers validate with zod, whose bundle is ~750 KB: loaded on first use
// only, so that runtime CLI calls that never touch a monitor (state, start, kill, delete of a
// plain container — containerd's shim makes several per container) start fast.
import type { ExitStatus } from './monitor/exit-file.js';

const load = () => import('./monitor/exit-file.js');

export type { ExitStatus };
export async function readExitFile(stateDir: string): Promise<ExitStatus | undefined> { return (await load()).readExitFile(stateDir); }
export async function monitorPid(stateDir: string): Promise<number | undefined> { return (await load()).monitorPid(stateDir); }
export async function isMonitorAlive(stateDir: string): Promise<boolean> { return (await load()).isMonitorAlive(stateDir); }
export async function waitExit(stateDir: string, signal?: AbortSignal, pollMs?: number): Promise<ExitStatus> { return (await load()).waitExit(stateDir, signal, pollMs); }
export async function exitStatusSchema() { return (await load()).ExitStatusSchema; }

type AttachModule = typeof import('./monitor/attach.js');
export type { AttachSession, AttachOptions } from './monitor/attach.js';
/** The monitor's attach client (see monitor/attach.ts), loaded on first use. */
export async function attach(...args: Parameters<AttachModule['attach']>): Promise<Awaited<ReturnType<AttachModule['attach']>>> {
  return (await import('./monitor/attach.js')).attach(...args);
}
/** Encodes one attach frame (see monitor/attach.ts). */
export async function loadFrame(): Promise<AttachModule['frame']> {
  return (await import('./monitor/attach.js')).frame;
}
