// Snapshotter: containerd's vocabulary. A snapshot is a directory tree identified by a key:
// `prepare` makes an active (writable) one on top of a committed parent, `view` a read-only one,
// `commit` turns an active snapshot into a committed, immutable one under a name, and `mounts`
// tells how to assemble it (overlay or bind mounts) where a container needs it.
import type { Readable } from 'node:stream';
import type { WhiteoutMode } from '../unpack/apply.js';

export type SnapshotKind = 'active' | 'view' | 'committed';

export interface Mount {
  type: string; // 'overlay' | 'bind'
  source: string;
  target?: string;
  options: string[];
}

export interface SnapshotInfo {
  /** The key (active/view) or name (committed). */
  name: string;
  parent?: string;
  kind: SnapshotKind;
  createdAt: Date;
  updatedAt: Date;
  labels: Record<string, string>;
}

export interface Usage {
  /** Bytes used by this snapshot's own data (allocated blocks). */
  size: number;
  inodes: number;
}

/** A change between an active snapshot and its parent, as `docker diff` prints it. */
export interface Change {
  kind: 'A' | 'C' | 'D';
  path: string;
}

export interface Snapshotter {
  /** 'overlayfs' or 'native' (the copy snapshotter), as containerd names them. */
  readonly name: string;
  readonly root: string;
  prepare(key: string, parent?: string, opts?: { labels?: Record<string, string> }): Promise<Mount[]>;
  view(key: string, parent?: string, opts?: { labels?: Record<string, string> }): Promise<Mount[]>;
  mounts(key: string): Promise<Mount[]>;
  commit(name: string, key: string, opts?: { labels?: Record<string, string> }): Promise<void>;
  /** Removes a snapshot; FailedPrecondition while it has children. */
  remove(key: string): Promise<void>;
  stat(key: string): Promise<SnapshotInfo>;
  /** Merges labels (a value of '' removes the key). */
  update(key: string, labels: Record<string, string>): Promise<SnapshotInfo>;
  walk(): AsyncIterable<SnapshotInfo>;
  usage(key: string): Promise<Usage>;
  // --- Skiff additions ---
  /** Where a layer is applied for an active snapshot, without mounting, and how whiteouts are written. */
  applyTarget(key: string): Promise<{ dir: string; whiteouts: WhiteoutMode; lowers?: string[] }>;
  /** The changes of an active snapshot against its parent as a layer tar (whiteouts included). */
  diff(key: string, opts?: { signal?: AbortSignal }): Promise<Readable>;
  /** The changes of an active snapshot against its parent (`docker diff`). */
  changes(key: string): Promise<Change[]>;
}
