import { notImplemented } from '../../../common/index.js';
import type { Store } from '../types.js';
import type { StoreOptions } from '../open.js';

export async function openSqliteStore(path: string, _opts: StoreOptions = {}): Promise<Store> {
  throw notImplemented(`sqlite store (${path}) is being written`);
}
