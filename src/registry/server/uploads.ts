// Blob upload sessions. Data is appended to uploads/<uuid>/data while a running sha256 follows it,
// so finishing a session costs no second read; the digest is checked before the file is renamed
// into blobs/ (partial or corrupt data is never visible). The running hash lives in memory: after a
// restart (or a failed append) it is recomputed from the file when the session finishes.
import { promises as fs, createReadStream, createWriteStream } from 'node:fs';
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { regError } from './errors.js';
import type { RegistryStorage } from './storage.js';

interface Session {
  uuid: string;
  name: string;
  dir: string;
  size: number;
  hash: Hash | null;
  busy: boolean;
  startedAt: number;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class Uploads {
  private sessions = new Map<string, Session>();
  constructor(private storage: RegistryStorage) {}

  async start(name: string): Promise<Session> {
    const uuid = randomUUID();
    const dir = join(this.storage.uploadsDir, uuid);
    await fs.mkdir(dir);
    await fs.writeFile(join(dir, 'data'), '');
    const s: Session = { uuid, name, dir, size: 0, hash: createHash('sha256'), busy: false, startedAt: Date.now() };
    await fs.writeFile(join(dir, 'info.json'), JSON.stringify({ name, startedAt: s.startedAt }));
    this.sessions.set(uuid, s);
    return s;
  }

  async get(name: string, uuid: string): Promise<Session> {
    const unknown = () => regError('BLOB_UPLOAD_UNKNOWN', `upload ${uuid} is unknown to repository ${name}`, { uuid });
    if (!UUID_RE.test(uuid)) throw unknown();
    let s = this.sessions.get(uuid);
    if (!s) {
      const dir = join(this.storage.uploadsDir, uuid);
      try {
        const info = JSON.parse(await fs.readFile(join(dir, 'info.json'), 'utf8')) as {
          name: string;
          startedAt: number;
        };
        const size = (await fs.stat(join(dir, 'data'))).size;
        s = { uuid, name: info.name, dir, size, hash: null, busy: false, startedAt: info.startedAt };
        this.sessions.set(uuid, s);
      } catch {
        throw unknown();
      }
    }
    if (s.name !== name) throw unknown();
    return s;
  }

  /** Appends a request body; checks `Content-Range` start against the session's offset. */
  async append(
    s: Session,
    body: Readable,
    opts: { start?: number; end?: number; length?: number } = {},
  ): Promise<void> {
    if (opts.start !== undefined && opts.start !== s.size) {
      throw regError(
        'RANGE_INVALID',
        `chunk starts at ${opts.start} but the upload holds ${s.size} bytes; resume from ${s.size}`,
        { offset: s.size },
      );
    }
    if (
      opts.start !== undefined &&
      opts.end !== undefined &&
      opts.length !== undefined &&
      opts.end - opts.start + 1 !== opts.length
    ) {
      throw regError(
        'RANGE_INVALID',
        `Content-Range ${opts.start}-${opts.end} does not match Content-Length ${opts.length}`,
      );
    }
    if (s.busy) throw regError('BLOB_UPLOAD_INVALID', `upload ${s.uuid} is busy with another request`);
    s.busy = true;
    const hash = s.hash;
    let got = 0;
    try {
      // Plain 'data' events into a write stream (paused on back-pressure): per-chunk work is just
      // the hash update, with none of a pipeline's per-chunk promises.
      await new Promise<void>((resolve, reject) => {
        const ws = createWriteStream(join(s.dir, 'data'), { flags: 'a', highWaterMark: 4 << 20 });
        let failed = false;
        const fail = (e: Error) => {
          if (failed) return;
          failed = true;
          body.unpipe?.();
          ws.destroy();
          ws.once('close', () => reject(e));
        };
        ws.on('error', fail);
        body.on('error', fail);
        body.on('aborted', () => fail(new Error('request aborted')));
        body.on('data', (chunk: Buffer) => {
          hash?.update(chunk);
          got += chunk.length;
          if (!ws.write(chunk)) {
            body.pause();
            ws.once('drain', () => body.resume());
          }
        });
        body.on('end', () => {
          if (!failed) ws.end(() => resolve());
        });
        body.on('close', () => {
          if (
            !failed &&
            !(body as Readable & { complete?: boolean }).complete &&
            (body as Readable).readableEnded === false
          )
            fail(new Error('request closed before its end'));
        });
      });
      if (opts.length !== undefined && got !== opts.length)
        throw regError('SIZE_INVALID', `body has ${got} bytes but Content-Length says ${opts.length}`);
      s.size += got;
    } catch (e) {
      // Whatever reached the disk stays (resumable: GET reports the offset); the hash is rebuilt later.
      s.hash = null;
      s.size = (await fs.stat(join(s.dir, 'data')).catch(() => ({ size: 0 }))).size;
      throw e;
    } finally {
      s.busy = false;
    }
  }

  /** Verifies the digest and moves the data into the blob store; the session ends either way on mismatch. */
  async finish(s: Session, digest: string): Promise<number> {
    let actual: string;
    if (s.hash) actual = `sha256:${s.hash.digest('hex')}`;
    else {
      const h = createHash('sha256');
      await pipeline(createReadStream(join(s.dir, 'data'), { highWaterMark: 1 << 20 }), h);
      actual = `sha256:${h.digest('hex')}`;
    }
    s.hash = null;
    if (actual !== digest) {
      await this.cancel(s);
      throw regError('DIGEST_INVALID', `uploaded content has digest ${actual}, not ${digest}`, {
        expected: digest,
        actual,
        size: s.size,
      });
    }
    const size = s.size;
    await this.storage.commitBlob(join(s.dir, 'data'), digest);
    await this.storage.linkLayer(s.name, digest);
    await this.drop(s);
    return size;
  }

  async cancel(s: Session): Promise<void> {
    await this.drop(s);
  }

  private async drop(s: Session): Promise<void> {
    this.sessions.delete(s.uuid);
    await fs.rm(s.dir, { recursive: true, force: true });
  }

  /** Removes sessions idle for longer than `maxAgeMs` (by start time). */
  async purge(maxAgeMs: number): Promise<number> {
    let n = 0;
    for (const uuid of await fs.readdir(this.storage.uploadsDir).catch(() => [] as string[])) {
      const dir = join(this.storage.uploadsDir, uuid);
      // an upload that finished between readdir and stat is simply gone
      const st = await fs.stat(dir).catch(() => undefined);
      if (!st || Date.now() - st.mtimeMs < maxAgeMs || this.sessions.get(uuid)?.busy) continue;
      this.sessions.delete(uuid);
      await fs.rm(dir, { recursive: true, force: true });
      n++;
    }
    return n;
  }
}
export type { Session as UploadSession };
