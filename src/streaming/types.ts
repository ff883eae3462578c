// What the streaming server needs from a container runtime, and the requests it serves. The server
// speaks the protocols (SPDY/3.1 and WebSocket channels, port-forward); the runtime runs processes.
import type { Duplex, Readable, Writable } from 'node:stream';

export interface TerminalSize {
  width: number;
  height: number;
}

/** The client's side of an exec or attach: streams that exist only when the request asked for them. */
export interface StreamIO {
  stdin?: Readable;
  stdout?: Writable;
  /** Absent with a tty (its output is all on stdout). */
  stderr?: Writable;
  tty: boolean;
  /** Registers for terminal size changes (the resize channel). */
  onResize(cb: (size: TerminalSize) => void): void;
  /** Aborted when the client goes away (an attach then detaches; an exec's process keeps running). */
  signal: AbortSignal;
}

export interface StreamingRuntime {
  /** Runs `cmd` in the container; resolves with its exit code once its output is drained. */
  exec(containerId: string, cmd: string[], io: StreamIO): Promise<number>;
  /** Attaches to the container's main process until it exits or the client leaves. */
  attach(containerId: string, io: StreamIO): Promise<void>;
  /** Relays one connection to `port` on the pod's loopback; resolves when both directions end. */
  portForward(podSandboxId: string, port: number, conn: Duplex): Promise<void>;
}

export interface ExecRequest {
  containerId: string;
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export type AttachRequest = Omit<ExecRequest, 'cmd'>;

export interface PortForwardRequest {
  podSandboxId: string;
  /** Ports the URL may forward (empty: any). */
  ports: number[];
}
