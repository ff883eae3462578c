// The SQLite store: the embedded default (`sqlite://PATH`). See docs/storage.md for the schema
// and the durability argument (by default every acknowledged write is fsynced, in groups; the
// opt-in `?sync=normal` survives SIGKILL but not power loss).
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LogStore } from '../log/store.js';
import { SqliteBackend } from './backend.js';
import type { Store } from '../types.js';
import type { StoreOptions } from '../open.js';
import { invalidArgument, isSkiffError, unavailable } from '../../../common/index.js';

export async function openSqliteStore(path: string, opts: StoreOptions = {}): Promise<Store> {
  if (!path || path.includes('\u0000'))
    throw invalidArgument('sqlite path is empty or invalid', { field: 'datastore' });
  const file = resolve(path);
  let backend: SqliteBackend;
  try {
    mkdirSync(dirname(file), { recursive: true });
    backend = new SqliteBackend(file, { ...opts.sqlite, onError: (msg) => opts.logger?.warn(msg) });
  } catch (e) {
    if (isSkiffError(e)) throw e;
    throw unavailable(`sqlite: cannot open ${file}: ${e instanceof Error ? e.message : String(e)}`, {
      cause: e,
      field: 'datastore',
    });
  }
  return new LogStore(backend, { groupCommit: true, ...opts });
}
