// `skiff logs [-f] [--tail N] [-t] [--since] [--until] CONTAINER`.
import { client, parse, str, runVerb, demux, UsageError } from '../client/index.js';

export async function main(argv: string[]): Promise<number> {
  return runVerb(async () => {
    const { values: v, positionals } = parse(argv, {
      follow: { type: 'boolean', short: 'f' },
      tail: { type: 'string', short: 'n' },
      timestamps: { type: 'boolean', short: 't' },
      since: { type: 'string' },
      until: { type: 'string' },
      details: { type: 'boolean' },
    });
    if (positionals.length !== 1)
      throw new UsageError('"skiff logs" requires exactly 1 argument.\nUsage:  skiff logs [OPTIONS] CONTAINER');
    const c = client(v.host);
    const info = await c.json<{ Config: { Tty: boolean } }>('GET', `/containers/${positionals[0]}/json`);
    const res = await c.raw('GET', `/containers/${positionals[0]}/logs`, {
      query: {
        stdout: 1,
        stderr: 1,
        follow: !!v.follow,
        tail: str(v.tail) ?? 'all',
        timestamps: !!v.timestamps,
        since: str(v.since),
        until: str(v.until),
      },
    });
    const write = info.Config.Tty
      ? (b: Buffer) => {
          process.stdout.write(b);
        }
      : demux(process.stdout, process.stderr);
    for await (const chunk of res) write(chunk as Buffer);
  });
}
