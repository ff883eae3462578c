// postStart and preStop handlers (kubelet's handler runner): exec in the container, HTTP GET
// against the pod (2xx/3xx is success), or sleep. tcpSocket is accepted by the API for
// compatibility but does nothing, as upstream. Errors say what the handler answered.
import type { ContainerRuntime } from '../../../cri/index.js';
import { execProbe, httpProbe, resolvePort } from '../probes/probers.js';
import type { Container, LifecycleHandler } from '../types.js';
import { sleep, failedPrecondition } from '../../../common/index.js';

export async function runHandler(
  rt: ContainerRuntime,
  containerId: string,
  c: Container | undefined,
  h: LifecycleHandler,
  podIP: string,
  timeoutMs: number,
): Promise<void> {
  if (h.exec) {
    const r = await execProbe(rt, containerId, h.exec.command ?? [], timeoutMs);
    if (!r.ok) throw failedPrecondition(r.output || 'exec hook failed');
    return;
  }
  if (h.httpGet) {
    const r = await httpProbe(
      h.httpGet,
      h.httpGet.host || podIP,
      resolvePort(h.httpGet.port, c),
      timeoutMs,
      'kube-lifecycle/1.32',
    );
    if (!r.ok) throw failedPrecondition(r.output);
    return;
  }
  if (h.sleep) {
    await sleep(Math.min(h.sleep!.seconds * 1000, timeoutMs));
    return;
  }
}
