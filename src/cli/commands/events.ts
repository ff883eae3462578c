// `skiff events [--since] [--until] [--filter] [--format]`: Docker's event lines until interrupted
// (or until `--until`).
import { client, parse, str, list, filtersJson, runVerb, eachJson, render } from '../client/index.js';

interface Ev {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  time: number;
  timeNano: number;
}

export async function main(argv: string[]): Promise<number> {
  return runVerb(async () => {
    const { values: v } = parse(argv, {
      since: { type: 'string' },
      until: { type: 'string' },
      filter: { type: 'string', short: 'f', multiple: true },
      format: { type: 'string' },
    });
    const res = await client(v.host).raw('GET', '/events', {
      query: { since: str(v.since), until: str(v.until), filters: filtersJson(list(v.filter)) },
    });
    const fmt = str(v.format);
    await eachJson(res, (m) => {
      const e = m as unknown as Ev;
      if (fmt === 'json' || fmt === '{{json .}}') {
        process.stdout.write(JSON.stringify(e) + '\n');
        return;
      }
      if (fmt) {
        process.stdout.write(render(fmt, m) + '\n');
        return;
      }
      const t = new Date(Math.floor(e.timeNano / 1e6))
        .toISOString()
        .replace('Z', `${String(e.timeNano % 1e6).padStart(6, '0')}Z`);
      const attrs = Object.entries(e.Actor.Attributes)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => `${k}=${x}`)
        .join(', ');
      process.stdout.write(`${t} ${e.Type} ${e.Action} ${e.Actor.ID}${attrs ? ` (${attrs})` : ''}\n`);
    });
  });
}
