// Stopping containers and pods (kubelet's killContainer / killPodWithSyncResult): the grace period
// comes from the deletion, the pod spec, a probe's own setting or, for a pod the agent no longer
// knows, the container's annotations (at least 2 s); the preStop hook runs first and its time
// counts against the grace period; regular containers stop before sidecars, then the sandbox.
import type { AgentContext } from '../context.js';
import { podRef } from '../events.js';
import type { Pod } from '../types.js';
import { runHandler } from './hooks.js';
import type { RuntimeContainer, RuntimePod } from './runtime-state.js';

const MIN_GRACE = 2;

export function gracePeriod(pod: Pod | undefined, rc: RuntimeContainer, override?: number): number {
  let g: number;
  if (override !== undefined) g = override;
  else if (pod?.metadata.deletionGracePeriodSeconds !== undefined) g = pod.metadata.deletionGracePeriodSeconds;
  else if (pod) g = pod.spec.terminationGracePeriodSeconds ?? 30;
  else g = rc.terminationGracePeriod ?? 30;
  return Math.max(g, MIN_GRACE);
}

export async function killContainer(
  ctx: AgentContext,
  pod: Pod | undefined,
  rc: RuntimeContainer,
  opts: { message?: string; grace?: number; ip?: string } = {},
): Promise<void> {
  if (rc.state === 'exited') return;
  const spec = pod
    ? [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].find((c) => c.name === rc.name)
    : undefined;
  let grace = gracePeriod(pod, rc, opts.grace);
  if (pod) ctx.events.event(podRef(pod, rc.name), 'Normal', 'Killing', opts.message ?? `Stopping container ${rc.name}`);
  const preStop = spec?.lifecycle?.preStop ?? rc.preStop;
  if (preStop && rc.state === 'running') {
    const t0 = Date.now();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      runHandler(ctx.runtime, rc.id, spec, preStop, opts.ip ?? '', grace * 1000).catch(() => {
        if (pod) ctx.events.event(podRef(pod, rc.name), 'Warning', 'FailedPreStopHook', 'PreStopHook failed');
      }),
      new Promise((r) => {
        timer = setTimeout(r, grace * 1000);
      }),
    ]);
    clearTimeout(timer);
    grace = Math.max(grace - Math.floor((Date.now() - t0) / 1000), MIN_GRACE);
  }
  await ctx.runtime.stopContainer({ containerId: rc.id, timeout: grace });
}

/** Stops every container of the pod (regular ones, then sidecars in reverse order) and its sandboxes. */
export async function killPod(
  ctx: AgentContext,
  pod: Pod | undefined,
  rp: RuntimePod,
  opts: { grace?: number } = {},
): Promise<void> {
  const live = rp.containers.filter((c) => c.state === 'running' || c.state === 'created');
  const ip = rp.sandboxes[0]?.ips[0];
  const regular = live.filter((c) => c.type !== 'sidecar' && c.type !== 'init');
  const rest = live.filter((c) => c.type === 'sidecar' || c.type === 'init').reverse();
  await Promise.all(regular.map((c) => killContainer(ctx, pod, c, { grace: opts.grace, ip })));
  for (const c of rest) await killContainer(ctx, pod, c, { grace: opts.grace, ip });
  for (const sb of rp.sandboxes) if (sb.ready) await ctx.runtime.stopPodSandbox({ podSandboxId: sb.id });
}

/** Whether anything of the pod still runs (a container, or a ready sandbox). */
export function podRunning(rp: RuntimePod): boolean {
  return rp.containers.some((c) => c.state === 'running') || rp.sandboxes.some((s) => s.ready);
}
