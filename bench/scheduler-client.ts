// The scheduler benchmark's load generator (a module of bench/scheduler.ts, not a benchmark): the
// client side of scheduler_perf's "pods created by a client while the scheduler runs", made cheap
// so that on a 2-core machine the client's CPU does not bound what is measured.
//  - creates: HTTP/1.1 over TLS keep-alive connections written by hand, one request in flight per
//    connection (as many connections as requests in flight), each request's bytes serialised
//    before the measured phase. Node's https.request built an agent entry, a ClientRequest, an
//    IncomingMessage, header objects and a stream per request: 0.4–0.66 ms of CPU per create on
//    this machine. The server sees the same requests (method, path, headers, body, TLS with the
//    client certificate); only the client's own work per request shrinks.
//  - binding count: a watch whose lines are scanned for `"nodeName":"` before any parsing; only a
//    line that carries a node name (a binding, or a later update of a bound pod) is parsed.
import tls from 'node:tls';
import { SkiffError } from '../src/common/index.js';
import { Informer, statusError, type KubeClient } from '../src/kube/client/index.js';

export interface TlsTarget {
  host: string;
  port: number;
  ca: string;
  cert: string;
  key: string;
}

/** A request's bytes: head and body in one buffer, built once. */
export function postRequest(host: string, path: string, body: string, userAgent = 'skiff-bench'): Buffer {
  return requestBytes('POST', host, path, body, userAgent);
}

/** A JSON request's bytes (head and body in one buffer). */
export function requestBytes(
  method: string,
  host: string,
  path: string,
  body: string,
  userAgent = 'skiff-bench',
): Buffer {
  const b = Buffer.from(body);
  return Buffer.concat([
    Buffer.from(
      `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: ${userAgent}\r\nAccept: application/json\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${b.length}\r\n\r\n`,
    ),
    b,
  ]);
}

interface Pending {
  resolve(r: { status: number; body: Buffer }): void;
  reject(e: Error): void;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/** One keep-alive TLS connection, one request at a time (also the etcd benchmark's client). */
export class LeanConn {
  private sock?: tls.TLSSocket;
  private buf: Buffer = Buffer.alloc(0);
  private pending?: Pending;
  private ready?: Promise<void>;

  constructor(private t: TlsTarget) {}

  private connect(): Promise<void> {
    this.ready ??= new Promise((resolve, reject) => {
      const s = tls.connect({
        host: this.t.host,
        port: this.t.port,
        ca: this.t.ca,
        cert: this.t.cert,
        key: this.t.key,
        servername: this.t.host === '127.0.0.1' ? undefined : this.t.host,
      });
      s.setNoDelay(true);
      s.once('secureConnect', () => resolve());
      s.on('data', (d: Buffer) => this.onData(d));
      const gone = (e?: Error) => {
        if (this.sock === s) {
          this.sock = undefined;
          this.ready = undefined;
          this.buf = Buffer.alloc(0);
        }
        const p = this.pending;
        this.pending = undefined;
        const err = Object.assign(e ?? new Error('socket hang up'), {
          code: (e as { code?: string })?.code ?? 'ECONNRESET',
        });
        p?.reject(err);
        reject(err);
      };
      s.on('error', gone);
      s.on('close', () => gone());
      this.sock = s;
    });
    return this.ready;
  }

  async send(req: Buffer): Promise<{ status: number; body: Buffer }> {
    await this.connect();
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.sock!.write(req);
    });
  }

  /** Parses one response (Content-Length or chunked) once all its bytes are in. */
  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    const end = this.buf.indexOf(CRLFCRLF);
    if (end < 0 || !this.pending) return;
    const head = this.buf.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const lower = head.toLowerCase();
    let body: Buffer;
    let used: number;
    const cl = /\r\ncontent-length:\s*(\d+)/.exec(lower);
    if (cl) {
      used = end + 4 + Number(cl[1]);
      if (this.buf.length < used) return;
      body = this.buf.subarray(end + 4, used);
    } else if (lower.includes('\r\ntransfer-encoding: chunked')) {
      const parts: Buffer[] = [];
      let at = end + 4;
      for (;;) {
        const nl = this.buf.indexOf('\r\n', at);
        if (nl < 0) return;
        const size = Number.parseInt(this.buf.toString('latin1', at, nl), 16);
        if (this.buf.length < nl + 2 + size + 2) return;
        if (size === 0) {
          used = nl + 4;
          break;
        }
        parts.push(this.buf.subarray(nl + 2, nl + 2 + size));
        at = nl + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else {
      // No length: the server did not say (not what Skiff's API server answers a create with).
      this.fail(new SkiffError('Internal', `response without a length: ${head.split('\r\n')[0]}`));
      return;
    }
    this.buf = this.buf.length > used ? this.buf.subarray(used) : Buffer.alloc(0);
    const p = this.pending;
    this.pending = undefined;
    p.resolve({ status, body });
    if (/\r\nconnection:\s*close/.test(lower)) this.sock?.end();
  }

  private fail(e: Error): void {
    const p = this.pending;
    this.pending = undefined;
    this.sock?.destroy();
    p?.reject(e);
  }

  close(): void {
    this.sock?.destroy();
  }
}

/** `conns` connections, each sending requests one after another from a shared list. */
export class CreateLoad {
  private conns: LeanConn[];
  constructor(
    t: TlsTarget,
    readonly inFlight: number,
  ) {
    this.conns = Array.from({ length: inFlight }, () => new LeanConn(t));
  }

  /** Sends request i for i in 0..count-1 (bytes from `req(i)`), `inFlight` at a time; a create
   *  whose connection was reset is sent again, and AlreadyExists then means it went through. */
  async run(count: number, req: (i: number) => Buffer, done?: (i: number) => void): Promise<void> {
    let next = 0;
    await Promise.all(
      this.conns.slice(0, Math.min(count, this.conns.length)).map(async (c) => {
        for (let i = next++; i < count; i = next++) {
          for (let attempt = 0; ; attempt++) {
            try {
              const r = await c.send(req(i));
              if (r.status >= 300) {
                const e = statusError(r.status, r.body.toString('utf8'));
                if (attempt > 0 && e.code === 'AlreadyExists') break;
                throw e;
              }
              break;
            } catch (e) {
              const code = (e as { code?: string }).code;
              if (attempt < 3 && (code === 'ECONNRESET' || code === 'EPIPE')) continue;
              throw e;
            }
          }
          done?.(i);
        }
      }),
    );
  }

  close(): void {
    for (const c of this.conns) c.close();
  }
}

const NODE_NAME = '"nodeName":"';

/** Watch lines that name a node, parsed; the rest (creates, deletions of unbound pods) skipped
 *  by a substring scan. Yields the bound pods' names (and each line's resourceVersion when
 *  parsed, for a re-watch). An ERROR line (410) throws as the shared watch client does. */
export async function* boundPods(
  client: KubeClient,
  path: string,
  query: Record<string, string | number | boolean | undefined>,
  signal: AbortSignal,
): AsyncGenerator<{ name?: string; rv?: string }> {
  const res = await client.stream(path, { query: { ...query, watch: 1 }, signal });
  let rest = '';
  try {
    for await (const chunk of res) {
      const text = rest + (chunk as Buffer).toString('utf8');
      let at = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', at)) {
        const start = at;
        at = nl + 1;
        const hasNode = text.indexOf(NODE_NAME, start);
        const isError = text.startsWith('{"type":"ERROR"', start);
        const isBookmark = text.startsWith('{"type":"BOOKMARK"', start);
        if (!isError && !isBookmark && (hasNode < 0 || hasNode > nl)) continue;
        const ev = JSON.parse(text.slice(start, nl)) as {
          type: string;
          object: {
            code?: number;
            message?: string;
            metadata?: { name?: string; resourceVersion?: string };
            spec?: { nodeName?: string };
          };
        };
        if (ev.type === 'ERROR')
          throw new SkiffError(
            ev.object.code === 410 ? 'FailedPrecondition' : 'Internal',
            ev.object.message ?? 'watch error',
            {
              reason: ev.object.code === 410 ? 'Expired' : undefined,
            },
          );
        const rv = ev.object.metadata?.resourceVersion;
        if (ev.type === 'BOOKMARK' || ev.type === 'DELETED' || !ev.object.spec?.nodeName) yield { rv };
        else yield { name: ev.object.metadata?.name, rv };
      }
      rest = text.slice(at);
    }
  } finally {
    res.destroy();
  }
}

/** The kubelets of the simulated nodes, for the Deployment workload (a rolling update waits for
 *  new pods to be available): a pod of `namespace` bound to a node becomes Running and Ready
 *  through pods/status, and a pod being deleted is removed (grace period 0, as a kubelet does once
 *  its containers have stopped). No Leases or node status: the nodes are as scheduler_perf's, and
 *  the server runs with a node grace period longer than the run. */
export class SimKubelets {
  private informer: Informer<SimPod>;
  private queue: (() => Promise<void>)[] = [];
  private running = 0;
  private seen = new Set<string>();
  readonly errors: string[] = [];

  constructor(
    private client: KubeClient,
    private namespace: string,
    private inFlight = 32,
  ) {
    const kick = (p: SimPod) => this.kick(p);
    this.informer = new Informer<SimPod>(
      client,
      { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true },
      { add: kick, update: (_o, p) => kick(p) },
      { namespace },
    );
  }

  start(): Promise<void> {
    return this.informer.start();
  }
  stop(): void {
    this.informer.stop();
  }

  private kick(p: SimPod): void {
    const m = p.metadata;
    const path = `/api/v1/namespaces/${this.namespace}/pods/${m.name}`;
    if (m.deletionTimestamp) {
      if (this.seen.has(`d/${m.uid}`)) return;
      this.seen.add(`d/${m.uid}`);
      this.run(() =>
        this.client.request('DELETE', path, {
          body: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0, preconditions: { uid: m.uid } },
        }),
      );
      return;
    }
    if (!p.spec?.nodeName || p.status?.phase === 'Running' || this.seen.has(`r/${m.uid}`)) return;
    this.seen.add(`r/${m.uid}`);
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    this.run(() =>
      this.client.request('PATCH', `${path}/status`, {
        contentType: 'application/strategic-merge-patch+json',
        body: {
          metadata: { uid: m.uid },
          status: {
            phase: 'Running',
            startTime: now,
            conditions: [
              { type: 'Ready', status: 'True', lastTransitionTime: now },
              { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
            ],
          },
        },
      }),
    );
  }

  private run(job: () => Promise<unknown>): void {
    this.queue.push(async () => {
      await job();
    });
    this.pump();
  }

  private pump(): void {
    while (this.running < this.inFlight && this.queue.length) {
      const job = this.queue.shift()!;
      this.running++;
      void job()
        .catch((e) => {
          // A pod deleted meanwhile (NotFound, a failed uid precondition) needs nothing more.
          const code = (e as { code?: string }).code;
          if (code !== 'NotFound' && code !== 'Conflict' && this.errors.length < 10) this.errors.push(String(e));
        })
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }
}

interface SimPod {
  metadata: { name: string; namespace?: string; uid?: string; deletionTimestamp?: string; resourceVersion?: string };
  spec?: { nodeName?: string };
  status?: { phase?: string };
}
