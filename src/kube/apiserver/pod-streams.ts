// pods/log, pods/exec, pods/attach and pods/portforward: checked here as upstream's API server
// does (the pod must exist, the container must be its own, the pod must be on a node), then
// proxied to the node's agent over HTTPS with the kubelet-client certificate. Logs stream back (a
// refusal by the agent becomes a Status with its code and message, as kubectl prints it); exec,
// attach and port-forward upgrades pass through untouched, so WebSocket (v5.channel.k8s.io, the
// port-forward tunnel) and SPDY are negotiated between kubectl and the runtime's streaming server.
import https from 'node:https';
import { isUpgrade, proxyUpgrade } from '../../common/index.js';
import type { HandlerResult, RequestScope } from './context.js';
import { lookupNode, type KubeletClientConfig } from './node-client.js';
import { readObject } from './rest.js';
import { ApiError, errBadRequest, errNotFound, type StatusReason } from './status.js';
import type { VirtualHandler } from './virtual.js';

interface PodSpec {
  nodeName?: string;
  containers?: { name: string }[];
  initContainers?: { name: string }[];
  ephemeralContainers?: { name: string }[];
}

const HANDLED: HandlerResult = { code: 0, body: undefined, handled: true };

async function podOf(r: RequestScope): Promise<{ name: string; spec: PodSpec }> {
  const name = r.info.name!;
  const got = await readObject(r.ctx, r.def, r.info.namespace, name);
  if (!got) throw errNotFound({ resource: 'pods', name });
  return { name, spec: (got.obj.spec ?? {}) as PodSpec };
}

/** The container the request is about (the only one when none is named). */
function checkContainer(r: RequestScope, pod: { name: string; spec: PodSpec }): string {
  const names = (pod.spec.containers ?? []).map((c) => c.name);
  const all = [
    ...names,
    ...(pod.spec.initContainers ?? []).map((c) => c.name),
    ...(pod.spec.ephemeralContainers ?? []).map((c) => c.name),
  ];
  const wanted = r.query.get('container');
  if (wanted) {
    if (!all.includes(wanted)) throw errBadRequest(`container ${wanted} is not valid for pod ${pod.name}`);
    return wanted;
  }
  if (names.length > 1)
    throw errBadRequest(`a container name must be specified for pod ${pod.name}, choose one of: [${all.join(' ')}]`);
  return names[0] ?? '';
}

const REASONS: Record<number, StatusReason> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

function streamLogs(r: RequestScope, url: URL, tls: KubeletClientConfig): Promise<HandlerResult> {
  return new Promise((resolve, reject) => {
    const up = https.get(url, { ca: tls.ca, cert: tls.cert, key: tls.key, agent: false }, (res) => {
      const code = res.statusCode ?? 502;
      if (code !== 200) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const msg = Buffer.concat(chunks).toString('utf8').slice(0, 4096).trim();
          reject(new ApiError(code, REASONS[code] ?? 'InternalError', msg || `node answered ${code}`));
        });
        return;
      }
      r.res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
      r.res.flushHeaders();
      res.pipe(r.res);
      const done = () => resolve(HANDLED);
      res.on('end', done);
      res.on('error', () => {
        r.res.destroy();
        done();
      });
      r.res.on('close', () => {
        res.destroy();
        done();
      });
    });
    up.on('error', (e) =>
      reject(
        new ApiError(503, 'ServiceUnavailable', `error dialing backend: ${e instanceof Error ? e.message : String(e)}`),
      ),
    );
  });
}

const LOG_PARAMS = ['follow', 'previous', 'sinceSeconds', 'sinceTime', 'tailLines', 'timestamps', 'limitBytes'];

export function podStreamHandlers(kubelet?: KubeletClientConfig): Record<string, VirtualHandler> {
  const stream =
    (kind: 'exec' | 'attach' | 'portForward'): VirtualHandler =>
    async (r) => {
      const pod = await podOf(r);
      const container = kind === 'portForward' ? '' : checkContainer(r, pod);
      if (!pod.spec.nodeName) throw errBadRequest(`pod ${pod.name} does not have a host assigned`);
      const ep = await lookupNode(r.ctx, pod.spec.nodeName, kubelet);
      const ns = encodeURIComponent(r.info.namespace ?? 'default');
      const path =
        kind === 'portForward'
          ? `/portForward/${ns}/${encodeURIComponent(pod.name)}`
          : `/${kind}/${ns}/${encodeURIComponent(pod.name)}/${encodeURIComponent(container)}`;
      const q = new URLSearchParams();
      for (const c of r.query.getAll('command')) q.append('command', c);
      const flag = (from: string, to: string) => {
        const v = r.query.get(from);
        if (v === 'true' || v === '1') q.set(to, '1');
      };
      flag('stdin', 'input');
      flag('stdout', 'output');
      flag('stderr', 'error');
      flag('tty', 'tty');
      for (const p of r.query.getAll('ports')) q.append('port', p);
      if (!r.upgrade || !isUpgrade(r.req)) throw errBadRequest('Upgrade request required');
      const url = new URL(`${path}${q.size ? `?${q}` : ''}`, ep.url);
      try {
        await proxyUpgrade(r.req, r.upgrade.socket, r.upgrade.head, { url, tls: ep.tls });
      } catch (e) {
        throw new ApiError(
          503,
          'ServiceUnavailable',
          `error dialing backend: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
      return HANDLED;
    };
  return {
    '/pods/log': async (r) => {
      if (r.info.verb !== 'get') throw errNotFound({ resource: 'pods/log', name: r.info.name });
      const pod = await podOf(r);
      const container = checkContainer(r, pod);
      if (!pod.spec.nodeName) return { code: 200, body: '', raw: true }; // no host yet: empty, as upstream
      const ep = await lookupNode(r.ctx, pod.spec.nodeName, kubelet);
      const q = new URLSearchParams();
      for (const k of LOG_PARAMS) {
        const v = r.query.get(k);
        if (v !== null) q.set(k, v);
      }
      const ns = encodeURIComponent(r.info.namespace ?? 'default');
      const url = new URL(
        `/containerLogs/${ns}/${encodeURIComponent(pod.name)}/${encodeURIComponent(container)}${q.size ? `?${q}` : ''}`,
        ep.url,
      );
      return streamLogs(r, url, ep.tls);
    },
    '/pods/exec': stream('exec'),
    '/pods/attach': stream('attach'),
    '/pods/portforward': stream('portForward'),
  };
}
