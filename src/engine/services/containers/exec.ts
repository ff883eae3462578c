// Exec sessions (`docker exec`): each runs under its own skiff-monitor (which holds its stdio or pty,
// serves attach and records the exit code) through the runtime library's monitored exec; the
// process waits until the client is attached, so no early output (a shell prompt) is lost.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { invalidArgument, notFound, conflict, newId } from '../../../common/index.js';
import { parseSignal } from '../../../runtime/index.js';
import type { Containers } from './service.js';
import { bridgeAttach, parseDetachKeys } from './streams.js';
import { checkExec } from './exec-check.js';
import { containerView } from './paths.js';
import { replaceEnv } from './spec.js';

export interface ExecConfig {
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  Tty: boolean;
  Cmd: string[];
  Env: string[];
  WorkingDir: string;
  User: string;
  Privileged: boolean;
  DetachKeys: string;
  ConsoleSize?: [number, number] | null;
}

interface Session {
  ID: string;
  ContainerID: string;
  config: ExecConfig;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  dir: string;
  started: boolean;
  done?: Promise<void>;
  pendingResize?: [number, number];
}

export class Execs {
  private readonly sessions = new Map<string, Session>();
  constructor(
    private readonly svc: Containers,
    private readonly execRoot: string,
  ) {}

  idsOf(containerId: string): string[] {
    return [...this.sessions.values()].filter((s) => s.ContainerID === containerId).map((s) => s.ID);
  }

  create(ref: string, body: Record<string, unknown> | undefined): { Id: string } {
    const rec = this.svc.get(ref);
    if (!body) throw invalidArgument('exec config is required', { field: 'body' });
    const cmd = body.Cmd;
    if (!Array.isArray(cmd) || !cmd.length || !cmd.every((x) => typeof x === 'string'))
      throw invalidArgument('Cmd: No exec command specified', { field: 'Cmd' });
    if (body.Env != null && (!Array.isArray(body.Env) || !body.Env.every((x) => typeof x === 'string')))
      throw invalidArgument('Env: must be a list of strings', { field: 'Env' });
    if (!rec.State.Running) throw conflict(`Container ${rec.Id} is not running`, { field: 'id' });
    if (rec.State.Paused)
      throw conflict(`Container ${ref} is paused, unpause the container before exec`, { field: 'id' });
    if (rec.State.Restarting)
      throw conflict(`Container ${rec.Id} is restarting, wait until the container is running`, { field: 'id' });
    if (body.DetachKeys) parseDetachKeys(String(body.DetachKeys));
    const id = newId();
    const config: ExecConfig = {
      AttachStdin: !!body.AttachStdin,
      AttachStdout: !!body.AttachStdout,
      AttachStderr: !!body.AttachStderr,
      Tty: !!body.Tty,
      Cmd: cmd as string[],
      Env: (body.Env as string[] | null) ?? [],
      WorkingDir: String(body.WorkingDir ?? ''),
      User: String(body.User ?? ''),
      Privileged: !!body.Privileged,
      DetachKeys: String(body.DetachKeys ?? ''),
      ConsoleSize: (body.ConsoleSize as [number, number] | null) ?? null,
    };
    this.sessions.set(id, {
      ID: id,
      ContainerID: rec.Id,
      config,
      Running: false,
      ExitCode: null,
      Pid: 0,
      dir: join(this.execRoot, 'ex', id.slice(0, 16)),
      started: false,
    });
    this.svc.ctx.events.emit({
      Type: 'container',
      Action: `exec_create: ${config.Cmd.join(' ')}`,
      id: rec.Id,
      attributes: { name: rec.Name.slice(1), image: rec.ImageName, execID: id },
    });
    return { Id: id };
  }

  get(id: string): Session {
    const s = this.sessions.get(id);
    if (!s) throw notFound(`No such exec instance: ${id}`, { field: 'id' });
    return s;
  }

  inspect(id: string): Record<string, unknown> {
    const s = this.get(id);
    return {
      ID: s.ID,
      Running: s.Running,
      ExitCode: s.ExitCode,
      ProcessConfig: {
        tty: s.config.Tty,
        entrypoint: s.config.Cmd[0],
        arguments: s.config.Cmd.slice(1),
        privileged: s.config.Privileged,
        user: s.config.User,
      },
      OpenStdin: s.config.AttachStdin,
      OpenStderr: s.config.AttachStderr,
      OpenStdout: s.config.AttachStdout,
      CanRemove: false,
      ContainerID: s.ContainerID,
      DetachKeys: s.config.DetachKeys,
      Pid: s.Pid,
    };
  }

  /** Starts the process; with a socket, the client is attached before it runs. Resolves once it runs. */
  async start(
    id: string,
    o: { detach: boolean; tty?: boolean; consoleSize?: [number, number] | null },
    client?: { socket: Socket; head: Buffer },
  ): Promise<void> {
    const s = this.get(id);
    if (s.started) throw conflict(`Error: Exec command ${id} has already run`, { field: 'id' });
    const rec = this.svc.get(s.ContainerID);
    if (!rec.State.Running) throw conflict(`container ${rec.Id} is not running`, { field: 'id' });
    s.started = true;
    const tty = o.tty ?? s.config.Tty;
    const rtid = this.svc.rtId(rec.Id);
    const cspec = this.svc.runtime.spec(rtid);
    const cproc = cspec.process!;
    const env = replaceEnv(cproc.env ?? [], s.config.Env);
    const cwd = s.config.WorkingDir || cproc.cwd || '/';
    let user: typeof cproc.user;
    try {
      // What fails before the process runs fails the start: exit code 126 and the message in the
      // client's stream (the route's), as dockerd's.
      const { resolveUser } = await import('./user.js');
      user = s.config.User
        ? resolveUser(this.svc.rootfs(rec.Id), s.config.User, rec.HostConfig.GroupAdd ?? [])
        : cproc.user;
      checkExec(containerView(rec, this.svc.rootfs(rec.Id), this.svc.dirOf(rec.Id)), s.config.Cmd[0], cwd, env);
    } catch (e) {
      s.ExitCode = 126;
      throw e;
    }
    const proc = {
      terminal: tty,
      user,
      args: s.config.Cmd,
      env,
      cwd,
      capabilities: cproc.capabilities,
      noNewPrivileges: cproc.noNewPrivileges,
      rlimits: cproc.rlimits,
      ...(o.consoleSize?.length === 2 ? { consoleSize: { height: o.consoleSize[0], width: o.consoleSize[1] } } : {}),
    };
    const execId = s.ID.slice(0, 16);
    let attached: Promise<void> | undefined;
    let exitedNow!: () => void;
    const exited = new Promise<void>((r) => {
      exitedNow = r;
    });
    let ready!: () => void;
    const stdinReady = new Promise<void>((r) => {
      ready = r;
    });
    const rt = this.svc.runtime;
    try {
      const r = await rt.exec(rtid, proc, {
        monitor: { execId, stdin: s.config.AttachStdin },
        // attached before the process runs, so no early output (a shell prompt) is lost
        beforeStart: async () => {
          s.dir = rt.monitorDir(rtid, execId) ?? s.dir;
          s.Running = true;
          if (!client || o.detach) return;
          const sess = await rt.attach(rtid, { execId });
          if (tty && o.consoleSize?.length === 2) sess.resize(o.consoleSize[0], o.consoleSize[1]);
          if (s.pendingResize) sess.resize(...s.pendingResize);
          attached = bridgeAttach(
            sess,
            client.socket,
            client.head,
            {
              stdin: s.config.AttachStdin,
              stdout: s.config.AttachStdout,
              stderr: s.config.AttachStderr,
              stream: true,
              logs: false,
              detachKeys: parseDetachKeys(s.config.DetachKeys || undefined),
            },
            tty,
            true,
            tty && s.config.AttachStdin ? stdinReady.then(() => rt.attach(rtid, { execId })) : undefined,
            exited,
          );
        },
      });
      s.Pid = r.pid;
    } catch (e) {
      s.ExitCode = 126; // as dockerd for any exec its runtime refused
      s.Running = false;
      exitedNow();
      await rt.delete(rtid, { execId, force: true }).catch(() => undefined); // the exec may never have existed
      throw e;
    }
    s.done = rt
      .waitExit(rtid, { execId })
      .then(
        (ex) => {
          s.ExitCode = ex.exitCode;
          s.Running = false;
          this.svc.ctx.events.emit({
            Type: 'container',
            Action: 'exec_die',
            id: rec.Id,
            attributes: { name: rec.Name.slice(1), image: rec.ImageName, execID: s.ID, exitCode: String(ex.exitCode) },
          });
        },
        () => {
          s.ExitCode = 126;
          s.Running = false;
        },
      )
      .finally(() => {
        exitedNow();
        // its state goes with the container if this fails (the container exited first)
        setTimeout(() => void rt.delete(rtid, { execId }).catch(() => undefined), 1000).unref();
      });
    ready();
    this.svc.ctx.events.emit({
      Type: 'container',
      Action: `exec_start: ${s.config.Cmd.join(' ')}`,
      id: rec.Id,
      attributes: { name: rec.Name.slice(1), image: rec.ImageName, execID: s.ID },
    });
    if (attached) await attached; // ends after the exit code is known (the CLI inspects next)
  }

  async resize(id: string, h: number, w: number): Promise<void> {
    const s = this.get(id);
    if (!s.Running || !existsSync(join(s.dir, 'attach.sock'))) {
      s.pendingResize = [h, w];
      return;
    }
    const sess = await this.svc.runtime.attach(this.svc.rtId(s.ContainerID), { execId: s.ID.slice(0, 16) });
    sess.resize(h, w);
    setTimeout(() => sess.close(), 50);
  }

  /** Sessions of removed containers go with them. */
  forget(containerId: string): void {
    for (const s of this.sessions.values()) if (s.ContainerID === containerId) this.sessions.delete(s.ID);
  }
}

export { parseSignal };
