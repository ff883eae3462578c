// /images/...: list, inspect, history, tag, remove, pull/import (`/images/create`), push, save
// (`/images/{name}/get`, `/images/get`), load, prune, search.
import { Readable } from 'node:stream';
import { invalidArgument, isSkiffError, notImplemented, SkiffError, unavailable } from '../../../common/index.js';
import { parseRegistryAuthHeader } from '../../../registry/index.js';
import { compareVersions, jsonStream, type ApiRequest, type JsonStream, type Router } from '../router.js';
import type { ImagesBackend } from '../backends.js';

function auth(r: ApiRequest) {
  const h = r.req.headers['x-registry-auth'];
  return parseRegistryAuthHeader(Array.isArray(h) ? h[0] : h);
}

/** Aborts when the client goes away before the response finished. */
function clientSignal(r: ApiRequest): AbortSignal {
  const ac = new AbortController();
  r.res.on('close', () => {
    if (!r.res.writableFinished) ac.abort(unavailable('client disconnected'));
  });
  return ac.signal;
}

/** A JSON-message stream opened on the first message, so errors before it are plain HTTP errors. */
async function lazyStream(
  r: ApiRequest,
  run: (emit: (m: Record<string, unknown>) => void) => Promise<void>,
): Promise<void> {
  let s: JsonStream | undefined;
  const emit = (m: Record<string, unknown>) => {
    s ??= jsonStream(r.res);
    s.write(m);
  };
  try {
    await run(emit);
    s ??= jsonStream(r.res);
    s.end();
  } catch (e) {
    if (s) {
      s.error(e);
      return;
    }
    throw e;
  }
}

function pullError(e: unknown, ref: string): unknown {
  if (isSkiffError(e, 'NotFound') && e.reason !== undefined) {
    return new SkiffError('NotFound', `manifest for ${ref} not found: manifest unknown: ${e.message}`, { cause: e });
  }
  if (isSkiffError(e, 'FailedPrecondition') && (e.reason === 'UNAUTHORIZED' || e.reason === 'DENIED')) {
    return new SkiffError(
      'FailedPrecondition',
      `pull access denied for ${ref}, repository does not exist or may require 'docker login': ${e.message}`,
      { cause: e, reason: 'Forbidden' },
    );
  }
  return e;
}

async function create(r: ApiRequest, svc: ImagesBackend): Promise<void> {
  const q = r.query;
  const fromImage = q.str('fromImage');
  const fromSrc = q.str('fromSrc');
  if (fromImage && fromSrc) throw invalidArgument('fromImage and fromSrc are exclusive', { field: 'fromSrc' });
  const signal = clientSignal(r);
  if (fromImage) {
    const a = auth(r);
    const tag = q.str('tag') || undefined;
    await lazyStream(r, async (emit) => {
      try {
        await svc.pull(fromImage, tag, { platform: q.str('platform') || undefined, auth: a, emit, signal });
      } catch (e) {
        throw pullError(e, tag ? `${fromImage}:${tag}` : fromImage);
      }
    });
    return;
  }
  if (fromSrc === undefined) throw invalidArgument('fromImage or fromSrc is required', { field: 'fromImage' });
  let body: Readable;
  if (fromSrc === '-' || fromSrc === '') body = r.bodyStream() as Readable;
  else {
    let url: URL;
    try {
      url = new URL(fromSrc);
    } catch {
      throw invalidArgument(`fromSrc: ${JSON.stringify(fromSrc)} is neither "-" nor a URL`, { field: 'fromSrc' });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw invalidArgument(`fromSrc: unsupported URL scheme ${url.protocol}`, { field: 'fromSrc' });
    const res = await fetch(url, { signal });
    if (!res.ok || !res.body) throw invalidArgument(`fromSrc: GET ${url} answered ${res.status}`, { field: 'fromSrc' });
    body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
  }
  const changes = r.query.all('changes').filter((c) => c.trim() !== '');
  await lazyStream(r, async (emit) => {
    const id = await svc.importTar(body, {
      repo: q.str('repo') || undefined,
      tag: q.str('tag') || undefined,
      message: q.str('message') || undefined,
      changes,
      platform: q.str('platform') || undefined,
      signal,
    });
    emit({ status: id });
  });
}

export function register(r: Router, b: ImagesBackend): void {
  r.get('/images/json', async (q) => {
    const f = q.query.filters();
    // The deprecated `filter` (a reference glob) only before API 1.41, as dockerd.
    const legacy = compareVersions(q.version, '1.41') < 0 ? q.query.str('filter') : undefined;
    if (legacy) f.reference = [...(f.reference ?? []), legacy];
    return b.list(f);
  });
  r.post('/images/create', (q) => create(q, b));
  r.post('/images/load', async (q) => {
    const lines = await b.load(q.bodyStream() as Readable, clientSignal(q));
    const s = jsonStream(q.res);
    for (const l of lines) s.write({ stream: `${l}\n` });
    s.end();
  });
  r.post('/images/prune', async (q) => b.prune(q.query.filters()));
  r.get('/images/search', () => {
    throw notImplemented(
      'image search is not available: this engine has no Docker Hub access (search a registry you run with `skiff registry` through its /v2/_catalog)',
    );
  });
  r.get('/images/get', async (q) => {
    const names = q.query.all('names').filter(Boolean);
    await save(q, b, names);
  });
  r.get('/images/:name*/json', async (q) => b.inspect(q.params.name));
  r.get('/images/:name*/history', async (q) => b.history(q.params.name));
  r.get('/images/:name*/get', async (q) => save(q, b, [q.params.name]));
  r.post('/images/:name*/tag', async (q) => {
    await b.tag(q.params.name, q.query.str('repo') ?? '', q.query.str('tag') || undefined);
    q.res.writeHead(201);
    q.res.end();
  });
  // moby's distribution router: the registry's view of a reference (X-Registry-Auth as for pull)
  r.get('/distribution/:name*/json', async (q) =>
    b.distribution(q.params.name, { auth: auth(q), signal: clientSignal(q) }),
  );
  r.post('/images/:name*/push', async (q) => {
    const a = auth(q);
    const signal = clientSignal(q);
    await lazyStream(q, (emit) => b.push(q.params.name, q.query.str('tag') || undefined, { auth: a, emit, signal }));
  });
  r.delete('/images/:name*', async (q) =>
    b.remove(q.params.name, { force: q.query.bool('force'), noprune: q.query.bool('noprune') }),
  );
}

async function save(q: ApiRequest, svc: ImagesBackend, names: string[]): Promise<void> {
  if (!names.length) throw invalidArgument('names: name at least one image', { field: 'names' });
  for (const n of names) await svc.resolve(n); // 404 before any byte is sent
  q.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  try {
    await svc.save(names, q.res, clientSignal(q));
  } catch (e) {
    q.res.destroy(e as Error);
  }
}
