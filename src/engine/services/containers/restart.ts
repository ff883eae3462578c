// Restart policies (no, always, unless-stopped, on-failure[:N]) and the back-off between restarts,
// as dockerd applies them after an exit.
import type { Containers, Live } from './service.js';
import { startLocked } from './lifecycle.js';

/** A container that ran this long before exiting restarts without back-off. */
export const RUNNING_RESET_MS = 10_000;

export function shouldRestart(c: Live, code: number): boolean {
  if (c.stopping || c.rec.ManuallyStopped) return false;
  const p = c.rec.HostConfig.RestartPolicy ?? {};
  switch (p.Name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return code !== 0 && (!p.MaximumRetryCount || c.rec.RestartCount < p.MaximumRetryCount);
    default:
      return false;
  }
}

/** Exponential back-off: 100 ms doubling to 1 min, reset after 10 s of running. */
export function scheduleRestart(svc: Containers, c: Live, why = 'policy'): void {
  const delay = c.restartDelay;
  c.restartDelay = Math.min(c.restartDelay * 2, 60_000);
  c.rec.State = { ...c.rec.State, Status: 'restarting', Restarting: true };
  svc.save(c);
  void why;
  c.restartTimer = setTimeout(() => {
    c.restartTimer = undefined;
    void svc.locked(c, async () => {
      if (c.removed || !c.rec.State.Restarting) return;
      c.rec.RestartCount++;
      try {
        await startLocked(svc, c);
      } catch {
        c.rec.State = { ...c.rec.State, Restarting: false, Status: 'exited' };
        svc.save(c);
        if (shouldRestart(c, 1)) scheduleRestart(svc, c);
      }
    });
  }, delay);
  c.restartTimer.unref?.();
}
