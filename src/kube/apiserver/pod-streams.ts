// pods/log, pods/exec, pods/attach and pods/portforward as the API server answers them before a
// node is involved: the pod must exist, the container must be one of its own, and the pod must be
// on a node that an agent serves. No node agent exists yet, so a pod that was never scheduled gets
// upstream's answers (empty logs; "does not have a host assigned" for the streams) and a pod bound
// to a node by hand is told that no agent serves that node — never a misleading 404.
import type { VirtualHandler } from './virtual.js';
import type { RequestScope } from './context.js';
import { readObject } from './rest.js';
import { errBadRequest, errNotFound, ApiError } from './status.js';

interface PodSpec {
  nodeName?: string;
  containers?: { name: string }[];
  initContainers?: { name: string }[];
  ephemeralContainers?: { name: string }[];
}

async function podOf(r: RequestScope): Promise<{ name: string; spec: PodSpec }> {
  const name = r.info.name!;
  const got = await readObject(r.ctx, r.def, r.info.namespace, name);
  if (!got) throw errNotFound({ resource: 'pods', name });
  return { name, spec: (got.obj.spec ?? {}) as PodSpec };
}

function checkContainer(r: RequestScope, pod: { name: string; spec: PodSpec }): void {
  const names = (pod.spec.containers ?? []).map((c) => c.name);
  const all = [
    ...names,
    ...(pod.spec.initContainers ?? []).map((c) => c.name),
    ...(pod.spec.ephemeralContainers ?? []).map((c) => c.name),
  ];
  const wanted = r.query.get('container');
  if (wanted) {
    if (!all.includes(wanted)) throw errBadRequest(`container ${wanted} is not valid for pod ${pod.name}`);
  } else if (names.length > 1) {
    throw errBadRequest(`a container name must be specified for pod ${pod.name}, choose one of: [${all.join(' ')}]`);
  }
}

function noAgent(nodeName: string): ApiError {
  return new ApiError(
    503,
    'ServiceUnavailable',
    `no node agent serves node "${nodeName}" (this Skiff server runs without agents)`,
  );
}

const stream =
  (portForward: boolean): VirtualHandler =>
  async (r) => {
    const pod = await podOf(r);
    if (!portForward) checkContainer(r, pod);
    if (!pod.spec.nodeName) throw errBadRequest(`pod ${pod.name} does not have a host assigned`);
    throw noAgent(pod.spec.nodeName);
  };

export function podStreamHandlers(): Record<string, VirtualHandler> {
  return {
    '/pods/log': async (r) => {
      if (r.info.verb !== 'get') throw errNotFound({ resource: 'pods/log', name: r.info.name });
      const pod = await podOf(r);
      checkContainer(r, pod);
      if (!pod.spec.nodeName) return { code: 200, body: '', raw: true }; // no host yet: empty, as upstream
      throw noAgent(pod.spec.nodeName);
    },
    '/pods/exec': stream(false),
    '/pods/attach': stream(false),
    '/pods/portforward': stream(true),
  };
}
