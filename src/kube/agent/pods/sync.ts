// One level-triggered sync of a running pod (kubelet's SyncPod): volumes set up (or refreshed),
// the actions computed from the desired pod and the runtime's state, then executed — kill what
// must go, prune dead instances, create the sandbox if needed, write /etc/hosts, start init
// containers and sidecars in order, then the containers and new ephemeral containers. What could
// not start is returned as waiting reasons for the pod status; `retryInMs` asks for the next sync
// when a back-off ends.
import { rmSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { traced } from '../../../common/index.js';
import type { AgentContext } from '../context.js';
import { podRef } from '../events.js';
import type { Pod } from '../types.js';
import type { MountedVolume } from '../volumes/manager.js';
import { MountError } from '../volumes/projection.js';
import { computePodActions, isSidecar } from './actions.js';
import { killContainer, killPod } from './kill.js';
import { BACKOFF_PERIOD_MS, jitter } from './pod-queue.js';
import type { RuntimePod } from './runtime-state.js';
import { dnsConfig, hostsFile, podLogDir, sandboxConfig } from './sandbox-config.js';
import { startContainer } from './start.js';
import { ephemeralToStart, startEphemeral } from './ephemeral.js';
import { podUsernsOptions } from './userns.js';
import type { WaitingReason } from './status.js';

export interface SyncOutcome {
  waiting: Map<string, WaitingReason>;
  retryInMs?: number;
  /** Something was created, started or killed: the runtime state changed. */
  changed: boolean;
}

const minRetry = (a: number | undefined, b: number | undefined) =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

/** Removes dead instances the pod no longer needs: all but the newest per container, older sandboxes. */
export async function pruneDead(ctx: AgentContext, rp: RuntimePod): Promise<void> {
  const seen = new Set<string>();
  for (const c of rp.containers) {
    const first = !seen.has(c.name);
    seen.add(c.name);
    if (first || c.state === 'running') continue;
    if (c.state === 'exited' && rp.containers.filter((x) => x.name === c.name && x.state === 'exited')[0] === c)
      continue;
    // pruning an old dead container: one already gone (or busy) is pruned at the next sync
    await ctx.runtime.removeContainer({ containerId: c.id }).catch(() => undefined);
    if (c.logPath) rmSync(c.logPath, { force: true });
  }
  for (const sb of rp.sandboxes.slice(1))
    if (!sb.ready && !rp.containers.some((c) => c.state === 'running')) {
      // pruning an old sandbox: one already gone (or busy) is pruned at the next sync
      await ctx.runtime.removePodSandbox({ podSandboxId: sb.id }).catch(() => undefined);
      ctx.sandboxes.remove(sb.id);
    }
}

// Asynchronous, as the pod directory's creation: under pod churn a file's creation waits on the
// file system's journal, and synchronously it blocked every pod's work meanwhile.
async function writeIfChanged(path: string, text: string): Promise<void> {
  try {
    if ((await readFile(path, 'utf8')) === text) return;
  } catch {
    /* new */
  }
  await writeFile(path, text, { mode: 0o644 });
}

export async function syncPod(ctx: AgentContext, pod: Pod, rp: RuntimePod): Promise<SyncOutcome> {
  const out: SyncOutcome = { waiting: new Map(), changed: false };
  const uid = pod.metadata.uid;
  const podDir = ctx.volumes.podDir(uid);
  const logDir = podLogDir(ctx.sandbox.podLogsDir, pod);
  await mkdir(podDir, { recursive: true, mode: 0o750 });
  ctx.objects.register(pod);
  let volumes: Map<string, MountedVolume>;
  try {
    volumes = await traced(uid, 'sync.volumes', () =>
      ctx.volumes.setUp({
        pod,
        objects: ctx.objects,
        tokens: ctx.tokens,
        hostIPs: ctx.node.hostIPs,
        podIPs: rp.sandboxes[0]?.ips ?? [],
        allocatable: ctx.node.allocatable,
      }),
    );
  } catch (e) {
    if (!(e instanceof MountError)) throw e;
    ctx.events.event(podRef(pod), 'Warning', 'FailedMount', e.message);
    out.retryInMs = 2000;
    return out;
  }
  const a = computePodActions(pod, rp, {
    livenessFailed: (u, id) => ctx.probes.livenessFailed(u, id),
    startupFailed: (u, id) => ctx.probes.startupFailed(u, id),
    started: (u, id, c) => ctx.probes.started(u, id, c),
  });
  if (a.killPod) {
    if (a.createSandbox && a.attempt > 0)
      ctx.events.event(
        podRef(pod),
        'Normal',
        'SandboxChanged',
        'Pod sandbox changed, it will be killed and re-created.',
      );
    if (
      rp.containers.some((c) => c.state === 'running' || c.state === 'created') ||
      rp.sandboxes.some((s) => s.ready)
    ) {
      await killPod(ctx, pod, rp);
      out.changed = true;
    }
    if (!a.createSandbox) return out;
  } else
    for (const k of a.toKill) {
      const rc = rp.containers.find((c) => c.id === k.id);
      if (!rc) continue;
      await killContainer(ctx, pod, rc, { message: k.message, grace: k.gracePeriod, ip: rp.sandboxes[0]?.ips[0] });
      out.changed = true;
    }
  await pruneDead(ctx, rp);
  let sandboxId = a.sandboxId;
  let podIPs = rp.sandboxes[0]?.ips ?? [];
  const sbConfig = sandboxConfig(pod, a.attempt, ctx.sandbox);
  const ns = sbConfig.linux?.securityContext?.namespaceOptions;
  if (pod.spec.hostUsers === false && ns) ns.usernsOptions = podUsernsOptions(ctx.volumes, uid);
  if (a.createSandbox) {
    if (dnsConfig(pod, ctx.sandbox).fallback)
      ctx.events.event(
        podRef(pod),
        'Warning',
        'MissingClusterDNS',
        `pod: "${pod.metadata.name}_${pod.metadata.namespace}(${uid})". kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`,
      );
    await mkdir(logDir, { recursive: true, mode: 0o755 });
    try {
      sandboxId = (await traced(uid, 'cri.RunPodSandbox', () => ctx.runtime.runPodSandbox({ config: sbConfig })))
        .podSandboxId;
      ctx.sandboxes.add(uid, sandboxId);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      ctx.events.event(podRef(pod), 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${msg}`);
      // As upstream's pod workers after a failed sync: backOffPeriod (10 s) × [1, 1.5), so a node
      // whose runtime fails every sandbox (an exhausted pod CIDR) is not hammered in lockstep.
      out.retryInMs = jitter(BACKOFF_PERIOD_MS);
      for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers])
        out.waiting.set(c.name, { reason: 'ContainerCreating', message: '' });
      return out;
    }
    out.changed = true;
    const st = (
      await traced(uid, 'cri.PodSandboxStatus', () => ctx.runtime.podSandboxStatus({ podSandboxId: sandboxId }))
    ).status;
    podIPs = st?.network?.ip ? [st.network.ip, ...st.network.additionalIps.map((x) => x.ip)] : [];
  }
  await writeIfChanged(
    join(podDir, 'etc-hosts'),
    hostsFile(pod, pod.spec.hostNetwork ? ctx.node.hostIPs : podIPs, ctx.sandbox.clusterDomain),
  );
  const inputs = { sandboxId, sandboxConfig: sbConfig, podIPs, volumes, podLogDir: logDir };
  for (const c of a.initToStart) {
    const r = await startContainer(ctx, pod, c, rp, { ...inputs, type: isSidecar(c) ? 'sidecar' : 'init' });
    out.changed ||= !r.waiting;
    if (r.waiting) out.waiting.set(c.name, r.waiting);
    out.retryInMs = minRetry(out.retryInMs, r.retryInMs);
    // A regular init container runs alone; a sidecar that failed to start blocks the ones after it.
    if (!isSidecar(c) || r.waiting) break;
  }
  for (const c of a.toStart) {
    const r = await startContainer(ctx, pod, c, rp, { ...inputs, type: 'regular' });
    out.changed ||= !r.waiting;
    if (r.waiting) out.waiting.set(c.name, r.waiting);
    out.retryInMs = minRetry(out.retryInMs, r.retryInMs);
  }
  // Ephemeral containers once each, in the sandbox that runs (not one being replaced).
  for (const c of a.killPod ? [] : ephemeralToStart(pod, rp)) {
    const r = await startEphemeral(ctx, pod, c, rp, inputs);
    out.changed ||= !r.waiting;
    if (r.waiting) out.waiting.set(c.name, r.waiting);
    out.retryInMs = minRetry(out.retryInMs, r.retryInMs);
  }
  return out;
}
