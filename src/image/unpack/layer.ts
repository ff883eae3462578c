// Applying a (compressed) layer blob: decompress → hash (the diff id) → apply. The diff id covers
// the whole uncompressed stream, so the caller can check it against the image config.
import { pipeline } from 'node:stream/promises';
import { PassThrough, type Readable } from 'node:stream';
import { invalidArgument } from '../../common/index.js';
import { DigestingStream } from '../digest.js';
import type { Compression } from '../formats/index.js';
import { decompressor } from './decompress.js';
import { applyTar, type ApplyOptions, type ApplyResult } from './apply.js';

export interface LayerApplyResult extends ApplyResult {
  diffId: string;
  size: number;
}

export async function applyLayer(
  blob: Readable,
  compression: Compression,
  root: string,
  opts: ApplyOptions & { expectedDiffId?: string },
): Promise<LayerApplyResult> {
  const hasher = new DigestingStream({ highWaterMark: 1 << 20 });
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const flow = pipeline(blob, decompressor(compression), hasher, out, { signal: opts.signal });
  const streamError = (e: Error) =>
    invalidArgument(`layer: ${compression === 'none' ? 'read' : `${compression} decompression`} failed: ${e.message}`, {
      field: 'layer',
      cause: e,
    });
  let result: ApplyResult;
  try {
    result = await applyTar(out, root, opts);
  } catch (e) {
    // A broken stream surfaces in the tar reader too: report the stream's own error then.
    let flowError: Error | undefined;
    await flow.catch((fe: Error) => {
      flowError = fe;
    });
    out.destroy();
    blob.destroy();
    if (flowError && (e === flowError || (e as Error).message === flowError.message)) throw streamError(flowError);
    throw e;
  }
  await flow.catch((e: Error) => {
    throw streamError(e);
  });
  const diffId = hasher.digest();
  if (opts.expectedDiffId && opts.expectedDiffId !== diffId) {
    throw invalidArgument(
      `layer diff id mismatch: uncompressed content is ${diffId}, the image config says ${opts.expectedDiffId}`,
      { field: 'rootfs.diff_ids', reason: 'DigestMismatch' },
    );
  }
  return { ...result, diffId, size: hasher.size };
}
