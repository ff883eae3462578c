// The API's operations on an existing container: kill, stop, restart, wait, remove, rename, pause
// and unpause (moby's errors and events for each). Functions over the Containers service
// (service.ts); the runtime side of starting and stopping is lifecycle.ts.
import { conflict, invalidArgument, SkiffError, sleep, unavailable } from '../../../common/index.js';
import { parseSignal } from '../../../runtime/index.js';
import { validateName } from './create.js';
import { removeLocked, startLocked, stopRunning } from './lifecycle.js';
import type { Containers, WaitResult } from './service.js';

export interface StopOptions {
  timeout?: number;
  signal?: string;
}

/** A signal of a kill or stop request, refused in dockerd's words (moby's signal.ParseSignal, then
 *  its check that Linux has the number). */
function requestSignal(raw: string, ref: string): number {
  const bad = (message: string): never => {
    throw invalidArgument(message, { field: 'signal' });
  };
  if (/^\d+$/.test(raw)) {
    const n = Number(raw);
    if (n === 0) bad(`Invalid signal: ${raw}`);
    if (n > 64) bad(`Cannot kill container: ${ref}: The linux daemon does not support signal ${n}`);
    return n;
  }
  try {
    return parseSignal(raw);
  } catch {
    return bad(`Invalid signal: ${raw}`);
  }
}

// ---- stop / kill / restart ----
export async function killContainer(svc: Containers, ref: string, signal = 'SIGKILL'): Promise<void> {
  const c = svc.live(ref);
  const sig = requestSignal(signal, ref);
  if (!c.rec.State.Running)
    throw conflict(`Cannot kill container: ${ref}: Container ${c.rec.Id} is not running`, { field: 'id' });
  if (sig === 9 || sig === 15) c.stopping = false;
  await svc.runtime.kill(svc.rtId(c.rec.Id), sig);
  svc.emit(c, 'kill', { signal: String(sig) });
}

export async function stopContainer(svc: Containers, ref: string, opts: StopOptions = {}): Promise<void> {
  const c = svc.live(ref);
  if (opts.signal) requestSignal(opts.signal, ref);
  if (c.restartTimer) {
    clearTimeout(c.restartTimer);
    c.restartTimer = undefined;
    c.rec.State = { ...c.rec.State, Restarting: false, Status: 'exited' };
    c.rec.ManuallyStopped = true;
    svc.save(c);
    return;
  }
  if (!c.rec.State.Running)
    throw new SkiffError('FailedPrecondition', `container ${c.rec.Id} is already stopped`, { reason: 'NotModified' });
  c.rec.ManuallyStopped = true;
  svc.save(c);
  await stopRunning(svc, c, opts);
}

export async function restartContainer(svc: Containers, ref: string, opts: StopOptions = {}): Promise<void> {
  const c = svc.live(ref);
  if (c.rec.State.Running) {
    c.stopping = true;
    await stopRunning(svc, c, opts);
  }
  c.rec.ManuallyStopped = false;
  await svc.locked(c, async () => {
    if (!c.rec.State.Running) await startLocked(svc, c);
  });
  svc.emit(c, 'restart');
}

// ---- wait ----
/** Resolves when the condition holds: not-running (default), next-exit, removed. */
export function waitContainer(
  svc: Containers,
  ref: string,
  condition = 'not-running',
  signal?: AbortSignal,
): Promise<WaitResult> {
  const c = svc.live(ref);
  if (!['not-running', 'next-exit', 'removed', ''].includes(condition))
    throw invalidArgument(`invalid condition: "${condition}"`, { field: 'condition' });
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(unavailable('aborted: the client went away'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (r: WaitResult) => {
      signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    if (condition === 'removed') {
      c.removedWaiters.push(done);
      return;
    }
    if ((condition === 'not-running' || condition === '') && !c.rec.State.Running && !c.rec.State.Restarting) {
      done({ StatusCode: c.rec.State.ExitCode, Error: null });
      return;
    }
    c.exitWaiters.push(done);
  });
}

// ---- remove ----
export async function removeContainer(
  svc: Containers,
  ref: string,
  opts: { force?: boolean; volumes?: boolean } = {},
): Promise<void> {
  const c = svc.live(ref);
  // moby's words per state (daemon/delete.go): a container waiting to be restarted counts as running.
  if ((c.rec.State.Running || c.rec.State.Restarting) && !opts.force) {
    throw conflict(
      c.rec.State.Paused
        ? `cannot remove container "${c.rec.Name}": container is paused and must be unpaused first`
        : `cannot remove container "${c.rec.Name}": container is ${c.rec.State.Restarting ? 'restarting' : 'running'}: stop the container before removing or force remove`,
      { field: 'force' },
    );
  }
  if (c.restartTimer) {
    clearTimeout(c.restartTimer);
    c.restartTimer = undefined;
  }
  if (c.rec.State.Running) {
    c.rec.ManuallyStopped = true;
    c.stopping = true;
    await svc.runtime.kill(svc.rtId(c.rec.Id), 'SIGKILL', { all: true }).catch(() => undefined); // force: the process may be gone already
    // (the second kill reaches the init of a container sharing a pid namespace)
    await svc.runtime.kill(svc.rtId(c.rec.Id), 'SIGKILL').catch(() => undefined);
    await Promise.race([svc.wait(ref, 'not-running'), sleep(10_000)]);
  }
  await svc.locked(c, () => removeLocked(svc, c, opts));
}

// ---- rename / pause ----
export async function renameContainer(svc: Containers, ref: string, newName: string): Promise<void> {
  const c = svc.live(ref);
  if (!newName) throw invalidArgument('name: Neither old nor new names may be empty', { field: 'name' });
  const n = validateName(newName).slice(1);
  const old = c.rec.Name.slice(1);
  if (n === old) throw conflict(`Renaming a container with the same name as its current name`, { field: 'name' });
  if (svc.names.has(n))
    throw conflict(
      `Error when allocating new name: Conflict. The container name "/${n}" is already in use by container "${svc.names.get(n)}". You have to remove (or rename) that container to be able to reuse that name.`,
      { field: 'name' },
    );
  svc.names.delete(old);
  svc.names.set(n, c.rec.Id);
  c.rec.Name = `/${n}`;
  svc.save(c);
  svc.emit(c, 'rename', { oldName: `/${old}` });
}

export async function pauseContainer(svc: Containers, ref: string): Promise<void> {
  const c = svc.live(ref);
  if (!c.rec.State.Running) throw conflict(`Container ${c.rec.Id} is not running`, { field: 'id' });
  if (c.rec.State.Paused) throw conflict(`Container ${c.rec.Id} is already paused`, { field: 'id' });
  await svc.runtime.pause(svc.rtId(c.rec.Id));
  c.rec.State = { ...c.rec.State, Paused: true, Status: 'paused' };
  svc.save(c);
  svc.emit(c, 'pause');
}

export async function unpauseContainer(svc: Containers, ref: string): Promise<void> {
  const c = svc.live(ref);
  if (!c.rec.State.Paused) throw conflict(`Container ${c.rec.Id} is not paused`, { field: 'id' });
  await svc.runtime.resume(svc.rtId(c.rec.Id));
  c.rec.State = { ...c.rec.State, Paused: false, Status: 'running' };
  svc.save(c);
  svc.emit(c, 'unpause');
}
