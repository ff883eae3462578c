// Watch streams: newline-delimited JSON events. A 410 ERROR event (or answer) surfaces as a
// FailedPrecondition with reason `Expired`, so informers know to relist.
import { SkiffError } from '../../common/index.js';
import type { KubeObject } from '../api/index.js';
import type { KubeClient, RequestOptions } from './rest.js';

export interface WatchEvent<T = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object: T;
}

export const isExpired = (e: unknown): boolean =>
  e instanceof SkiffError && (e.reason === 'Expired' || e.reason === 'Gone');

export async function* watchEvents<T = KubeObject>(
  client: KubeClient,
  path: string,
  query: RequestOptions['query'],
  signal?: AbortSignal,
): AsyncGenerator<WatchEvent<T>> {
  const res = await client.stream(path, { query: { ...query, watch: 1 }, signal });
  let buf = '';
  try {
    for await (const chunk of res) {
      buf += (chunk as Buffer).toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const ev = JSON.parse(line) as { type: string; object: any };
        if (ev.type === 'ERROR') {
          const st = ev.object ?? {};
          throw new SkiffError(st.code === 410 ? 'FailedPrecondition' : 'Internal', st.message ?? 'watch error', {
            reason: st.code === 410 ? 'Expired' : st.reason,
          });
        }
        yield ev as WatchEvent<T>;
      }
    }
  } finally {
    res.destroy();
  }
}
