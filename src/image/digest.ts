// Digest helpers: `sha256:<64 hex>` strings (OCI image-spec "digest" grammar; only sha256 is
// produced, sha512 is accepted when parsing as the spec registers it).
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { invalidArgument, type Digest } from '../common/index.js';

export type { Digest };

const DIGEST_RE = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;
const HEX_LEN: Record<string, number> = { sha256: 64, sha512: 128 };

export interface ParsedDigest {
  algorithm: 'sha256' | 'sha512';
  hex: string;
}

/** Parses and validates a digest; the error names `field`. */
export function parseDigest(s: string, field = 'digest'): ParsedDigest {
  if (typeof s !== 'string') throw invalidArgument(`${field}: digest must be a string`, { field });
  const m = DIGEST_RE.exec(s);
  if (!m) throw invalidArgument(`${field}: invalid digest ${JSON.stringify(s)} (want "sha256:<64 hex>")`, { field });
  const algorithm = m[1];
  const want = HEX_LEN[algorithm];
  if (!want)
    throw invalidArgument(
      `${field}: unsupported digest algorithm ${JSON.stringify(algorithm)} in ${JSON.stringify(s)}`,
      { field },
    );
  if (m[2].length !== want || !/^[a-f0-9]+$/.test(m[2])) {
    throw invalidArgument(
      `${field}: invalid ${algorithm} digest ${JSON.stringify(s)} (want ${want} lowercase hex characters)`,
      { field },
    );
  }
  return { algorithm: algorithm as ParsedDigest['algorithm'], hex: m[2] };
}

export function isDigest(s: unknown): s is Digest {
  try {
    parseDigest(s as string);
    return true;
  } catch {
    return false;
  }
}

/** Validates and brands a digest string. */
export function asDigest(s: string, field = 'digest'): Digest {
  parseDigest(s, field);
  return s as Digest;
}

/** sha256 digest of bytes or a string (utf8). */
export function sha256Digest(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;
}

/** The hex part of a digest (after validation). */
export function digestHex(d: string, field = 'digest'): string {
  return parseDigest(d, field).hex;
}

/** An incremental sha256 with a byte count. */
export class Digester {
  private readonly h: Hash = createHash('sha256');
  size = 0;
  update(chunk: Uint8Array): void {
    this.h.update(chunk);
    this.size += chunk.length;
  }
  digest(): Digest {
    return `sha256:${this.h.digest('hex')}` as Digest;
  }
}

/** A pass-through stream that hashes what flows through it; `digest()` is valid after end. */
export class DigestingStream extends Transform {
  private readonly d = new Digester();
  private result?: Digest;
  constructor(opts?: { highWaterMark?: number }) {
    super({ highWaterMark: opts?.highWaterMark });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.d.update(chunk);
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    this.result = this.d.digest();
    cb();
  }
  get size(): number {
    return this.d.size;
  }
  digest(): Digest {
    if (!this.result) this.result = this.d.digest();
    return this.result;
  }
}
