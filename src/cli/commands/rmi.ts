// `skiff rmi IMAGE...` (-f, --no-prune): prints Untagged/Deleted lines; exit 1 if any failed.
import { client, parse, runVerb, ApiError, UsageError } from '../client/index.js';

export async function main(argv: string[]): Promise<number> {
  return runVerb(async () => {
    const { values: v, positionals } = parse(argv, {
      force: { type: 'boolean', short: 'f' },
      'no-prune': { type: 'boolean' },
    });
    if (!positionals.length)
      throw new UsageError('"skiff rmi" requires at least 1 argument.\nUsage:  skiff rmi [OPTIONS] IMAGE [IMAGE...]');
    const c = client(v.host);
    let code = 0;
    for (const name of positionals) {
      try {
        const out = await c.json<{ Untagged?: string; Deleted?: string }[]>('DELETE', `/images/${name}`, {
          query: { force: !!v.force, noprune: !!v['no-prune'] },
        });
        for (const x of out) process.stdout.write(x.Untagged ? `Untagged: ${x.Untagged}\n` : `Deleted: ${x.Deleted}\n`);
      } catch (e) {
        if (!(e instanceof ApiError) || e.status === 0) throw e;
        process.stderr.write(`Error response from daemon: ${e.message}\n`);
        code = 1;
      }
    }
    return code;
  });
}
