// One probe attempt of each kind (kubelet's prober): exec in the container through the runtime,
// HTTP GET (2xx/3xx is success), TCP connect, and the gRPC health checking protocol
// (grpc.health.v1.Health/Check must answer SERVING). Failures carry upstream-like messages, which
// end up in `Unhealthy` events.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { ContainerRuntime } from '../../../cri/index.js';
import type { Container, HTTPGetAction } from '../types.js';
import { invalidArgument } from '../../../common/index.js';

export interface ProbeResult {
  ok: boolean;
  output: string;
}

/** A named port of the container, or the number itself. */
export function resolvePort(port: number | string, c: Container | undefined): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const p = c?.ports?.find((x) => x.name === port);
  if (!p) throw invalidArgument(`couldn't find port: ${port} in ${c?.name ?? 'container'}`);
  return p.containerPort;
}

const hostPort = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

export async function execProbe(
  rt: ContainerRuntime,
  containerId: string,
  cmd: string[],
  timeoutMs: number,
): Promise<ProbeResult> {
  const timeout = Math.max(1, Math.ceil(timeoutMs / 1000));
  const call = rt.execSync({ containerId, cmd, timeout });
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), timeoutMs + 1000);
  });
  try {
    const res = await Promise.race([call, expired]);
    if (res === 'timeout')
      return { ok: false, output: `command timed out: "${cmd.join(' ')}" timed out after ${timeout}s` };
    const out = Buffer.concat([res.stdout, res.stderr]).toString('utf8');
    if (res.exitCode === 0) return { ok: true, output: out };
    return { ok: false, output: out || `command "${cmd.join(' ')}" exited with ${res.exitCode}` };
  } catch (e) {
    return { ok: false, output: e instanceof Error ? e.message : String(e) };
  } finally {
    clearTimeout(timer);
  }
}

export function httpProbe(
  a: HTTPGetAction,
  host: string,
  port: number,
  timeoutMs: number,
  userAgent = 'kube-probe/1.32',
): Promise<ProbeResult> {
  const scheme = (a.scheme ?? 'HTTP').toLowerCase();
  const path = a.path ? (a.path.startsWith('/') ? a.path : `/${a.path}`) : '/';
  const url = `${scheme}://${hostPort(host, port)}${path}`;
  const headers: Record<string, string> = { 'User-Agent': userAgent, Accept: '*/*' };
  for (const h of a.httpHeaders ?? []) headers[h.name] = h.value;
  return new Promise((resolve) => {
    const mod = scheme === 'https' ? https : http;
    const req = mod.get(url, { headers, timeout: timeoutMs, rejectUnauthorized: false, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < 10 * 1024) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => {
        const code = res.statusCode ?? 0;
        const body = Buffer.concat(chunks)
          .toString('utf8')
          .slice(0, 10 * 1024);
        if (code >= 200 && code < 400) resolve({ ok: true, output: body });
        else resolve({ ok: false, output: `HTTP probe failed with statuscode: ${code}` });
      });
      res.on('error', (e) => resolve({ ok: false, output: `Get "${url}": ${e.message}` }));
    });
    req.on('timeout', () => {
      req.destroy(new Error('context deadline exceeded (Client.Timeout exceeded while awaiting headers)'));
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      const msg =
        e.code === 'ECONNREFUSED' ? `dial tcp ${hostPort(host, port)}: connect: connection refused` : e.message;
      resolve({ ok: false, output: `Get "${url}": ${msg}` });
    });
  });
}

export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve({ ok: false, output: `dial tcp ${hostPort(host, port)}: i/o timeout` });
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve({ ok: true, output: '' });
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      resolve({
        ok: false,
        output:
          e.code === 'ECONNREFUSED'
            ? `dial tcp ${hostPort(host, port)}: connect: connection refused`
            : `dial tcp ${hostPort(host, port)}: ${e.message}`,
      });
    });
  });
}

// grpc.health.v1 messages, encoded by hand: HealthCheckRequest{string service = 1} and
// HealthCheckResponse{ServingStatus status = 1} are one field each, so a protobuf library (and a
// .proto loaded at run time) would be more code than the two functions below.
function encodeRequest(service: string): Buffer {
  if (!service) return Buffer.alloc(0);
  const s = Buffer.from(service);
  const len: number[] = [];
  let n = s.length;
  do {
    len.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x0a, ...len]), s]);
}
function decodeStatus(b: Buffer): number {
  if (b.length >= 2 && b[0] === 0x08) return b[1];
  return 0;
}
const STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

export function grpcProbe(host: string, port: number, service: string, timeoutMs: number): Promise<ProbeResult> {
  const target = hostPort(host, port);
  const Client = grpc.makeGenericClientConstructor({}, 'Health');
  const client = new Client(target, grpc.credentials.createInsecure());
  const secs = Math.max(1, Math.round(timeoutMs / 1000));
  return new Promise((resolve) => {
    const deadline = Date.now() + timeoutMs;
    client.waitForReady(deadline, (err) => {
      if (err) {
        client.close();
        resolve({
          ok: false,
          output: `timeout: failed to connect service "${target}" within ${secs}s: context deadline exceeded`,
        });
        return;
      }
      client.makeUnaryRequest(
        '/grpc.health.v1.Health/Check',
        (s: string) => encodeRequest(s),
        (b: Buffer) => decodeStatus(b),
        service,
        { deadline },
        (e, status) => {
          client.close();
          if (e) {
            const code = (e as grpc.ServiceError).code;
            resolve({
              ok: false,
              output:
                code === grpc.status.DEADLINE_EXCEEDED
                  ? `timeout: health rpc did not complete within ${secs}s`
                  : `error: health rpc probe failed: ${(e as grpc.ServiceError).details ?? e.message}`,
            });
            return;
          }
          if (status === 1) resolve({ ok: true, output: '' });
          else resolve({ ok: false, output: `service unhealthy (responded with "${STATUS[status ?? 0] ?? status}")` });
        },
      );
    });
  });
}
