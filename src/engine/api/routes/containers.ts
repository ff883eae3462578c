// /containers/...: create, inspect, list, lifecycle, wait, logs, attach, resize, top, stats,
// changes, export, rename, update, prune.
import { invalidArgument, sleep } from '../../../common/index.js';
import {
  compareVersions,
  sendJson,
  hijack,
  RAW_STREAM,
  MULTIPLEXED_STREAM,
  type Router,
  type ApiRequest,
} from '../router.js';
import { parseGoInt, type Query } from '../query.js';
import type { ContainerBackend } from '../backends.js';
import { parseEventTime } from '../../events.js';

function timeArg(v: string | undefined, field: string): number | undefined {
  if (v === undefined || v === '' || v === '0') return undefined;
  const t = parseEventTime(v);
  if (t === undefined) throw invalidArgument(`${field}: invalid time value ${JSON.stringify(v)}`, { field });
  return t;
}

function attachRoute(r: ApiRequest, b: ContainerBackend) {
  const q = r.query;
  const o = {
    stdin: q.bool('stdin'),
    stdout: q.bool('stdout'),
    stderr: q.bool('stderr'),
    stream: q.bool('stream'),
    logs: q.bool('logs'),
    detachKeys: q.str('detachKeys'),
  };
  return b.attach(r.params.id, o, (tty) => hijack(r, tty ? RAW_STREAM : MULTIPLEXED_STREAM));
}

/** `h` and `w` of a resize (strconv.Atoi, both required); negative sizes are refused. */
export function resizeArgs(q: Query): [number, number] {
  const h = q.int('h') ?? parseGoInt('', 'h', 'strconv.Atoi');
  const w = q.int('w') ?? parseGoInt('', 'w', 'strconv.Atoi');
  if (h < 0 || w < 0) throw invalidArgument(`resize: invalid size ${h}x${w}`, { field: h < 0 ? 'h' : 'w' });
  return [h, w];
}

export function register(r: Router, b: ContainerBackend): void {
  r.post('/containers/create', async (q) => {
    const body = await q.json();
    const out = await b.create(body, q.query.str('name') || undefined, q.query.str('platform') || undefined);
    sendJson(q.res, 201, out);
  });
  r.get('/containers/json', async (q) => {
    const filters = q.query.filters();
    // The legacy `since`/`before` parameters are the filters of the same names.
    for (const k of ['since', 'before'] as const) {
      const v = q.query.str(k);
      if (v) filters[k] = [...(filters[k] ?? []), v];
    }
    return b.list({ all: q.query.bool('all'), limit: q.query.int('limit', -1)!, filters, size: q.query.bool('size') });
  });
  r.get('/containers/:id/json', async (q) => {
    const out = await b.inspect(q.params.id, { size: q.query.bool('size') });
    // Below API 1.45 the Aliases of a user-defined network also held the short id (moby keeps that
    // for old clients: docker-py and compose v1 pin old versions); from 1.45 it is in DNSNames only.
    if (compareVersions(q.version, '1.45') < 0) {
      const nets = (out.NetworkSettings as { Networks?: Record<string, { Aliases?: string[] | null }> } | undefined)
        ?.Networks;
      const short = String(out.Id).slice(0, 12);
      for (const [n, ep] of Object.entries(nets ?? {}))
        if (!['bridge', 'host', 'none', 'default'].includes(n) && !n.startsWith('container:'))
          ep.Aliases = [...new Set([...(ep.Aliases ?? []), short])];
    }
    return out;
  });
  r.post('/containers/:id/start', async (q) => {
    await b.start(q.params.id);
    q.res.writeHead(204);
    q.res.end();
  });
  r.post('/containers/:id/stop', async (q) => {
    await b.stop(q.params.id, {
      timeout: q.query.int('t'),
      signal: q.query.str('signal'),
    });
    q.res.writeHead(204);
    q.res.end();
  });
  r.post('/containers/:id/restart', async (q) => {
    await b.restart(q.params.id, {
      timeout: q.query.int('t'),
      signal: q.query.str('signal'),
    });
    q.res.writeHead(204);
    q.res.end();
  });
  r.post('/containers/:id/kill', async (q) => {
    await b.kill(q.params.id, q.query.str('signal') || 'SIGKILL');
    q.res.writeHead(204);
    q.res.end();
  });
  r.post('/containers/:id/pause', async (q) => {
    await b.pause(q.params.id);
    q.res.writeHead(204);
    q.res.end();
  });
  r.post('/containers/:id/unpause', async (q) => {
    await b.unpause(q.params.id);
    q.res.writeHead(204);
    q.res.end();
  });
  r.post('/containers/:id/rename', async (q) => {
    await b.rename(q.params.id, q.query.str('name') ?? '');
    q.res.writeHead(204);
    q.res.end();
  });
  r.post('/containers/:id/update', async (q) =>
    b.update(q.params.id, ((await q.json()) ?? {}) as Record<string, unknown>),
  );
  r.delete('/containers/:id*', async (q) => {
    // `docker rm --link /web/db`: removes web's link named db, not a container.
    if (q.query.bool('link')) b.removeLink(q.params.id);
    else await b.remove(q.params.id, { force: q.query.bool('force'), volumes: q.query.bool('v') });
    q.res.writeHead(204);
    q.res.end();
  });
  r.post('/containers/:id/wait', async (q) => {
    const cond = q.query.str('condition') ?? 'not-running';
    const ac = new AbortController();
    const p = b.wait(q.params.id, cond, ac.signal); // validates before headers go out
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
  r.get('/containers/:id/logs', async (q) => {
    const c = b.find(q.params.id);
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
    q.res.writeHead(200, { 'Content-Type': c.tty ? RAW_STREAM : MULTIPLEXED_STREAM });
    q.res.flushHeaders();
    // headers are sent: a failure (the client went away, the log vanished) can only end the stream
    await b.logs(c.id, { ...opts, signal: ac.signal }, q.res).catch(() => undefined);
    q.res.end();
  });
  r.post('/containers/:id/attach', (q) => attachRoute(q, b));
  r.post('/containers/:id/resize', async (q) => {
    const [h, w] = resizeArgs(q.query);
    await b.resize(q.params.id, h, w);
    sendJson(q.res, 200, undefined);
  });
  r.get('/containers/:id/top', async (q) => b.top(q.params.id, q.query.str('ps_args')));
  r.get('/containers/:id/stats', async (q) => {
    const stream = q.query.bool('stream', true);
    if (stream && q.query.bool('one-shot'))
      throw invalidArgument('cannot have stream=true and one-shot=true', { field: 'one-shot' });
    const id = b.find(q.params.id).id;
    if (!stream) {
      // As dockerd: one object and a newline, with its length (no delay, no chunking needed).
      const body = JSON.stringify(await b.stats(id, q.query.bool('one-shot'))) + '\n';
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
        st = await b.stats(id, false);
      } catch {
        break;
      }
      // a stopped container keeps streaming (zeros), as dockerd's
      q.res.write(JSON.stringify(st) + '\n');
      await sleep(1000);
    }
    q.res.end();
  });
  r.get('/containers/:id/changes', async (q) => b.changes(q.params.id));
  r.get('/containers/:id/export', async (q) => {
    const stream = await b.export(q.params.id);
    q.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    stream.pipe(q.res);
    await new Promise((res) => q.res.on('close', res));
  });
  r.post('/commit', async (q) => {
    const container = q.query.str('container');
    if (!container) throw invalidArgument('container: a container is required', { field: 'container' });
    b.find(container); // a missing container is a 404 before the body is read
    const config = ((await q.json()) ?? {}) as Record<string, unknown>;
    const id = await b.commit({
      container,
      repo: q.query.str('repo') || undefined,
      tag: q.query.str('tag') || undefined,
      comment: q.query.str('comment'),
      author: q.query.str('author'),
      changes: q.query
        .all('changes')
        .flatMap((x) => x.split('\n'))
        .filter(Boolean),
      pause: q.query.bool('pause', true),
      config,
    });
    sendJson(q.res, 201, { Id: id });
  });
  r.post('/containers/prune', async (q) => b.prune(q.query.filters(['until', 'label', 'label!'])));
}
