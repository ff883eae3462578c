// The classic builder as an engine service (POST /build, /build/prune, df's BuildCache): the
// Builder of src/build assembled over the engine's image store, snapshotter, pulls and network
// sandboxes, and the tar context a client uploads extracted for it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidArgument } from '../../common/index.js';
import { Builder, type BuildCacheRecord, type RegistryAuth } from '../../build/index.js';
import type { Images, Snapshotter } from '../../image/index.js';
import { normalizeAuthKey, type AuthConfig } from '../../registry/index.js';
import { pullReference } from './images/transfer.js';

/** What the build service is built from. */
export interface BuildDeps {
  root: string;
  imageStore: Images;
  snapshotter: Snapshotter;
  images: {
    pull(
      ref: string,
      tag: undefined,
      o: { emit: () => void; signal?: AbortSignal; auth?: AuthConfig },
    ): Promise<unknown>;
    gc(): Promise<{ reclaimedBytes: number }>;
  };
  networks: { sandbox(id: string): Promise<{ netns: string; resolvConf: string; release(): Promise<void> }> };
}

export type BuildInput = Omit<Parameters<Builder['build']>[0], 'contextDir'>;

export class BuildService {
  private builder?: Builder;
  constructor(private readonly d: BuildDeps) {}

  /** Made on first use: an engine that never builds opens nothing of the builder's. */
  private get b(): Builder {
    this.builder ??= new Builder({
      images: this.d.imageStore,
      snapshotter: this.d.snapshotter,
      dataDir: join(this.d.root, 'build'),
      pull: async (ref, signal, auths) => {
        await this.d.images.pull(ref, undefined, { emit: () => {}, signal, auth: authFor(ref, auths) });
      },
      sandbox: (id) => this.d.networks.sandbox(id),
    });
    return this.builder;
  }

  async build(context: NodeJS.ReadableStream, o: BuildInput): Promise<{ id: string }> {
    const dir = mkdtempSync(join(this.d.root, 'build-ctx-'));
    try {
      await extractContext(context, dir);
      return await this.b.build({ ...o, contextDir: dir });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async prune(): Promise<{ CachesDeleted: string[] | null; SpaceReclaimed: number }> {
    const p = this.b.prune();
    const gc = await this.d.images.gc();
    return { CachesDeleted: p.CachesDeleted, SpaceReclaimed: p.SpaceReclaimed + gc.reclaimedBytes };
  }

  /** GET /system/df's BuildCache. */
  diskUsage(): Promise<BuildCacheRecord[]> {
    return this.b.diskUsage();
  }
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

/** Extracts the context (tar, plain or gzip/bzip2/xz/zstd) into `dir`. GNU tar detects a
 *  compression only in a file it can seek, never on a pipe ("Archive is compressed. Use -z
 *  option"): the first bytes choose its flag (docker compose v2's classic builder sends gzip). */
async function extractContext(body: NodeJS.ReadableStream, dir: string): Promise<void> {
  const it = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const first: Buffer[] = [];
  let got = 0;
  while (got < 8) {
    const r = await it.next();
    if (r.done) break;
    const b = Buffer.from(r.value);
    first.push(b);
    got += b.length;
  }
  const head = Buffer.concat(first);
  const flag = ['-z', '-j', '-J', '--zstd'][COMPRESSED.findIndex((m) => head.subarray(0, m.length).equals(m))];
  const tar = spawn('tar', ['-x', ...(flag ? [flag] : []), '-f', '-', '-C', dir, '--no-same-owner'], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let err = '';
  tar.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const done = new Promise<number>((res) => tar.on('close', (c) => res(c ?? 1)));
  const whole = Readable.from(
    (async function* () {
      yield* first;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    })(),
  );
  // a broken upload shows as tar's failure (its exit status and stderr, checked below)
  await pipeline(whole, padTar(), tar.stdin).catch(() => {});
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
