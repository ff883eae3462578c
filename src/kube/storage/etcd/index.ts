import { notImplemented } from '../../../common/index.js';
import type { Store } from '../types.js';
import type { StoreOptions } from '../open.js';

export async function openEtcdStore(endpoints: string[], _opts: StoreOptions = {}): Promise<Store> {
  throw notImplemented(`etcd store (${endpoints.join(',')}) is being written`);
}
