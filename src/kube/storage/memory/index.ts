// The memory store: tests only (nothing survives the process), but with the full semantics.
import { LogStore, type LogStoreOptions } from '../log/store.js';
import { MemoryBackend } from './backend.js';
import type { Store } from '../types.js';

export function createMemoryStore(opts: LogStoreOptions = {}): Store {
  return new LogStore(new MemoryBackend(), { groupCommit: false, compactIntervalMs: 0, ...opts });
}
