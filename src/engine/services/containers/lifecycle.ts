// A container's life in the runtime: start (rootfs, /etc files, network, the runtime library's
// create under skiff-monitor, attaches made before start, start), exit tracking through the
// runtime's waitExit, the clean-up after an exit, stopping and removal. Functions over the
// Containers service (service.ts), which holds the records and the per-container lock.
import { existsSync, mkdirSync, rmSync, writeFileSync, copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflict, createLogger, invalidArgument, isSkiffError, logFailure, sleep } from '../../../common/index.js';
import { parseSignal, nativeDir } from '../../../runtime/index.js';
import { mountAll, unmount } from '../../../image/index.js';
import { writeEtcFiles, writeNetworkEtc, shareNetworkEtc } from './etc.js';
import { sharedNamespaces, mountShm, unmountShm } from './shared.js';
import { resolveLinks } from './links.js';
import { copyUpVolumes } from './copy-up.js';
import { checkPropagation } from './propagation.js';
import { buildSpec } from './spec.js';
import { specError, startError } from './spec-checks.js';
import { removeContainerSnapshots } from './init-layer.js';
import type { Containers, Live, WaitResult } from './service.js';
import { RUNNING_RESET_MS, shouldRestart, scheduleRestart } from './restart.js';

const log = createLogger({ component: 'engine.containers' });

export async function startLocked(svc: Containers, c: Live): Promise<void> {
  const rec = c.rec,
    id = rec.Id,
    rtid = svc.rtId(id);
  const rootfs = svc.rootfs(id);
  let exitCode = 128; // dockerd's for a start that failed, unless the runtime's refusal says otherwise
  try {
    await ensureMounted(svc, c);
    const lookup = (r: string) => svc.get(r);
    const links = resolveLinks(rec, lookup);
    const etcX = { links: links.hosts, hostGateway: svc.nets.defaultGateway() };
    const etc = writeEtcFiles(c.dir, rec, etcX);
    const shared = sharedNamespaces(rec, lookup, (x) => svc.dirOf(x));
    if (rec.HostConfig.IpcMode === 'shareable') mountShm(c.dir, Number(rec.HostConfig.ShmSize) || 64 * 1024 * 1024);
    let netnsPath: string | undefined;
    const nm = String(rec.HostConfig.NetworkMode);
    if (nm.startsWith('container:')) {
      const other = svc.live(nm.slice(10)).rec;
      if (!other.State.Running)
        throw conflict(`cannot join network of a non running container: ${other.Id}`, {
          field: 'HostConfig.NetworkMode',
        });
      netnsPath = `/proc/${other.State.Pid}/ns/net`;
      shareNetworkEtc(c.dir, svc.dirOf(other.Id)); // its hosts and resolv.conf, as dockerd does
    }
    for (const m of rec.Mounts)
      if (m.Type === 'volume' && m.Name && !m.Source) m.Source = (await svc.ctx.volumes.ensure(m.Name)).Mountpoint;
    checkPropagation(rec.Mounts);
    if (!rec.HasBeenStarted) await copyUpVolumes(rootfs, rec.Mounts); // once, as dockerd at create
    let spec: ReturnType<typeof buildSpec>;
    try {
      spec = buildSpec({
        rec,
        rootfs,
        etc,
        cgroupsPath: `${(rec.HostConfig.CgroupParent as string | undefined) || svc.opts.cgroupParent}/${id}`,
        initBinary: initBinary(),
        netnsPath,
        ...shared,
        linkEnv: links.env,
      });
    } catch (e) {
      throw specError(e);
    }
    rmSync(join(c.dir, 'exit.json'), { force: true });
    // Best effort here and below: the runtime may hold no such container (never created, or gone).
    await svc.runtime.delete(rtid, { force: true }).catch(() => undefined);
    const lc = rec.HostConfig.LogConfig?.Config ?? {};
    const maxSize = parseSize(lc['max-size'] ?? '10m');
    const maxFile = Math.max(1, Number(lc['max-file'] ?? 3) || 3);
    // The runtime's refusals get dockerd's status and exit code (startError).
    const refused = (e: unknown): never => {
      const t = startError(e, rec.Path);
      exitCode = t.exitCode;
      throw t.error;
    };
    await svc.runtime
      .create(rtid, spec, {
        monitor: {
          logFile: rec.HostConfig.LogConfig?.Type === 'none' ? undefined : svc.logPath(id),
          logMaxSize: maxSize,
          logMaxFiles: maxFile - 1,
          stdin: rec.Config.OpenStdin,
        },
      })
      .catch(refused);
    const mdir = svc.monitorDir(id);
    const net = await svc.nets.attach(rec, svc.runtime.state(rtid).pid ?? 0);
    if (net) writeNetworkEtc(c.dir, rec, net, etcX);
    // The attach handshake: each attach made before start connects to the monitor's attach socket
    // (a local connect that completes or fails at once) and only then is the process started. The
    // monitor accepts every pending connection before it reads any output (skiff-monitor.c,
    // stream_read), so a connected client gets the output from the first byte.
    await Promise.all(c.attachWaiters.splice(0).map((w) => w(mdir).catch((e) => attachFailed(c, e))));
    await svc.runtime.start(rtid).catch(refused);
    const st = svc.runtime.state(rtid);
    rec.State = {
      ...rec.State,
      Status: 'running',
      Running: true,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: st.pid ?? 0,
      ExitCode: 0,
      Error: '',
      StartedAt: new Date().toISOString(),
      ...(rec.Config.Healthcheck?.Test?.length && rec.Config.Healthcheck.Test[0] !== 'NONE'
        ? { Health: { Status: 'starting', FailingStreak: 0, Log: [] } }
        : {}),
    };
    rec.HasBeenStarted = true;
    svc.save(c);
    svc.emit(c, 'start');
    watchExit(svc, c, mdir);
    c.health?.stop();
    c.health = svc.healthStarter?.(c);
  } catch (e) {
    rec.State = {
      ...rec.State,
      Status: rec.HasBeenStarted ? 'exited' : 'created',
      Running: false,
      Pid: 0,
      Error: (e as Error).message,
      ExitCode: exitCode,
    };
    await svc.runtime.delete(rtid, { force: true }).catch(() => undefined); // best effort, as above
    await svc.nets.detach(rec);
    svc.save(c);
    await unmountRootfs(svc, c).catch(logFailure(log, 'could not unmount a rootfs', { id: c.rec.Id }));
    for (const w of c.attachWaiters.splice(0)) await w(undefined).catch((err) => attachFailed(c, err));
    throw e;
  }
}

/** An attach that could not connect: the container starts anyway (as dockerd), the client's
 *  connection ends (the route's connect does that), and the reason is logged. */
function attachFailed(c: Live, e: unknown): void {
  log.warn('attach before start failed', { id: c.rec.Id, error: (e as Error).message });
}

export async function ensureMounted(svc: Containers, c: Live): Promise<string> {
  const rootfs = svc.rootfs(c.rec.Id);
  if (isMountpoint(rootfs)) return rootfs;
  mkdirSync(rootfs, { recursive: true });
  await mountAll(await svc.ctx.snapshotter.mounts(c.rec.SnapshotKey), rootfs);
  return rootfs;
}

export async function unmountRootfs(svc: Containers, c: Live): Promise<void> {
  unmountShm(c.dir);
  const rootfs = svc.rootfs(c.rec.Id);
  if (isMountpoint(rootfs)) await unmount(rootfs);
}

export function watchExit(svc: Containers, c: Live, mdir: string): void {
  c.watch?.abort();
  const ac = new AbortController();
  c.watch = ac;
  svc.runtime.waitExit(svc.rtId(c.rec.Id), { signal: ac.signal }).then(
    (ex) => onExit(svc, c, { code: ex.exitCode, oom: ex.oomKilled, finishedAt: ex.finishedAt, error: ex.error }, mdir),
    (e) => {
      if (!ac.signal.aborted)
        void onExit(
          svc,
          c,
          {
            code: 255,
            oom: false,
            finishedAt: new Date().toISOString(),
            error: `monitor lost: ${(e as Error).message}`,
          },
          mdir,
        );
    },
  );
}

export async function onExit(
  svc: Containers,
  c: Live,
  ex: { code: number; oom: boolean; finishedAt: string; error?: string },
  mdir?: string,
): Promise<void> {
  if (c.removed) return;
  await svc.locked(c, async () => {
    if (!c.rec.State.Running && !c.rec.State.Restarting) return;
    c.health?.stop();
    c.health = undefined;
    if (mdir && existsSync(join(mdir, 'exit.json'))) {
      try {
        copyFileSync(join(mdir, 'exit.json'), join(c.dir, 'exit.json'));
      } catch {
        /* best effort */
      }
    } else writeFileSync(join(c.dir, 'exit.json'), JSON.stringify({ exitCode: ex.code }));
    await svc.runtime.delete(svc.rtId(c.rec.Id), { force: true }).catch(() => undefined); // the exit is recorded; the runtime may have dropped it
    await svc.nets.detach(c.rec);
    await unmountRootfs(svc, c).catch(logFailure(log, 'could not unmount a rootfs', { id: c.rec.Id }));
    const ranMs = Date.now() - Date.parse(c.rec.State.StartedAt);
    c.rec.State = {
      ...c.rec.State,
      Status: 'exited',
      Running: false,
      Paused: false,
      Restarting: false,
      Pid: 0,
      ExitCode: ex.code,
      OOMKilled: ex.oom,
      FinishedAt: ex.finishedAt,
      Error: ex.error && ex.error !== 'error' ? ex.error : '',
    };
    if (c.rec.State.Health) c.rec.State.Health = { ...c.rec.State.Health, Status: 'unhealthy' };
    svc.save(c);
    if (ex.oom) svc.emit(c, 'oom');
    svc.emit(c, 'die', { exitCode: String(ex.code) });
    const res: WaitResult = { StatusCode: ex.code, Error: null };
    for (const w of c.exitWaiters.splice(0)) w(res);
    if (c.rec.HostConfig.AutoRemove) {
      await removeLocked(svc, c, { volumes: true, force: true });
      return;
    }
    if (ranMs >= RUNNING_RESET_MS) c.restartDelay = 100;
    if (shouldRestart(c, ex.code)) scheduleRestart(svc, c);
  });
}

export async function stopRunning(
  svc: Containers,
  c: Live,
  opts: { timeout?: number; signal?: string },
): Promise<void> {
  c.stopping = true;
  try {
    const rtid = svc.rtId(c.rec.Id);
    const exited = new Promise<WaitResult>((res) => c.exitWaiters.push(res));
    const sig = opts.signal || c.rec.Config.StopSignal || 'SIGTERM';
    const timeout = opts.timeout ?? c.rec.Config.StopTimeout ?? 10;
    // The process may have exited meanwhile: resume and kill of a gone process are no failures.
    if (c.rec.State.Paused) await svc.runtime.resume(rtid).catch(() => undefined);
    // the process may have exited meanwhile: a kill of a gone process is no failure
    await svc.runtime.kill(rtid, sig).catch(() => undefined);
    svc.emit(c, 'kill', { signal: String(parseSignal(sig)) });
    const ok =
      timeout < 0
        ? await exited.then(() => true)
        : await Promise.race([exited.then(() => true), sleep(timeout * 1000).then(() => false)]);
    if (!ok) {
      await svc.runtime.kill(rtid, 'SIGKILL', { all: true }).catch(() => undefined); // escalation: the process may be gone
      // (the second kill reaches the init of a container sharing a pid namespace)
      await svc.runtime.kill(rtid, 'SIGKILL').catch(() => undefined);
      svc.emit(c, 'kill', { signal: '9' });
      await Promise.race([exited, sleep(10_000)]);
    }
    svc.emit(c, 'stop');
  } finally {
    c.stopping = false;
  }
}

export async function removeLocked(
  svc: Containers,
  c: Live,
  opts: { volumes?: boolean; force?: boolean },
): Promise<void> {
  if (c.removed) return;
  c.watch?.abort();
  c.health?.stop();
  c.removed = true;
  c.rec.State = { ...c.rec.State, Status: 'removing' };
  await svc.runtime.delete(svc.rtId(c.rec.Id), { force: true }).catch(() => undefined); // a container the runtime no longer holds
  await svc.nets.detach(c.rec);
  await unmountRootfs(svc, c).catch(logFailure(log, 'could not unmount a rootfs', { id: c.rec.Id }));
  await removeContainerSnapshots(svc.ctx.snapshotter, c.rec.SnapshotKey);
  rmSync(c.dir, { recursive: true, force: true });
  svc.byId.delete(c.rec.Id);
  svc.execs?.forget(c.rec.Id);
  if (svc.names.get(c.rec.Name.slice(1)) === c.rec.Id) svc.names.delete(c.rec.Name.slice(1));
  if (opts.volumes)
    for (const m of c.rec.Mounts)
      if (m.Type === 'volume' && m.Anonymous && m.Name && !svc.volumeUsers(m.Name).length)
        await svc.ctx.volumes.remove(m.Name).catch(logFailure(log, 'could not remove a volume', { volume: m.Name }));
  svc.emit(c, 'destroy');
  const res: WaitResult = { StatusCode: c.rec.State.ExitCode, Error: null };
  for (const w of c.exitWaiters.splice(0)) w(res);
  for (const w of c.removedWaiters.splice(0)) w(res);
}

export function isMountpoint(dir: string): boolean {
  try {
    const info = readFileSync('/proc/self/mountinfo', 'utf8');
    return info.split('\n').some((l) => l.split(' ')[4] === dir);
  } catch {
    return false;
  }
}

function initBinary(): string | undefined {
  try {
    const p = join(nativeDir(), 'skiff-tini');
    return existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

/** Docker's log-opt sizes: 10m, 512k, 1g, plain bytes. */
export function parseSize(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)b?$/i.exec(v.trim());
  if (!m)
    throw invalidArgument(`HostConfig.LogConfig.Config.max-size: invalid size ${JSON.stringify(v)}`, {
      field: 'HostConfig.LogConfig.Config.max-size',
    });
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.floor(Number(m[1]) * mult);
}
