// /containers/...: create, inspect, list, lifecycle, wait, logs, attach, resize, top, stats,
// changes, export, rename, update, prune.
import { invalidArgument } from '../../../common/index.js';
import { sendJson, hijack, RAW_STREAM, MULTIPLEXED_STREAM, type Router, type ApiRequest } from '../router.js';
import { parseGoInt, type Query } from '../query.js';
import type { ApiContext } from '../context.js';
import type { Containers } from '../../services/containers/service.js';
import { inspect, summary } from '../../services/containers/view.js';
import { listContainers, pruneCandidates } from '../../services/containers/list.js';
import { streamLogs, bridgeAttach, parseDetachKeys, monitorAttach } from '../../services/containers/streams.js';
import { containerStats } from '../../services/containers/stats.js';
import { topProcesses } from '../../services/containers/top.js';
import { sizesOf } from '../../services/containers/size.js';
import { parseEventTime } from '../../events.js';

export type ContainersBackend = Pick<ApiContext, 'containers' | 'snapshotter' | 'images' | 'events'>;
const svc = (ctx: ContainersBackend) => ctx.containers;

function paths(s: Containers, ctx: ContainersBackend, id: string) {
  return { dir: s.dirOf(id), logPath: s.logPath(id), rootfs: s.rootfs(id), snapshotter: ctx.snapshotter.name };
}

function timeArg(v: string | undefined, field: string): number | undefined {
  if (v === undefined || v === '' || v === '0') return undefined;
  const t = parseEventTime(v);
  if (t === undefined) throw invalidArgument(`${field}: invalid time value ${JSON.stringify(v)}`, { field });
  return t;
}

async function attachRoute(r: ApiRequest, ctx: ContainersBackend) {
  const s = svc(ctx);
  const c = s.get(r.params.id);
  const q = r.query;
  const detachKeys = parseDetachKeys(q.str('detachKeys'));
  const o = {
    stdin: q.bool('stdin'),
    stdout: q.bool('stdout'),
    stderr: q.bool('stderr'),
    stream: q.bool('stream'),
    logs: q.bool('logs'),
    detachKeys,
  };
  if (!o.stream && !o.logs)
    throw invalidArgument('Bad parameters: you must choose at least one stream', { field: 'stream' });
  const tty = c.Config.Tty;
  s.event(c.Id, 'attach'); // as dockerd, once the request is accepted
  const { socket, head } = hijack(r, tty ? RAW_STREAM : MULTIPLEXED_STREAM);
  socket.pause();
  try {
    if (o.logs)
      await streamLogs(s, c.Id, { follow: false, stdout: o.stdout, stderr: o.stderr, timestamps: false }, socket);
    if (!o.stream) {
      socket.end();
      return;
    }
    const connect = async (mdir: string | undefined) => {
      if (!mdir) {
        socket.end();
        return;
      }
      try {
        const sess = await monitorAttach(mdir, { closeStdinOnEnd: false });
        void bridgeAttach(sess, socket, head, o, tty, c.Config.StdinOnce).catch(() => socket.destroy());
      } catch (e) {
        socket.destroy();
        throw e;
      }
    };
    if (c.State.Running) await connect(s.monitorDir(c.Id));
    else {
      // Attach before start (docker run): connected once the container exists, before its process runs.
      s.attachBeforeStart(c.Id, connect);
      // A container that is never started ends the connection when removed.
      void s.wait(c.Id, 'removed').then(
        () => {
          if (!socket.destroyed) socket.end();
        },
        () => undefined,
      );
    }
  } catch (e) {
    socket.destroy();
    throw e;
  }
}

/** `h` and `w` of a resize (strconv.Atoi, both required); negative sizes are refused. */
export function resizeArgs(q: Query): [number, number] {
  const h = q.int('h') ?? parseGoInt('', 'h', 'strconv.Atoi');
  const w = q.int('w') ?? parseGoInt('', 'w', 'strconv.Atoi');
  if (h < 0 || w < 0) throw invalidArgument(`resize: invalid size ${h}x${w}`, { field: h < 0 ? 'h' : 'w' });
  return [h, w];
}

export function register<C extends ContainersBackend>(r: Router<C>): void {
  r.post('/containers/create', async (q, ctx) => {
    const body = await q.json();
    const out = await svc(ctx).create(body, q.query.str('name') || undefined, q.query.str('platform') || undefined);
    sendJson(q.res, 201, out);
  });
  r.get('/containers/json', async (q, ctx) => {
    const filters = q.query.filters();
    // The legacy `since`/`before` parameters are the filters of the same names.
    for (const k of ['since', 'before'] as const) {
      const v = q.query.str(k);
      if (v) filters[k] = [...(filters[k] ?? []), v];
    }
    const list = listContainers(svc(ctx).all(), {
      all: q.query.bool('all'),
      limit: q.query.int('limit', -1)!,
      filters,
    });
    if (!q.query.bool('size')) return list.map((c) => summary(c));
    const sizes = await sizesOf(ctx.snapshotter, ctx.images, list);
    return list.map((c, i) => summary(c, sizes[i]));
  });
  r.get('/containers/:id/json', async (q, ctx) => {
    const s = svc(ctx);
    const c = s.get(q.params.id);
    const out = inspect(c, paths(s, ctx, c.Id), s.execIds(c.Id));
    if (q.query.bool('size')) {
      const [z] = await sizesOf(ctx.snapshotter, ctx.images, [c]);
      out.SizeRw = z.rw;
      out.SizeRootFs = z.rootfs;
    }
    return out;
  });
  r.post('/containers/:id/start', async (q, ctx) => {
    await svc(ctx).start(q.params.id);
    q.res.writeHead(204);
    q.res.end();
  });
  r.post('/containers/:id/stop', async (q, ctx) => {
    await svc(ctx).stop(q.params.id, {
      timeout: q.query.int('t'),
      signal: q.query.str('signal'),
    });
    q.res.writeHead(204);
    q.res.end();
  });
  r.post('/containers/:id/restart', async (q, ctx) => {
    await svc(ctx).restart(q.params.id, {
      timeout: q.query.int('t'),
      signal: q.query.str('signal'),
    });
    q.res.writeHead(204);
    q.res.end();
  });
  r.post('/containers/:id/kill', async (q, ctx) => {
    await svc(ctx).kill(q.params.id, q.query.str('signal') || 'SIGKILL');
    q.res.writeHead(204);
    q.res.end();
  });
  r.post('/containers/:id/pause', async (q, ctx) => {
    await svc(ctx).pause(q.params.id);
    q.res.writeHead(204);
    q.res.end();
  });
  r.post('/containers/:id/unpause', async (q, ctx) => {
    await svc(ctx).unpause(q.params.id);
    q.res.writeHead(204);
    q.res.end();
  });
  r.post('/containers/:id/rename', async (q, ctx) => {
    await svc(ctx).rename(q.params.id, q.query.str('name') ?? '');
    q.res.writeHead(204);
    q.res.end();
  });
  r.post('/containers/:id/update', async (q, ctx) =>
    svc(ctx).update(q.params.id, ((await q.json()) ?? {}) as Record<string, unknown>),
  );
  r.delete('/containers/:id*', async (q, ctx) => {
    // `docker rm --link /web/db`: removes web's link named db, not a container.
    if (q.query.bool('link')) svc(ctx).removeLink(q.params.id);
    else await svc(ctx).remove(q.params.id, { force: q.query.bool('force'), volumes: q.query.bool('v') });
    q.res.writeHead(204);
    q.res.end();
  });
  r.post('/containers/:id/wait', async (q, ctx) => {
    const s = svc(ctx);
    const cond = q.query.str('condition') ?? 'not-running';
    const ac = new AbortController();
    const p = s.wait(q.params.id, cond, ac.signal); // validates before headers go out
    // Headers must reach the client before we block, or `docker run` deadlocks (it starts the container after).
    q.res.writeHead(200, { 'Content-Type': 'application/json' });
    q.res.flushHeaders();
    q.res.on('close', () => ac.abort());
    try {
      const out = await p;
      q.res.end(JSON.stringify(out) + '\n');
    } catch {
      q.res.end();
    }
  });
  r.get('/containers/:id/logs', async (q, ctx) => {
    const s = svc(ctx);
    const c = s.get(q.params.id);
    const stdout = q.query.bool('stdout'),
      stderr = q.query.bool('stderr');
    if (!stdout && !stderr)
      throw invalidArgument('Bad parameters: you must choose at least one stream', { field: 'stdout' });
    // dockerd (documented): a negative or non-integer tail, like "all", means every line.
    let tail: number | undefined;
    try {
      tail = q.query.int('tail');
    } catch {
      tail = undefined;
    }
    if (tail !== undefined && tail < 0) tail = undefined;
    const opts = {
      follow: q.query.bool('follow'),
      stdout,
      stderr,
      timestamps: q.query.bool('timestamps'),
      details: q.query.bool('details'),
      tail,
      since: timeArg(q.query.str('since'), 'since'),
      until: timeArg(q.query.str('until'), 'until'),
    };
    const ac = new AbortController();
    q.res.on('close', () => ac.abort());
    q.res.writeHead(200, { 'Content-Type': c.Config.Tty ? RAW_STREAM : MULTIPLEXED_STREAM });
    q.res.flushHeaders();
    await streamLogs(s, c.Id, { ...opts, signal: ac.signal }, q.res).catch(() => undefined);
    q.res.end();
  });
  r.post('/containers/:id/attach', attachRoute);
  r.post('/containers/:id/resize', async (q, ctx) => {
    const [h, w] = resizeArgs(q.query);
    const s = svc(ctx);
    const c = s.get(q.params.id);
    if (!c.State.Running) throw invalidArgument(`Container ${c.Id} is not running`, { field: 'id' });
    const sess = await monitorAttach(s.monitorDir(c.Id));
    sess.resize(h, w);
    setTimeout(() => sess.close(), 50);
    sendJson(q.res, 200, undefined);
  });
  r.get('/containers/:id/top', async (q, ctx) => topProcesses(svc(ctx), q.params.id, q.query.str('ps_args')));
  r.get('/containers/:id/stats', async (q, ctx) => {
    const s = svc(ctx);
    const stream = q.query.bool('stream', true);
    if (stream && q.query.bool('one-shot'))
      throw invalidArgument('cannot have stream=true and one-shot=true', { field: 'one-shot' });
    const id = s.get(q.params.id).Id;
    if (!stream) {
      // As dockerd: one object and a newline, with its length (no delay, no chunking needed).
      const body = JSON.stringify(await containerStats(s, id, q.query.bool('one-shot'))) + '\n';
      q.res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      q.res.end(body);
      return;
    }
    q.res.writeHead(200, { 'Content-Type': 'application/json' });
    let closed = false;
    q.res.on('close', () => {
      closed = true;
    });
    while (!closed) {
      let st;
      try {
        st = await containerStats(s, id, false);
      } catch {
        break;
      }
      q.res.write(JSON.stringify(st) + '\n');
      if (!s.get(id).State.Running) {
        /* docker keeps streaming zeros; one more and stop */
      }
      await new Promise((res) => setTimeout(res, 1000));
    }
    q.res.end();
  });
  r.get('/containers/:id/changes', async (q, ctx) => {
    const c = svc(ctx).get(q.params.id);
    const ch = await ctx.snapshotter.changes(c.SnapshotKey);
    return ch.map((x) => ({ Path: x.path, Kind: x.kind === 'C' ? 0 : x.kind === 'A' ? 1 : 2 }));
  });
  r.get('/containers/:id/export', async (q, ctx) => {
    const s = svc(ctx);
    const { exportRootfs } = await import('../../services/containers/archive.js');
    const stream = await exportRootfs(s, q.params.id);
    q.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    stream.pipe(q.res);
    await new Promise((res) => q.res.on('close', res));
  });
  r.post('/commit', async (q, ctx) => {
    const s = svc(ctx);
    const ref = q.query.str('container');
    if (!ref) throw invalidArgument('container: a container is required', { field: 'container' });
    const c = s.get(ref);
    const body = ((await q.json()) ?? {}) as Record<string, unknown>;
    const changes = q.query
      .all('changes')
      .flatMap((x) => x.split('\n'))
      .filter(Boolean);
    const { applyChanges } = await import('../../../image/index.js');
    const base = {
      User: c.Config.User,
      Env: c.Config.Env,
      Cmd: c.Config.Cmd ?? undefined,
      Entrypoint: c.Config.Entrypoint ?? undefined,
      WorkingDir: c.Config.WorkingDir,
      Labels: c.Config.Labels,
      ExposedPorts: c.Config.ExposedPorts ?? undefined,
      Volumes: c.Config.Volumes ?? undefined,
      StopSignal: c.Config.StopSignal,
      ...(c.Config.Healthcheck ? { Healthcheck: c.Config.Healthcheck } : {}),
      ...body,
    };
    const config = applyChanges(base as never, changes);
    const pause = q.query.bool('pause', true) && c.State.Running && !c.State.Paused;
    if (pause) await s.pause(c.Id);
    try {
      const diff = await ctx.snapshotter.diff(c.SnapshotKey);
      const id = await ctx.images.commitFromDiff(diff, config, {
        parent: c.Image,
        repo: q.query.str('repo') || undefined,
        tag: q.query.str('tag') || undefined,
        comment: q.query.str('comment'),
        author: q.query.str('author'),
        container: c.Id,
        containerConfig: c.Config,
        createdBy: [c.Path, ...c.Args].join(' '),
      });
      ctx.events.emit({
        Type: 'container',
        Action: 'commit',
        id: c.Id,
        attributes: { name: c.Name.slice(1), image: c.ImageName, comment: q.query.str('comment') ?? '' },
      });
      sendJson(q.res, 201, { Id: id });
    } finally {
      if (pause) await s.unpause(c.Id).catch(() => undefined);
    }
  });
  r.post('/containers/prune', async (q, ctx) => {
    const s = svc(ctx);
    const deleted: string[] = [];
    for (const c of pruneCandidates(s.all(), q.query.filters(['until', 'label', 'label!']))) {
      await s.remove(c.Id, {}).then(
        () => deleted.push(c.Id),
        () => undefined,
      );
    }
    ctx.events.emit({ Type: 'container', Action: 'prune', id: '', attributes: { reclaimed: '0' } });
    return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: 0 };
  });
}
