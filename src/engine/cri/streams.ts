// The engine's side of the streaming server: it owns the StreamingServer (src/streaming) and runs
// the sessions behind the URLs Exec/Attach/PortForward hand out — exec and attach through the
// container's monitor, port-forward through native/skiff-nsfwd inside the pod's network namespace.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { connect } from 'node:net';
import { internal } from '../../common/index.js';
import { nativeDir } from '../../runtime/index.js';
import {
  StreamingServer,
  type AttachRequest,
  type ExecRequest,
  type PortForwardRequest,
  type StreamIO,
  type StreamingRuntime,
} from '../../streaming/index.js';
import type { SandboxRecord } from './records.js';

export interface StreamUrls {
  exec(req: ExecRequest): string;
  attach(req: AttachRequest): string;
  portForward(req: PortForwardRequest): string;
}

/** What the sessions need from the CRI service. */
export interface StreamBackend {
  execStream(containerId: string, cmd: string[], io: StreamIO): Promise<number>;
  attachStream(containerId: string, io: StreamIO): Promise<void>;
  sandboxForForward(podSandboxId: string): SandboxRecord;
}

export class Streams implements StreamingRuntime {
  private readonly server: StreamingServer;
  constructor(
    private readonly backend: StreamBackend,
    address: string,
  ) {
    this.server = new StreamingServer(this, { address });
  }

  start(): Promise<string> {
    return this.server.start();
  }
  close(): Promise<void> {
    return this.server.close();
  }
  get baseUrl(): string {
    return this.server.baseUrl;
  }

  urls(): StreamUrls {
    return {
      exec: (r) => this.server.execUrl(r),
      attach: (r) => this.server.attachUrl(r),
      portForward: (r) => this.server.portForwardUrl(r),
    };
  }

  exec(containerId: string, cmd: string[], io: StreamIO): Promise<number> {
    return this.backend.execStream(containerId, cmd, io);
  }

  attach(containerId: string, io: StreamIO): Promise<void> {
    return this.backend.attachStream(containerId, io);
  }

  portForward(podSandboxId: string, port: number, conn: Duplex): Promise<void> {
    return this.forward(this.backend.sandboxForForward(podSandboxId), port, conn);
  }

  /** One connection to localhost:port in the sandbox's network namespace (the host's for hostNetwork). */
  forward(sb: SandboxRecord, port: number, conn: Duplex): Promise<void> {
    if (sb.hostNetwork) return forwardLocal(port, conn);
    return new Promise((resolve, reject) => {
      const child = spawn(join(nativeDir(), 'skiff-nsfwd'), [`/proc/${sb.pid}/ns/net`, String(port)], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      conn.pipe(child.stdin);
      child.stdout.pipe(conn);
      child.stdin.on('error', () => undefined);
      conn.on('error', () => child.kill('SIGKILL'));
      child.once('error', (e) => reject(internal(`port-forward helper: ${e.message}`)));
      child.once('close', (code) => (code === 0 ? resolve() : reject(internal(err.trim() || `exit status ${code}`))));
    });
  }
}

function forwardLocal(port: number, conn: Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      conn.pipe(s);
      s.pipe(conn);
    });
    s.once('error', (e) => reject(internal(`failed to connect to localhost:${port}: ${e.message}`)));
    s.once('close', () => resolve());
  });
}
