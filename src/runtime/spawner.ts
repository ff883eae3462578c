// Starting processes without forking Node: requests go to one long-lived native/build/skiff-spawn
// per process (see its header for the protocol), which forks itself — a small process — and
// execs. Node's own spawn forks the whole Node process, whose page tables grow with its heap:
// 5 ms at 44 MB, 84 ms at 244 MB on this loaded 2-core machine, the event loop blocked meanwhile.
// Descriptors of this process are handed over by number (skiff-spawn copies them with
// pidfd_getfd); lines a child writes to a relayed pipe come back tagged with the child's fd.
// Used by the runtime library for skiff-init and skiff-monitor; the CLI (one short process per
// operation) spawns directly.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { invalidArgument, unavailable } from '../common/index.js';

export type FdSpec =
  | { kind: 'parent'; fd: number } // this process's descriptor
  | { kind: 'null' } // /dev/null
  | { kind: 'relay' } // a pipe whose lines are reported to onLine
  | { kind: 'spec' }; // a pipe the request's payload is written into

export interface Spawned {
  pid: number;
  /** The raw wait status, once the process was reaped and its relayed lines were all delivered. */
  status: Promise<number>;
}

interface Pending {
  started: (pid: number) => void;
  failed: (e: Error) => void;
  onLine?: (fd: number, line: string) => void;
  exited?: (status: number) => void;
}

export class Spawner {
  private child?: ChildProcess;
  private sock?: Socket;
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly binary: string) {}

  /** Starts argv[0] (an absolute path) with `fds` (child fd → source) and resolves once it runs. */
  spawn(
    argv: string[],
    fds: Record<number, FdSpec>,
    o: { payload?: string; onLine?: (fd: number, line: string) => void } = {},
  ): Promise<Spawned> {
    // skiff-spawn's limits (native/skiff-spawn.c): a request it cannot read ends it, and with it the
    // status reports of every process it started, so they are checked here
    const bad = Object.keys(fds).length > 16 || Object.keys(fds).some((k) => Number(k) > 18) || !argv.length;
    const badArg = argv.length > 64 || argv.some((a) => a.includes('\n') || Buffer.byteLength(a) > 4000);
    if (bad || badArg)
      return Promise.reject(
        invalidArgument(
          `skiff-spawn: ${bad ? 'at most 16 descriptors, numbered up to 18' : 'at most 64 arguments of one line each, up to 4000 bytes'}`,
        ),
      );
    const sock = this.connect();
    const id = this.nextId++;
    const payload = Buffer.from(o.payload ?? '');
    const entries = Object.entries(fds).map(([child, f]) => {
      const k = { parent: 'n', null: 'z', relay: 'r', spec: 'w' }[f.kind];
      return `${child} ${k} ${f.kind === 'parent' ? f.fd : 0}\n`;
    });
    const head = `S ${id} ${entries.length} ${argv.length} ${payload.length}\n${entries.join('')}${argv.join('\n')}\n`;
    let exited!: (st: number) => void;
    const status = new Promise<number>((r) => (exited = r));
    return new Promise<Spawned>((resolve, reject) => {
      this.pending.set(id, {
        started: (pid) => resolve({ pid, status }),
        failed: reject,
        onLine: o.onLine,
        exited,
      });
      this.ref();
      sock.write(Buffer.concat([Buffer.from(head), payload]));
    });
  }

  private connect(): Socket {
    if (this.sock && this.child && this.child.exitCode === null && !this.sock.destroyed) return this.sock;
    const child = spawn(this.binary, ['3', String(process.pid)], { stdio: ['inherit', 'inherit', 'inherit', 'pipe'] });
    const sock = child.stdio[3] as Socket;
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    sock.on('error', () => undefined);
    const gone = () => {
      if (this.child !== child) return;
      this.child = undefined;
      this.sock = undefined;
      const err = unavailable('skiff-spawn exited');
      for (const [, p] of this.pending) {
        p.failed(err);
        p.exited?.(255 << 8);
      }
      this.pending.clear();
    };
    child.on('exit', gone);
    child.on('error', gone);
    child.unref();
    this.child = child;
    this.sock = sock;
    return sock;
  }

  /** The helper keeps this process alive only while it owes answers. */
  private ref(): void {
    if (this.pending.size) {
      this.sock?.ref();
    } else {
      this.sock?.unref();
    }
  }

  private onData(d: string): void {
    this.buf += d;
    for (let nl = this.buf.indexOf('\n'); nl >= 0; nl = this.buf.indexOf('\n')) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const sp1 = line.indexOf(' ');
      const sp2 = line.indexOf(' ', sp1 + 1);
      const id = Number(line.slice(sp1 + 1, sp2 < 0 ? undefined : sp2));
      const p = this.pending.get(id);
      if (!p) continue;
      const rest = sp2 < 0 ? '' : line.slice(sp2 + 1);
      switch (line[0]) {
        case 'P':
          p.started(Number(rest));
          break;
        case 'L': {
          const sp = rest.indexOf(' ');
          p.onLine?.(Number(rest.slice(0, sp)), rest.slice(sp + 1));
          break;
        }
        case 'X':
          this.pending.delete(id);
          p.exited?.(Number(rest));
          break;
        case 'F':
          this.pending.delete(id);
          p.failed(unavailable(`skiff-spawn: ${rest.slice(rest.indexOf(' ') + 1)}`));
          break;
      }
    }
    this.ref();
  }
}
