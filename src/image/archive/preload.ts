// Air-gapped image preload, as k3s's `agent/images/`: every `*.tar`, `*.tar.gz` (`.tgz`) and
// `*.tar.zst` (`.tzst`) in the given directories — `docker save` archives or OCI image layout
// archives, plain or compressed — is imported into the image store once per file content. What was
// imported is remembered in a state file (the archive's sha256 and, to skip re-hashing an
// unchanged file, its path, size and modification time), so a restart imports only new or changed
// archives. One line per archive says what happened; a bad archive is reported and skipped (its
// blobs go at the next garbage collection, no reference is written, it is retried at the next
// start), never stopping the others or the caller.
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { writeFileAtomic } from '../../common/index.js';
import { DigestingStream } from '../digest.js';
import { familiarString } from '../reference/index.js';
import type { Images } from '../store/images.js';
import { loadArchive } from './load.js';

/** File names the preload takes (k3s's archive suffixes that our loader reads). */
export const PRELOAD_SUFFIXES = ['.tar', '.tar.gz', '.tgz', '.tar.zst', '.tzst'];

export interface PreloadOutcome {
  file: string;
  status: 'imported' | 'unchanged' | 'failed';
  /** sha256 of the archive file (absent when it could not be read). */
  digest?: string;
  /** Names (or image ids for unnamed images) the archive brought. */
  images: string[];
  error?: string;
}

interface State {
  version: 1;
  /** archive sha256 → what it brought and when */
  archives: Record<string, { images: string[]; at: string }>;
  /** archive path → its sha256 when it had this size and mtime (skips re-hashing unchanged files) */
  files: Record<string, { digest: string; size: number; mtimeMs: number }>;
}

function readState(file: string): State {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as State;
    if (s?.version === 1 && typeof s.archives === 'object' && typeof s.files === 'object') return s;
  } catch {
    // missing or unreadable: start afresh (at worst archives are imported again, which is idempotent)
  }
  return { version: 1, archives: {}, files: {} };
}

/** The archives to consider in `dir` (not recursive, as k3s), sorted by name. */
export function preloadCandidates(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.') && PRELOAD_SUFFIXES.some((s) => n.endsWith(s)))
    .sort()
    .map((n) => join(dir, n))
    .filter((p) => {
      try {
        return statSync(p).isFile();
      } catch {
        return false; // a dangling symlink: nothing to import
      }
    });
}

async function sha256File(path: string): Promise<string> {
  const d = new DigestingStream({ highWaterMark: 1 << 20 });
  await pipeline(
    createReadStream(path, { highWaterMark: 1 << 20 }),
    d,
    new Writable({
      write(_c, _e, cb) {
        cb();
      },
    }),
  );
  return d.digest();
}

/**
 * Imports the archives of `dirs` not yet imported (by content) into `images`; `stateFile` keeps
 * what was. `log` gets one line per archive (failures too); the outcomes are returned.
 */
export async function preloadImages(
  images: Images,
  dirs: string[],
  stateFile: string,
  log: (line: string, level: 'info' | 'error') => void,
): Promise<PreloadOutcome[]> {
  const state = readState(stateFile);
  const out: PreloadOutcome[] = [];
  const save = () => writeFileAtomic(stateFile, `${JSON.stringify(state, null, 1)}\n`);
  for (const dir of dirs) {
    for (const file of preloadCandidates(dir)) {
      let digest: string | undefined;
      const started = Date.now();
      try {
        const st = statSync(file);
        const seen = state.files[file];
        // Unchanged since it was last seen (same size and mtime): not read again.
        digest = seen && seen.size === st.size && seen.mtimeMs === st.mtimeMs ? seen.digest : await sha256File(file);
        if (!seen || seen.digest !== digest || seen.size !== st.size || seen.mtimeMs !== st.mtimeMs) {
          state.files[file] = { digest, size: st.size, mtimeMs: st.mtimeMs };
          if (state.archives[digest]) save();
        }
        const prev = state.archives[digest];
        if (prev) {
          log(
            `images: ${file}: already imported (${digest.slice(0, 19)}, ${prev.images.join(', ') || 'no names'})`,
            'info',
          );
          out.push({ file, status: 'unchanged', digest, images: prev.images });
          continue;
        }
        const loaded = await loadArchive(images, createReadStream(file, { highWaterMark: 1 << 20 }));
        const names = [...new Set(loaded.map((l) => (l.name ? familiarString(l.name) : l.id)))];
        state.archives[digest] = { images: names, at: new Date().toISOString() };
        save();
        log(
          `images: imported ${names.join(', ') || 'nothing'} from ${file} (${digest.slice(0, 19)}, ${st.size} bytes, ${Date.now() - started} ms)`,
          'info',
        );
        out.push({ file, status: 'imported', digest, images: names });
      } catch (e) {
        const msg = (e as Error).message;
        log(`images: ${file}: not imported: ${msg}`, 'error');
        out.push({ file, status: 'failed', digest, images: [], error: msg });
      }
    }
  }
  return out;
}
