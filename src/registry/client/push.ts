// pushImage: uploads an image (manifest or index, with its children) from the ContentStore. Each blob
// is checked with HEAD first, then mounted from another repository of the same registry when the
// store's distribution-source label names one, else uploaded (monolithic PUT, or PATCH chunks with
// Content-Range when `chunkSize` is set). Manifests go last, children before the index.
import type { Readable } from 'node:stream';
import { invalidArgument, isSkiffError, notFound } from '../../common/index.js';
import { parseManifest, type ContentStore, type Descriptor, type Reference } from '../../image/index.js';
import { remoteError } from './errors.js';
import { endpoints, mapLimit, shortId, sleep, toReference, type ClientOptions } from './common.js';
import type { RegistryTransport } from './transport.js';

export interface PushOptions extends ClientOptions {
  store: ContentStore;
  /** The manifest or index to push (the engine resolves the image to it). */
  manifestDigest: string;
  /** Upload in chunks of this many bytes (PATCH + Content-Range); default one monolithic PUT. */
  chunkSize?: number;
}

export interface PushResult {
  reference: string;
  digest: string;
  size: number;
  mediaType: string;
}

/** Progress without a Transform in the way: a 'data' listener beside the pipe sees every chunk. */
function counting(rs: Readable, onBytes: (n: number) => void): Readable {
  rs.pause(); // stays paused until piped: adding a 'data' listener to a paused stream does not start it
  rs.on('data', (c: Buffer) => onBytes(c.length));
  return rs;
}

function withDigest(location: string, base: URL, digest: string): URL {
  const u = new URL(location, base);
  u.searchParams.set('digest', digest);
  return u;
}

class Pusher {
  constructor(
    private t: RegistryTransport,
    private ref: Reference,
    private o: PushOptions,
  ) {}
  private get path() {
    return this.ref.path;
  }
  private get scopes() {
    return [`repository:${this.path}:pull,push`];
  }

  async blobExists(digest: string): Promise<boolean> {
    const res = await this.t.call('HEAD', `/v2/${this.path}/blobs/${digest}`, {
      scopes: this.scopes,
      signal: this.o.signal,
    });
    res.drain();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await remoteError(res, `checking blob ${digest}`);
  }

  private async mountSources(digest: string): Promise<string[]> {
    try {
      const labels = (await this.o.store.info(digest)).labels;
      const v = labels[`containerd.io/distribution.source.${this.ref.domain}`];
      return v ? v.split(',').filter((p) => p && p !== this.path) : [];
    } catch {
      return [];
    }
  }

  async pushBlob(desc: Descriptor, quiet: boolean): Promise<void> {
    const id = shortId(desc.digest);
    const emit = (status: string, current?: number) => {
      if (!quiet) this.o.onProgress?.({ id, status, current, total: current === undefined ? undefined : desc.size });
    };
    emit('Preparing');
    if (await this.blobExists(desc.digest)) {
      emit('Layer already exists');
      return;
    }
    if (!(await this.o.store.has(desc.digest)))
      throw notFound(`blob ${desc.digest} is not in the content store: cannot push it`, { field: 'digest' });
    let location: string | undefined;
    for (const from of await this.mountSources(desc.digest)) {
      const res = await this.t.call(
        'POST',
        `/v2/${this.path}/blobs/uploads/?mount=${desc.digest}&from=${encodeURIComponent(from)}`,
        {
          scopes: [...this.scopes, `repository:${from}:pull`],
          signal: this.o.signal,
        },
      );
      res.drain();
      if (res.status === 201) {
        emit(`Mounted from ${from}`);
        return;
      }
      if (res.status === 202 && res.headers.location) {
        location = res.headers.location;
        break;
      }
    }
    const retries = this.o.retries ?? 3;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.upload(desc, location, (n) => emit('Pushing', n));
        emit('Pushed');
        return;
      } catch (e) {
        location = undefined;
        if ((isSkiffError(e) && e.code !== 'Unavailable') || this.o.signal?.aborted || attempt >= retries) throw e;
        await sleep((this.o.backoffMs ?? 200) * 2 ** attempt);
      }
    }
  }

  private async upload(desc: Descriptor, location: string | undefined, progress: (n: number) => void): Promise<void> {
    if (!location) {
      const res = await this.t.call('POST', `/v2/${this.path}/blobs/uploads/`, {
        scopes: this.scopes,
        signal: this.o.signal,
        headers: { 'Content-Length': 0 },
      });
      res.drain();
      if (res.status === 201) return;
      if (res.status !== 202 || !res.headers.location)
        throw await remoteError(res, `starting upload of ${desc.digest}`);
      location = res.headers.location;
    }
    let sent = 0;
    let lastEmit = 0;
    const onBytes = (n: number) => {
      sent += n;
      const now = Date.now();
      if (now - lastEmit > 100 || sent === desc.size) {
        lastEmit = now;
        progress(sent);
      }
    };
    const base = this.t.url('/');
    const chunk = this.o.chunkSize;
    if (chunk && chunk > 0 && desc.size > chunk) {
      for (let start = 0; start < desc.size; start += chunk) {
        const len = Math.min(chunk, desc.size - start);
        const res = await this.t.call('PATCH', new URL(location, base), {
          scopes: this.scopes,
          signal: this.o.signal,
          retry: false,
          headers: {
            'Content-Type': 'application/octet-stream',
            'Content-Length': len,
            'Content-Range': `${start}-${start + len - 1}`,
          },
          body: async () => counting(await this.o.store.reader(desc.digest, { offset: start, length: len }), onBytes),
        });
        res.drain();
        if (res.status !== 202 || !res.headers.location)
          throw await remoteError(res, `uploading ${desc.digest} (bytes ${start}-${start + len - 1})`);
        location = res.headers.location;
      }
      const res = await this.t.call('PUT', withDigest(location, base, desc.digest), {
        scopes: this.scopes,
        signal: this.o.signal,
        retry: false,
        headers: { 'Content-Length': 0 },
      });
      if (res.status !== 201) throw await remoteError(res, `finishing upload of ${desc.digest}`);
      res.drain();
      return;
    }
    const res = await this.t.call('PUT', withDigest(location, base, desc.digest), {
      scopes: this.scopes,
      signal: this.o.signal,
      retry: false,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': desc.size },
      body: async () => counting(await this.o.store.reader(desc.digest), onBytes),
    });
    if (res.status !== 201) throw await remoteError(res, `uploading ${desc.digest}`);
    res.drain();
  }

  /** Pushes a manifest or index and everything below it; `tag` only for the top level. */
  async pushManifest(digest: string, tag: string | undefined): Promise<PushResult> {
    const bytes = await this.o.store.readAll(digest);
    const parsed = parseManifest(bytes);
    if (parsed.kind === 'index') {
      for (const child of parsed.index.manifests) {
        if (await this.o.store.has(child.digest)) await this.pushManifest(child.digest, undefined);
        else {
          const res = await this.t.call('HEAD', `/v2/${this.path}/manifests/${child.digest}`, {
            scopes: this.scopes,
            signal: this.o.signal,
          });
          res.drain();
          if (res.status !== 200)
            throw notFound(
              `index ${digest} lists ${child.digest}, which is neither in the content store nor in ${this.ref.name}`,
              { field: 'manifests' },
            );
        }
      }
    } else {
      const m = parsed.manifest;
      await this.pushBlob(m.config as Descriptor, true);
      await mapLimit(m.layers as Descriptor[], this.o.concurrency ?? 3, (l) => this.pushBlob(l, false));
    }
    const target = tag ?? digest;
    const res = await this.t.call('PUT', `/v2/${this.path}/manifests/${target}`, {
      scopes: this.scopes,
      signal: this.o.signal,
      headers: { 'Content-Type': parsed.mediaType, 'Content-Length': bytes.length },
      body: bytes,
    });
    if (res.status !== 201) throw await remoteError(res, `putting manifest ${this.ref.name}:${target}`);
    res.drain();
    const got = res.headers['docker-content-digest'];
    if (typeof got === 'string' && got.startsWith('sha256:') && got !== digest) {
      throw invalidArgument(`registry stored manifest ${this.ref.name}:${target} as ${got}, expected ${digest}`, {
        field: 'digest',
        reason: 'DIGEST_INVALID',
      });
    }
    return {
      reference: `${this.ref.name}${tag ? `:${tag}` : `@${digest}`}`,
      digest,
      size: bytes.length,
      mediaType: parsed.mediaType,
    };
  }
}

/** Pushes the image `o.manifestDigest` from `o.store` to `ref` (tagged with ref's tag, if any). */
export async function pushImage(ref: string | Reference, o: PushOptions): Promise<PushResult> {
  const r = toReference(ref);
  const [t] = endpoints(r, o, true);
  const tag = r.digest ? undefined : r.tag;
  if (r.digest && r.digest !== o.manifestDigest)
    throw invalidArgument(`${r}: the reference pins ${r.digest} but the image is ${o.manifestDigest}`, {
      field: 'digest',
    });
  return new Pusher(t, r, o).pushManifest(o.manifestDigest, tag);
}
