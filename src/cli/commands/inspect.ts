// `skiff inspect NAME...` (--type container|image|volume|network, -f): tries containers, then
// images, volumes and networks, as the docker CLI does.
import { client, parse, str, runVerb, render, ApiError, UsageError } from '../client/index.js';

const PATHS: Record<string, (n: string) => string> = {
  container: (n) => `/containers/${n}/json`,
  image: (n) => `/images/${n}/json`,
  volume: (n) => `/volumes/${encodeURIComponent(n)}`,
  network: (n) => `/networks/${n}`,
};

export async function main(argv: string[]): Promise<number> {
  return runVerb(async () => {
    const { values: v, positionals } = parse(argv, {
      type: { type: 'string' },
      format: { type: 'string', short: 'f' },
      size: { type: 'boolean', short: 's' },
    });
    if (!positionals.length) throw new UsageError('"skiff inspect" requires at least 1 argument.');
    const c = client(v.host);
    const types = str(v.type) ? [str(v.type)!] : Object.keys(PATHS);
    for (const t of types) if (!PATHS[t]) throw new UsageError(`"${t}" is not a valid value for --type`);
    const out: Record<string, unknown>[] = [];
    let code = 0;
    for (const n of positionals) {
      let found: Record<string, unknown> | undefined;
      for (const t of types) {
        try {
          found = await c.json('GET', PATHS[t](n));
          break;
        } catch (e) {
          if (!(e instanceof ApiError) || e.status !== 404) throw e;
        }
      }
      if (found) out.push(found);
      else {
        process.stderr.write(`Error: No such object: ${n}\n`);
        code = 1;
      }
    }
    const fmt = str(v.format);
    if (fmt) for (const o of out) process.stdout.write(render(fmt, o) + '\n');
    else process.stdout.write(JSON.stringify(out, null, 4) + '\n');
    return code;
  });
}
