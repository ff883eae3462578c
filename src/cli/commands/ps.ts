// `skiff ps` (-a, -q, -n, -l, --no-trunc, --filter, --format).
import { client, parse, str, list, filtersJson, runVerb, printRows, ago, shortId } from '../client/index.js';

interface C {
  Id: string;
  Names: string[];
  Image: string;
  Command: string;
  Created: number;
  Status: string;
  State: string;
  Ports: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[];
  Labels: Record<string, string> | null;
}

function ports(p: C['Ports']): string {
  return (p ?? [])
    .map((x) =>
      x.PublicPort ? `${x.IP || '0.0.0.0'}:${x.PublicPort}->${x.PrivatePort}/${x.Type}` : `${x.PrivatePort}/${x.Type}`,
    )
    .join(', ');
}

export async function main(argv: string[]): Promise<number> {
  return runVerb(async () => {
    const { values: v } = parse(argv, {
      all: { type: 'boolean', short: 'a' },
      quiet: { type: 'boolean', short: 'q' },
      'no-trunc': { type: 'boolean' },
      latest: { type: 'boolean', short: 'l' },
      last: { type: 'string', short: 'n' },
      filter: { type: 'string', short: 'f', multiple: true },
      format: { type: 'string' },
      size: { type: 'boolean', short: 's' },
    });
    const limit = v.latest ? 1 : str(v.last) ? Number(v.last) : undefined;
    const cs = await client(v.host).json<C[]>('GET', '/containers/json', {
      query: { all: !!v.all || limit !== undefined, limit, filters: filtersJson(list(v.filter)) },
    });
    const id = (x: string) => (v['no-trunc'] ? x : shortId(x));
    if (v.quiet) {
      process.stdout.write(cs.map((c) => id(c.Id) + '\n').join(''));
      return;
    }
    const rows = cs.map((c) => ({
      ID: id(c.Id),
      Image: c.Image,
      Command: v['no-trunc']
        ? JSON.stringify(c.Command)
        : JSON.stringify(c.Command.length > 20 ? c.Command.slice(0, 19) + '…' : c.Command),
      RunningFor: ago(c.Created),
      CreatedAt: new Date(c.Created * 1000).toISOString(),
      Status: c.Status,
      State: c.State,
      Ports: ports(c.Ports),
      Names: c.Names.map((n) => n.replace(/^\//, '')).join(','),
      Labels: Object.entries(c.Labels ?? {})
        .map(([k, x]) => `${k}=${x}`)
        .join(','),
    }));
    printRows(
      str(v.format),
      ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
      rows,
      (r) => [r.ID, r.Image, r.Command, r.RunningFor, r.Status, r.Ports, r.Names] as string[],
    );
  });
}
