// /healthz, /livez and /readyz as upstream's healthz package answers them: each endpoint runs its
// named checks; plain "ok" when all pass, the check list (`[+]ping ok`, `[-]etcd failed: reason
// withheld`) with "<endpoint> check passed|failed" when asked `?verbose` or when one fails (500);
// `/<endpoint>/<check>` runs one check ("ok", 404 for an unknown name); `?exclude=<check>` skips
// one (`[+]etcd excluded: ok`).
import type http from 'node:http';
import type { Store } from '../storage/index.js';

export interface HealthCheck {
  name: string;
  /** Resolves when healthy; rejects (or resolves false) when not. */
  run(): Promise<boolean | void>;
}

export type HealthChecks = Record<'healthz' | 'livez' | 'readyz', HealthCheck[]>;

/** The API server's checks: the datastore answers within 2 s (upstream's etcd check, a read with
 *  a timeout), start() finished (system namespaces, priority classes, the service IP allocator,
 *  CRDs), and it is not shutting down. */
export function apiServerChecks(store: Store, started: () => boolean, closing: () => boolean): HealthChecks {
  const etcd: HealthCheck = {
    name: 'etcd',
    run: async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          store.currentRevision(),
          new Promise<never>((_r, reject) => {
            timer = setTimeout(() => reject(new Error('timeout')), 2000);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
  const always = (name: string): HealthCheck => ({ name, run: async () => true });
  return {
    healthz: [always('ping'), always('log'), etcd],
    livez: [always('ping'), always('log'), etcd],
    readyz: [
      always('ping'),
      always('log'),
      etcd,
      { name: 'poststarthook/bootstrap-controller', run: async () => started() },
      { name: 'shutdown', run: async () => !closing() },
    ],
  };
}

const passes = async (c: HealthCheck) => {
  try {
    return (await c.run()) !== false;
  } catch {
    return false;
  }
};

function send(res: http.ServerResponse, code: number, text: string): void {
  res.writeHead(code, {
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Answers a health path (`/livez`, `/readyz/etcd`, …) from the endpoint's checks. */
export async function serveHealth(
  res: http.ServerResponse,
  path: string,
  query: URLSearchParams,
  checks: HealthChecks,
): Promise<void> {
  const [endpoint, ...rest] = path.split('/').filter(Boolean) as ['healthz' | 'livez' | 'readyz', ...string[]];
  const list = checks[endpoint] ?? [];
  if (rest.length) {
    const one = list.find((c) => c.name === rest.join('/'));
    if (!one) return send(res, 404, '404 page not found\n');
    return (await passes(one)) ? send(res, 200, 'ok') : send(res, 500, 'internal server error: reason withheld\n');
  }
  const excluded = new Set(query.getAll('exclude').flatMap((x) => x.split(',')));
  const results = await Promise.all(list.map(async (c) => ({ c, ok: excluded.has(c.name) || (await passes(c)) })));
  const failed = results.some((r) => !r.ok);
  const verbose = query.has('verbose') && query.get('verbose') !== 'false';
  if (!failed && !verbose) return send(res, 200, 'ok');
  const lines = results.map(({ c, ok }) =>
    excluded.has(c.name)
      ? `[+]${c.name} excluded: ok`
      : ok
        ? `[+]${c.name} ok`
        : `[-]${c.name} failed: reason withheld`,
  );
  for (const name of excluded)
    if (!list.some((c) => c.name === name))
      lines.push(`warn: some health checks cannot be excluded: no matches for "${name}"`);
  send(res, failed ? 500 : 200, `${lines.join('\n')}\n${endpoint} check ${failed ? 'failed' : 'passed'}\n`);
}
