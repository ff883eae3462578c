// The container lifecycle: creating → created → running ⇄ paused → stopped. Guards throw
// FailedPrecondition naming the container and its state.
import { failedPrecondition } from '../common/index.js';
import type { ContainerStatus } from '../oci/index.js';

export type { ContainerStatus };

const deny = (verb: string, id: string, s: ContainerStatus) =>
  failedPrecondition(`cannot ${verb} container ${id}: it is ${s}`, { reason: s });

export function canStart(id: string, s: ContainerStatus): void {
  if (s !== 'created') throw deny('start', id, s);
}
export function canPause(id: string, s: ContainerStatus): void {
  if (s !== 'running') throw deny('pause', id, s);
}
export function canResume(id: string, s: ContainerStatus): void {
  if (s !== 'paused') throw deny('resume', id, s);
}
export function canExec(id: string, s: ContainerStatus): void {
  if (s !== 'running') throw deny('exec into', id, s);
}
export function canKill(id: string, s: ContainerStatus): void {
  if (s !== 'created' && s !== 'running' && s !== 'paused') throw deny('kill', id, s);
}
/** Without force only stopped (or never started) containers are deleted. */
export function canDelete(id: string, s: ContainerStatus, force: boolean): void {
  if (!force && s !== 'stopped' && s !== 'created' && s !== 'creating')
    throw deny('delete', id, `${s} (use --force)` as ContainerStatus);
}
