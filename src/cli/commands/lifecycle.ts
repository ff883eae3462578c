// start, stop, restart, kill, rm: one request per container named; prints each name on success and
// "Error response from daemon" for each failure (exit 1), as the docker CLI does.
import { client, parse, str, runVerb, ApiError, UsageError, type Spec } from '../client/index.js';
import type { Client } from '../client/index.js';

export function lifecycle(
  verb: string,
  spec: Spec,
  call: (c: Client, id: string, v: Record<string, unknown>) => Promise<void>,
) {
  return (argv: string[]) =>
    runVerb(async () => {
      const { values: v, positionals } = parse(argv, spec);
      if (!positionals.length) throw new UsageError(`"skiff ${verb}" requires at least 1 argument.`);
      const c = client(v.host);
      let code = 0;
      for (const id of positionals) {
        try {
          await call(c, id, v);
          process.stdout.write(`${id}\n`);
        } catch (e) {
          if (!(e instanceof ApiError) || e.status === 0) throw e;
          process.stderr.write(`Error response from daemon: ${e.message}\n`);
          code = 1;
        }
      }
      return code;
    });
}

const drain = async (c: Client, m: string, p: string, query: Record<string, string | number | boolean | undefined>) => {
  (await c.raw(m, p, { query })).resume();
};

export const stop = lifecycle(
  'stop',
  { time: { type: 'string', short: 't' }, signal: { type: 'string', short: 's' } },
  (c, id, v) => drain(c, 'POST', `/containers/${id}/stop`, { t: str(v.time), signal: str(v.signal) }),
);
export const restart = lifecycle(
  'restart',
  { time: { type: 'string', short: 't' }, signal: { type: 'string', short: 's' } },
  (c, id, v) => drain(c, 'POST', `/containers/${id}/restart`, { t: str(v.time), signal: str(v.signal) }),
);
export const kill = lifecycle('kill', { signal: { type: 'string', short: 's' } }, (c, id, v) =>
  drain(c, 'POST', `/containers/${id}/kill`, { signal: str(v.signal) }),
);
export const rm = lifecycle(
  'rm',
  {
    force: { type: 'boolean', short: 'f' },
    volumes: { type: 'boolean', short: 'v' },
    link: { type: 'boolean', short: 'l' },
  },
  (c, id, v) => drain(c, 'DELETE', `/containers/${id}`, { force: !!v.force, v: !!v.volumes }),
);
