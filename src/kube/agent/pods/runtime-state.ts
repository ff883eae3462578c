// What the runtime holds for one pod (kubelet's kubecontainer.PodStatus): its sandboxes and
// containers, newest first, read through ContainerRuntime by the pod-uid label. Exited
// containers carry their termination message, read from the file the agent mounted at the
// container's terminationMessagePath (or the tail of its log, FallbackToLogsOnError).
import { readFileSync, openSync, readSync, fstatSync, closeSync } from 'node:fs';
import { isSkiffError } from '../../../common/index.js';
import type { ContainerRuntime } from '../../../cri/index.js';
import type * as cri from '../../../cri/index.js';
import { annotatedInfo, CONTAINER_NAME, POD_UID, type ContainerType } from '../labels.js';
import { tailLines } from '../logs/read.js';

export type RuntimeContainerState = 'created' | 'running' | 'exited' | 'unknown';

export interface RuntimeContainer {
  id: string;
  name: string;
  state: RuntimeContainerState;
  /** Milliseconds since the epoch (0 when not set). */
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  reason: string;
  message: string;
  image: string;
  imageRef: string;
  hash: string;
  restartCount: number;
  type: ContainerType;
  logPath: string;
  mounts: { containerPath: string; hostPath: string; readonly: boolean }[];
  terminationGracePeriod?: number;
  preStop?: import('../types.js').LifecycleHandler;
}

export interface RuntimeSandbox {
  id: string;
  ready: boolean;
  createdAt: number;
  attempt: number;
  ips: string[];
  hostNetwork: boolean;
}

export interface RuntimePod {
  uid: string;
  sandboxes: RuntimeSandbox[];
  containers: RuntimeContainer[];
}

/** Termination messages are capped as upstream (4096 bytes; from logs 80 lines / 2048 bytes). */
const MAX_MESSAGE = 4096;
const LOG_MESSAGE_LINES = 80;
const LOG_MESSAGE_BYTES = 2048;

const ms = (ns: number | undefined) => (ns ? Math.floor(ns / 1e6) : 0);

function stateOf(s: cri.ContainerState): RuntimeContainerState {
  if (s === 'CONTAINER_CREATED') return 'created';
  if (s === 'CONTAINER_RUNNING') return 'running';
  if (s === 'CONTAINER_EXITED') return 'exited';
  return 'unknown';
}

function readHead(path: string, max: number): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = Math.min(fstatSync(fd).size, max);
    const buf = Buffer.alloc(size);
    readSync(fd, buf, 0, size, 0);
    return buf.toString('utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export function toRuntimeContainer(s: cri.ContainerStatus): RuntimeContainer {
  const a = annotatedInfo(s.annotations);
  const c: RuntimeContainer = {
    id: s.id,
    name: s.labels[CONTAINER_NAME] ?? s.metadata?.name ?? '',
    state: stateOf(s.state),
    createdAt: ms(s.createdAt),
    startedAt: s.state === 'CONTAINER_CREATED' ? 0 : ms(s.startedAt),
    finishedAt: s.state === 'CONTAINER_EXITED' ? ms(s.finishedAt) : 0,
    exitCode: s.state === 'CONTAINER_EXITED' ? s.exitCode : 0,
    reason: s.state === 'CONTAINER_EXITED' ? s.reason : '',
    message: s.state === 'CONTAINER_EXITED' ? s.message : '',
    image: s.image?.userSpecifiedImage || s.image?.image || '',
    imageRef: s.imageId || s.imageRef,
    hash: a.hash,
    restartCount: a.restartCount,
    type: a.type,
    logPath: s.logPath,
    mounts: s.mounts.map((m) => ({ containerPath: m.containerPath, hostPath: m.hostPath, readonly: m.readonly })),
    terminationGracePeriod: a.terminationGracePeriod,
    preStop: a.preStop,
  };
  if (c.state === 'exited') {
    const fallback = a.terminationMessagePolicy === 'FallbackToLogsOnError' && c.exitCode !== 0;
    let msg = '';
    let checkLogs = fallback;
    const m = a.terminationMessagePath ? c.mounts.find((x) => x.containerPath === a.terminationMessagePath) : undefined;
    if (m) {
      msg = readHead(m.hostPath, MAX_MESSAGE) ?? '';
      checkLogs = fallback && msg.length === 0;
    }
    if (checkLogs && c.logPath) {
      try {
        const lines = tailLines(readFileSync(c.logPath), LOG_MESSAGE_LINES);
        msg = lines.slice(-LOG_MESSAGE_BYTES);
      } catch {
        /* no log */
      }
    }
    if (msg) c.message = c.message ? `${c.message}: ${msg}` : msg;
  }
  return c;
}

/** The pod's sandboxes, by the given ids (PodSandboxStatus each), or listed by the pod-uid label. */
async function sandboxesOf(rt: ContainerRuntime, uid: string, ids?: string[]): Promise<cri.PodSandbox[]> {
  if (!ids) return (await rt.listPodSandbox({ filter: { labelSelector: { [POD_UID]: uid } } })).items;
  const out: cri.PodSandbox[] = [];
  for (const id of ids) {
    try {
      const st = (await rt.podSandboxStatus({ podSandboxId: id })).status;
      if (st)
        out.push({
          id: st.id,
          metadata: st.metadata,
          state: st.state,
          createdAt: st.createdAt,
          labels: st.labels,
          annotations: st.annotations,
          runtimeHandler: st.runtimeHandler,
        });
    } catch (e) {
      if (!isSkiffError(e, 'NotFound')) throw e;
    }
  }
  return out;
}

/** The runtime's view of one pod; containers that vanish between list and status are skipped.
 *  `sandboxIds` (from the agent's index) avoids listing every sandbox of the node. */
export async function getRuntimePod(rt: ContainerRuntime, uid: string, sandboxIds?: string[]): Promise<RuntimePod> {
  const [sbs, cs] = await Promise.all([
    sandboxesOf(rt, uid, sandboxIds),
    rt.listContainers({ filter: { labelSelector: { [POD_UID]: uid } } }),
  ]);
  const sandboxes: RuntimeSandbox[] = [];
  const sorted = [...sbs].sort((a, b) => b.createdAt - a.createdAt);
  for (const [i, sb] of sorted.entries()) {
    const base: RuntimeSandbox = {
      id: sb.id,
      ready: sb.state === 'SANDBOX_READY',
      createdAt: ms(sb.createdAt),
      attempt: sb.metadata?.attempt ?? 0,
      ips: [],
      hostNetwork: false,
    };
    // Only the newest sandbox's network matters.
    if (i === 0) {
      try {
        const st = (await rt.podSandboxStatus({ podSandboxId: sb.id })).status;
        if (st?.network?.ip) base.ips = [st.network.ip, ...st.network.additionalIps.map((x) => x.ip)];
        base.hostNetwork = st?.linux?.namespaces?.options?.network === 'NODE';
        base.ready = st?.state === 'SANDBOX_READY';
      } catch (e) {
        if (!isSkiffError(e, 'NotFound')) throw e;
        continue;
      }
    }
    sandboxes.push(base);
  }
  const containers: RuntimeContainer[] = [];
  await Promise.all(
    cs.containers.map(async (c) => {
      try {
        const st = (await rt.containerStatus({ containerId: c.id })).status;
        if (st) containers.push(toRuntimeContainer(st));
      } catch (e) {
        if (!isSkiffError(e, 'NotFound')) throw e;
      }
    }),
  );
  containers.sort((a, b) => b.createdAt - a.createdAt || b.restartCount - a.restartCount);
  return { uid, sandboxes, containers };
}

/** The newest instance of a container by name. */
export function latest(p: RuntimePod, name: string): RuntimeContainer | undefined {
  return p.containers.find((c) => c.name === name);
}
