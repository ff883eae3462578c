// Starting one container (kubelet's startContainer): crash-loop back-off, image, config, create,
// start, postStart hook — each failure becomes the container's waiting reason with upstream's
// event (BackOff, Failed "Error: …", FailedPostStartHook) and the next sync tries again.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { traced, traceMark, traceNow } from '../../../common/index.js';
import type * as cri from '../../../cri/index.js';
import type { AgentContext } from '../context.js';
import { podRef } from '../events.js';
import { containerHash, type ContainerType } from '../labels.js';
import type { Container, Pod, Secret } from '../types.js';
import type { MountedVolume } from '../volumes/manager.js';
import { goDuration } from './backoff.js';
import { containerConfig } from './container-config.js';
import { ConfigError } from './env.js';
import { runHandler } from './hooks.js';
import { ImageError } from './images.js';
import { killContainer } from './kill.js';
import { latest, toRuntimeContainer, type RuntimePod } from './runtime-state.js';
import type { WaitingReason } from './status.js';

export interface StartResult {
  waiting?: WaitingReason;
  /** Sync again after this many ms (a back-off ends). */
  retryInMs?: number;
}

export interface StartInputs {
  sandboxId: string;
  sandboxConfig: cri.PodSandboxConfigInput;
  podIPs: string[];
  volumes: Map<string, MountedVolume>;
  podLogDir: string;
  type: ContainerType;
  /** An ephemeral container's target: the runtime id of the container whose PID namespace it joins. */
  targetId?: string;
}

const stableKey = (pod: Pod, c: Container) => `${pod.metadata.uid}_${c.name}_${containerHash(c)}`;

/** kubelet's calcRestartCountByLogDir: after a runtime lost its state, continue from the logs. */
function restartCountFromLogs(dir: string): number {
  let n = 0;
  try {
    for (const f of readdirSync(dir)) {
      const m = /^(\d+)\.log/.exec(f);
      if (m) n = Math.max(n, Number(m[1]) + 1);
    }
  } catch {
    /* no logs */
  }
  return n;
}

async function pullSecrets(ctx: AgentContext, pod: Pod): Promise<Secret[]> {
  const out: Secret[] = [];
  const missing: string[] = [];
  for (const s of pod.spec.imagePullSecrets ?? []) {
    const got = s.name ? await ctx.objects.secret(pod.metadata.namespace, s.name) : undefined;
    if (got) out.push(got);
    else if (s.name) missing.push(s.name);
  }
  if (missing.length)
    ctx.events.event(
      podRef(pod),
      'Warning',
      'FailedToRetrieveImagePullSecret',
      `Unable to retrieve some image pull secrets (${missing.join(', ')}); attempting to pull the image may not succeed.`,
    );
  return out;
}

export async function startContainer(
  ctx: AgentContext,
  pod: Pod,
  c: Container,
  rp: RuntimePod,
  inp: StartInputs,
): Promise<StartResult> {
  const ref = podRef(pod, c.name);
  const prev = latest(rp, c.name);
  const podDesc = `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
  if (prev && prev.state === 'exited') {
    const key = stableKey(pod, c);
    const left = ctx.crashBackoff.inBackoffSince(key, prev.finishedAt);
    if (left > 0) {
      ctx.events.event(ref, 'Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${podDesc}`);
      return {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off ${goDuration(ctx.crashBackoff.delay(key))} restarting failed container=${c.name} pod=${podDesc}`,
        },
        retryInMs: left,
      };
    }
    ctx.crashBackoff.next(key, prev.finishedAt);
  }
  let imageRef: string;
  try {
    imageRef = await traced(pod.metadata.uid, 'start.image', () =>
      ctx.images.ensure(pod, c, ref, () => pullSecrets(ctx, pod), inp.sandboxConfig),
    );
  } catch (e) {
    if (!(e instanceof ImageError)) throw e;
    ctx.events.event(ref, 'Warning', 'Failed', `Error: ${e.reason}`);
    return {
      waiting: { reason: e.reason, message: e.message },
      retryInMs: ctx.images.retryIn(pod, c.image ?? '') || 1000,
    };
  }
  const restartCount = prev ? prev.restartCount + 1 : restartCountFromLogs(join(inp.podLogDir, c.name));
  let config: cri.ContainerConfigInput;
  try {
    const img = (
      await traced(pod.metadata.uid, 'start.imageStatus', () => ctx.runtime.imageStatus({ image: { image: imageRef } }))
    ).image;
    const { local, master } = ctx.services(pod.metadata.namespace);
    const tc = traceNow();
    config = await containerConfig(pod, c, {
      env: {
        pod,
        objects: ctx.objects,
        services: local,
        masterService: master,
        hostIPs: ctx.node.hostIPs,
        podIPs: inp.podIPs,
        allocatable: ctx.node.allocatable,
      },
      podDir: ctx.volumes.podDir(pod.metadata.uid),
      podLogDir: inp.podLogDir,
      volumes: inp.volumes,
      restartCount,
      imageRef,
      imageUid: img?.uid ? img.uid.value : undefined,
      imageUser: img?.username ?? '',
      memoryCapacity: ctx.node.memoryCapacity,
      seccompRoot: ctx.sandbox.seccompRoot,
      type: inp.type,
    });
    const ns = config.linux?.securityContext?.namespaceOptions;
    if (inp.targetId && ns) {
      ns.pid = 'TARGET';
      ns.targetId = inp.targetId;
    }
    traceMark(pod.metadata.uid, 'start.config', tc);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    ctx.events.event(ref, 'Warning', 'Failed', `Error: ${e.message}`);
    return { waiting: { reason: 'CreateContainerConfigError', message: e.message }, retryInMs: 2000 };
  }
  let id = '';
  try {
    id = (
      await traced(pod.metadata.uid, 'cri.CreateContainer', () =>
        ctx.runtime.createContainer({ podSandboxId: inp.sandboxId, config, sandboxConfig: inp.sandboxConfig }),
      )
    ).containerId;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    ctx.events.event(ref, 'Warning', 'Failed', `Error: ${msg}`);
    return { waiting: { reason: 'CreateContainerError', message: msg }, retryInMs: 2000 };
  }
  ctx.events.event(ref, 'Normal', 'Created', `Created container: ${c.name}`);
  try {
    await traced(pod.metadata.uid, 'cri.StartContainer', () => ctx.runtime.startContainer({ containerId: id }));
  } catch (e) {
    const msg = (e instanceof Error ? e.message : String(e)).replaceAll(id, c.name);
    ctx.events.event(ref, 'Warning', 'Failed', `Error: ${msg}`);
    return { waiting: { reason: 'RunContainerError', message: msg } };
  }
  ctx.events.event(ref, 'Normal', 'Started', `Started container ${c.name}`);
  const post = c.lifecycle?.postStart;
  if (post) {
    try {
      await runHandler(ctx.runtime, id, c, post, inp.podIPs[0] ?? ctx.node.hostIPs[0] ?? '', 30_000);
    } catch (e) {
      ctx.events.event(ref, 'Warning', 'FailedPostStartHook', 'PostStartHook failed');
      const st = (await ctx.runtime.containerStatus({ containerId: id })).status;
      if (st) await killContainer(ctx, pod, toRuntimeContainer(st), { message: 'FailedPostStartHook' });
      return { waiting: { reason: 'PostStartHookError', message: e instanceof Error ? e.message : String(e) } };
    }
  }
  return {};
}
