// POST /build (the classic builder's API: a tar context in, a JSON-message stream out) and
// POST /build/prune. The builder lives in src/build, assembled by services/build.ts; this file only
// maps the wire format.
import { invalidArgument, notImplemented, toSkiffError, isObject, unavailable } from '../../../common/index.js';
import type { RegistryAuth } from '../../../build/index.js';
import { jsonStream, type ApiRequest, type JsonStream, type Router } from '../router.js';
import type { BuildBackend } from '../backends.js';

/** X-Registry-Config: base64url JSON of registry → credentials, as the docker CLI sends it. */
function registryConfig(r: ApiRequest): Record<string, RegistryAuth> | undefined {
  const h = r.req.headers['x-registry-config'];
  if (typeof h !== 'string' || !h) return undefined;
  try {
    const v = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as unknown;
    return isObject(v) ? (v as Record<string, RegistryAuth>) : undefined;
  } catch {
    throw invalidArgument('X-Registry-Config: not base64-encoded JSON', { field: 'X-Registry-Config' });
  }
}

function record(q: ApiRequest['query'], name: string): Record<string, string> {
  const v = q.json<Record<string, string | null>>(name) ?? {};
  if (typeof v !== 'object' || Array.isArray(v))
    throw invalidArgument(`${name} must be a JSON object`, { field: name });
  return Object.fromEntries(
    Object.entries(v)
      .filter(([, x]) => x !== null)
      .map(([k, x]) => [k, String(x)]),
  );
}

async function build(r: ApiRequest, b: BuildBackend): Promise<void> {
  const q = r.query;
  if (q.str('remote'))
    throw notImplemented('build: remote contexts (remote=) are not supported; send a tar context', { field: 'remote' });
  const tags = q.params.getAll('t').filter(Boolean);
  const buildArgs = record(q, 'buildargs');
  const labels = record(q, 'labels');
  const nm = q.str('networkmode') || 'default';
  if (!['default', 'bridge', 'none', 'host'].includes(nm))
    throw invalidArgument(`networkmode ${nm} is not supported (default, none or host)`, { field: 'networkmode' });
  const quiet = q.bool('q');
  const registryAuths = registryConfig(r);
  const ac = new AbortController();
  r.res.on('close', () => {
    if (!r.res.writableFinished) ac.abort(unavailable('client disconnected'));
  });
  // The stream (its 200) starts with the first line of output: what fails before any — a
  // Dockerfile that does not parse, an unknown --target — is an HTTP error, as dockerd answers
  // it (the CLI prints "Error response from daemon: …").
  let started: JsonStream | undefined;
  const stream = () => (started ??= jsonStream(r.res));
  const held: string[] = [];
  try {
    const res = await b.build(r.bodyStream(), {
      dockerfile: q.str('dockerfile') || 'Dockerfile',
      tags,
      buildArgs,
      labels,
      target: q.str('target') || undefined,
      noCache: q.bool('nocache'),
      pull: q.bool('pull'),
      registryAuths,
      network: nm === 'host' ? 'host' : nm === 'none' ? 'none' : 'default',
      signal: ac.signal,
      // q=1, as dockerd: the progress is held back; on success only the image id is sent, on
      // failure the held-back progress, then the error.
      onOutput: (l) => {
        const s = stream();
        if (quiet) held.push(l);
        else s.write({ stream: `${l}\n` });
      },
    });
    const s = stream();
    if (quiet) s.write({ stream: `${res.id}\n` });
    else s.write({ aux: { ID: res.id } });
    s.end();
  } catch (e) {
    if (!started) throw e;
    const s = started;
    const err = toSkiffError(e);
    for (const l of held) s.write({ stream: `${l}\n` });
    const exit = /^ExitCode(\d+)$/.exec(err.reason ?? '')?.[1];
    // a RUN's output was streamed already: the message is dockerd's one line, without its tail
    const message = exit ? err.message.split('\n')[0] : err.message;
    // a code only for a RUN's exit (the CLI exits with it); dockerd sends none otherwise
    s.write({ errorDetail: exit ? { message, code: Number(exit) } : { message }, error: message });
    s.end();
  }
}

export function register(router: Router, b: BuildBackend): void {
  router.add('POST', '/build', (r) => build(r, b));
  // dockerd answers this from BuildKit's cache even for classic builds (`docker builder prune`,
  // and `docker system prune` calls it too): the entries go, then the image store's garbage
  // collection frees the layers and snapshots no image uses.
  router.add('POST', '/build/prune', () => b.prune());
}
