// POST /build (the classic builder's API: a tar context in, a JSON-message stream out) and
// POST /build/prune. The builder itself lives in src/build; this file only maps the wire format.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidArgument, notImplemented, toSkiffError, httpStatus } from '../../../common/index.js';
import { Builder, type BuildCacheRecord, type RegistryAuth } from '../../../build/index.js';
import { normalizeAuthKey, type AuthConfig } from '../../../registry/index.js';
import { pullReference } from '../../services/images/transfer.js';
import { jsonStream, type ApiRequest, type Router } from '../router.js';
import type { ApiContext } from '../context.js';

export type BuildBackend = Pick<ApiContext, 'images' | 'imageStore' | 'snapshotter' | 'root' | 'networks'>;

const builders = new WeakMap<BuildBackend, Builder>();

function builderOf(ctx: BuildBackend): Builder {
  let b = builders.get(ctx);
  if (!b) {
    const svc = ctx.images;
    b = new Builder({
      images: ctx.imageStore,
      snapshotter: ctx.snapshotter,
      dataDir: join(ctx.root, 'build'),
      pull: async (ref, signal, auths) => {
        await svc.pull(ref, undefined, { emit: () => {}, signal, auth: authFor(ref, auths) });
      },
      sandbox: (id) => ctx.networks.sandbox(id),
    });
    builders.set(ctx, b);
  }
  return b;
}

/** The build's credentials (X-Registry-Config) for the registry of `ref`; undefined falls back to
 *  the engine's stored logins. */
function authFor(ref: string, auths: Record<string, RegistryAuth> | undefined): AuthConfig | undefined {
  if (!auths) return undefined;
  const domain = normalizeAuthKey(pullReference(ref).domain);
  const hit = Object.entries(auths).find(([k]) => normalizeAuthKey(k) === domain)?.[1];
  if (!hit) return undefined;
  let { username, password } = hit;
  if (!username && hit.auth) [username, password] = Buffer.from(hit.auth, 'base64').toString().split(/:(.*)/s, 2);
  return { username, password, identitytoken: hit.identitytoken, serveraddress: hit.serveraddress };
}

/** X-Registry-Config: base64url JSON of registry → credentials, as the docker CLI sends it. */
function registryConfig(r: ApiRequest): Record<string, RegistryAuth> | undefined {
  const h = r.req.headers['x-registry-config'];
  if (typeof h !== 'string' || !h) return undefined;
  try {
    const v = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, RegistryAuth>) : undefined;
  } catch {
    throw invalidArgument('X-Registry-Config: not base64-encoded JSON', { field: 'X-Registry-Config' });
  }
}

/** Extracts the request body (tar, optionally gzip/bzip2/xz/zstd — GNU tar detects it) into `dir`. */
async function extractContext(r: ApiRequest, dir: string): Promise<void> {
  const tar = spawn('tar', ['-x', '-f', '-', '-C', dir, '--no-same-owner'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  tar.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const done = new Promise<number>((res) => tar.on('close', (c) => res(c ?? 1)));
  await pipeline(r.bodyStream(), padTar(), tar.stdin).catch(() => {});
  if ((await done) !== 0)
    throw invalidArgument(`build context: not a valid tar archive: ${err.trim()}`, { field: 'context' });
}

const COMPRESSED = [
  Buffer.from([0x1f, 0x8b]), // gzip
  Buffer.from('BZh'),
  Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), // xz
  Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), // zstd
];

/** Completes an uncompressed tar that stops right after its last file's bytes: the docker CLI
 *  sends such a context for `docker build -f - DIR` (it appends the Dockerfile from stdin and
 *  never pads that member nor writes the end-of-archive blocks — measured on the wire with CLI
 *  28). dockerd's Go reader accepts it, GNU tar calls it an unexpected EOF; zeros up to the next
 *  512-byte block and two empty blocks make it a whole archive (extra zeros after a complete one
 *  are ignored). Compressed streams are left as they are. */
function padTar(): Transform {
  let n = 0;
  let head = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (head.length < 8) head = Buffer.concat([head, chunk.subarray(0, 8 - head.length)]);
      n += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      if (n === 0 || COMPRESSED.some((m) => head.subarray(0, m.length).equals(m))) return cb();
      cb(null, Buffer.alloc(((512 - (n % 512)) % 512) + 1024));
    },
  });
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

async function build(r: ApiRequest, ctx: BuildBackend): Promise<void> {
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
  const dir = mkdtempSync(join(ctx.root, 'build-ctx-'));
  const ac = new AbortController();
  r.res.on('close', () => {
    if (!r.res.writableFinished) ac.abort(new Error('client disconnected'));
  });
  try {
    await extractContext(r, dir);
    const s = jsonStream(r.res);
    const held: string[] = [];
    try {
      const res = await builderOf(ctx).build({
        contextDir: dir,
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
          if (quiet) held.push(l);
          else s.write({ stream: `${l}\n` });
        },
      });
      if (quiet) s.write({ stream: `${res.id}\n` });
      else s.write({ aux: { ID: res.id } });
      s.end();
    } catch (e) {
      const err = toSkiffError(e);
      for (const l of held) s.write({ stream: `${l}\n` });
      const exit = /^ExitCode(\d+)$/.exec(err.reason ?? '')?.[1];
      // a RUN's output was streamed already: the message is dockerd's one line, without its tail
      const message = exit ? err.message.split('\n')[0] : err.message;
      s.write({ errorDetail: { message, code: exit ? Number(exit) : httpStatus(err.code) }, error: message });
      s.end();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function register<C extends BuildBackend>(router: Router<C>): void {
  router.add('POST', '/build', build);
  // dockerd answers this from BuildKit's cache even for classic builds (`docker builder prune`,
  // and `docker system prune` calls it too): the entries go, then the image store's garbage
  // collection frees the layers and snapshots no image uses.
  router.add('POST', '/build/prune', async (_r, ctx) => {
    const p = builderOf(ctx).prune();
    const gc = await ctx.images.gc();
    return { CachesDeleted: p.CachesDeleted, SpaceReclaimed: p.SpaceReclaimed + gc.reclaimedBytes };
  });
}

/** GET /system/df's BuildCache. */
export function buildCacheUsage(ctx: BuildBackend): Promise<BuildCacheRecord[]> {
  return builderOf(ctx).diskUsage();
}
