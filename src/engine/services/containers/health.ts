// Healthchecks: runs Config.Healthcheck.Test in the container on schedule (StartPeriod with
// StartInterval, then Interval), with Timeout and Retries as dockerd does; keeps State.Health
// {Status, FailingStreak, Log (last 5)} and emits `health_status: healthy|unhealthy` events.
// Skiff addition: label `skiff.restart-on-unhealthy=true` restarts a container that turns unhealthy.
import { openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, logFailure, randomSuffix } from '../../../common/index.js';
import type { Containers, Live } from './service.js';

const log = createLogger({ component: 'engine.health' });

export const RESTART_ON_UNHEALTHY = 'skiff.restart-on-unhealthy';
const NS = 1e6; // ns per ms
const MAX_OUTPUT = 4096;

function probeArgs(test: string[] | undefined): string[] | undefined {
  if (!test?.length || test[0] === 'NONE') return undefined;
  if (test[0] === 'CMD') return test.slice(1);
  if (test[0] === 'CMD-SHELL') return ['/bin/sh', '-c', test.slice(1).join(' ')];
  return test;
}

async function runProbe(
  svc: Containers,
  c: Live,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number; output: string }> {
  const rtid = svc.rtId(c.rec.Id);
  const spec = svc.runtime.spec(rtid).process!;
  const outFile = join(c.dir, `health-${randomSuffix()}.out`);
  const fd = openSync(outFile, 'w');
  let pid = 0;
  const timer = setTimeout(() => {
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }, timeoutMs);
  try {
    const proc = {
      terminal: false,
      user: spec.user,
      args,
      env: spec.env,
      cwd: spec.cwd,
      capabilities: spec.capabilities,
      noNewPrivileges: spec.noNewPrivileges,
      rlimits: spec.rlimits,
    };
    const started = Date.now();
    const r = await svc.runtime.exec(rtid, proc, {
      stdio: ['ignore', fd, fd],
      onStart: (p) => {
        pid = p;
      },
    });
    const timedOut = Date.now() - started >= timeoutMs;
    let output = '';
    try {
      output = readFileSync(outFile, 'utf8').slice(0, MAX_OUTPUT);
    } catch {
      /* none */
    }
    if (timedOut) return { code: -1, output: `Health check exceeded timeout (${timeoutMs / 1000}s)` };
    return { code: r.exitCode ?? 1, output };
  } catch (e) {
    return { code: -1, output: (e as Error).message };
  } finally {
    clearTimeout(timer);
    closeSync(fd);
    rmSync(outFile, { force: true });
  }
}

export function startHealth(svc: Containers, c: Live): { stop(): void } | undefined {
  const hc = c.rec.Config.Healthcheck;
  const args = probeArgs(hc?.Test ?? undefined);
  if (!hc || !args || !c.rec.State.Running) return undefined;
  const interval = (hc.Interval || 30_000 * NS) / NS;
  const timeout = (hc.Timeout || 30_000 * NS) / NS;
  const startPeriod = (hc.StartPeriod || 0) / NS;
  const startInterval = (hc.StartInterval || 5_000 * NS) / NS;
  const retries = hc.Retries || 3;
  const startedAt = Date.now();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  if (!c.rec.State.Health) c.rec.State.Health = { Status: 'starting', FailingStreak: 0, Log: [] };

  const schedule = () => {
    if (stopped) return;
    const inStart = Date.now() - startedAt < startPeriod;
    timer = setTimeout(tick, inStart && hc.StartInterval ? startInterval : interval);
    timer.unref?.();
  };
  const tick = async () => {
    if (stopped || !c.rec.State.Running || c.rec.State.Paused) {
      schedule();
      return;
    }
    const start = new Date();
    const r = await runProbe(svc, c, args, timeout);
    if (stopped || !c.rec.State.Running) return;
    const h = c.rec.State.Health ?? { Status: 'starting', FailingStreak: 0, Log: [] };
    h.Log = [
      ...h.Log,
      { Start: start.toISOString(), End: new Date().toISOString(), ExitCode: r.code, Output: r.output },
    ].slice(-5);
    const before = h.Status;
    if (r.code === 0) {
      h.FailingStreak = 0;
      h.Status = 'healthy';
    } else if (Date.now() - startedAt >= startPeriod || h.Status !== 'starting') {
      h.FailingStreak++;
      if (h.FailingStreak >= retries) h.Status = 'unhealthy';
    }
    c.rec.State.Health = h;
    svc.save(c);
    if (h.Status !== before && h.Status !== 'starting') {
      svc.ctx.events.emit({
        Type: 'container',
        Action: `health_status: ${h.Status}`,
        id: c.rec.Id,
        attributes: { ...c.rec.Config.Labels, image: c.rec.ImageName, name: c.rec.Name.slice(1) },
      });
      if (h.Status === 'unhealthy' && c.rec.Config.Labels?.[RESTART_ON_UNHEALTHY] === 'true') {
        stopped = true;
        void svc.restart(c.rec.Id).catch(logFailure(log, 'restart of an unhealthy container failed', { id: c.rec.Id }));
        return;
      }
    }
    schedule();
  };
  schedule();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
