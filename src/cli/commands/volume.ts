// `skiff volume create|ls|inspect|rm|prune`.
import { client, parse, str, list, filtersJson, runVerb, printRows, ApiError, UsageError } from '../client/index.js';

interface Vol {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Labels: Record<string, string> | null;
}

const kv = (items: string[]) =>
  Object.fromEntries(
    items.map((x) => {
      const i = x.indexOf('=');
      return i < 0 ? [x, ''] : [x.slice(0, i), x.slice(i + 1)];
    }),
  );

export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  return runVerb(async () => {
    switch (sub) {
      case 'create': {
        const { values: v, positionals } = parse(rest, {
          driver: { type: 'string', short: 'd' },
          label: { type: 'string', multiple: true },
          opt: { type: 'string', short: 'o', multiple: true },
          name: { type: 'string' },
        });
        const out = await client(v.host).json<Vol>('POST', '/volumes/create', {
          body: {
            Name: positionals[0] ?? str(v.name) ?? '',
            Driver: str(v.driver) ?? 'local',
            Labels: kv(list(v.label)),
            DriverOpts: kv(list(v.opt)),
          },
        });
        process.stdout.write(`${out.Name}\n`);
        return;
      }
      case 'ls':
      case 'list': {
        const { values: v } = parse(rest, {
          quiet: { type: 'boolean', short: 'q' },
          filter: { type: 'string', short: 'f', multiple: true },
          format: { type: 'string' },
        });
        const { Volumes } = await client(v.host).json<{ Volumes: Vol[] | null }>('GET', '/volumes', {
          query: { filters: filtersJson(list(v.filter)) },
        });
        const vols = Volumes ?? [];
        if (v.quiet) {
          process.stdout.write(vols.map((x) => `${x.Name}\n`).join(''));
          return;
        }
        printRows(str(v.format), ['DRIVER', 'VOLUME NAME'], vols as unknown as Record<string, unknown>[], (r) => [
          String(r.Driver),
          String(r.Name),
        ]);
        return;
      }
      case 'inspect': {
        const { values: v, positionals } = parse(rest, { format: { type: 'string', short: 'f' } });
        if (!positionals.length) throw new UsageError('"skiff volume inspect" requires at least 1 argument.');
        const c = client(v.host);
        const out: unknown[] = [];
        for (const n of positionals) out.push(await c.json('GET', `/volumes/${encodeURIComponent(n)}`));
        process.stdout.write(JSON.stringify(out, null, 4) + '\n');
        return;
      }
      case 'rm':
      case 'remove': {
        const { values: v, positionals } = parse(rest, { force: { type: 'boolean', short: 'f' } });
        if (!positionals.length) throw new UsageError('"skiff volume rm" requires at least 1 argument.');
        const c = client(v.host);
        let code = 0;
        for (const n of positionals) {
          try {
            await c
              .raw('DELETE', `/volumes/${encodeURIComponent(n)}`, { query: { force: !!v.force } })
              .then((r) => r.resume());
            process.stdout.write(`${n}\n`);
          } catch (e) {
            if (!(e instanceof ApiError) || e.status === 0) throw e;
            process.stderr.write(`Error response from daemon: ${e.message}\n`);
            code = 1;
          }
        }
        return code;
      }
      case 'prune': {
        const { values: v } = parse(rest, {
          all: { type: 'boolean', short: 'a' },
          force: { type: 'boolean', short: 'f' },
          filter: { type: 'string', multiple: true },
        });
        const f = list(v.filter);
        if (v.all) f.push('all=true');
        const r = await client(v.host).json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>(
          'POST',
          '/volumes/prune',
          { query: { filters: filtersJson(f) } },
        );
        if (r.VolumesDeleted?.length) process.stdout.write(`Deleted Volumes:\n${r.VolumesDeleted.join('\n')}\n\n`);
        process.stdout.write(`Total reclaimed space: ${r.SpaceReclaimed}B\n`);
        return;
      }
      default:
        throw new UsageError(
          `Usage:  skiff volume COMMAND\n\nCommands: create, ls, inspect, rm, prune${sub ? `\nunknown command "${sub}"` : ''}`,
        );
    }
  });
}
