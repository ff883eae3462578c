// `skiff save [-o FILE] IMAGE...`: a docker-save tar to a file or stdout.
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { client, parse, str, runVerb, UsageError } from '../client/index.js';

export async function main(argv: string[]): Promise<number> {
  return runVerb(async () => {
    const { values: v, positionals } = parse(argv, { output: { type: 'string', short: 'o' } });
    if (!positionals.length)
      throw new UsageError('"skiff save" requires at least 1 argument.\nUsage:  skiff save [OPTIONS] IMAGE [IMAGE...]');
    const out = str(v.output);
    if (!out && process.stdout.isTTY)
      throw new UsageError('cowardly refusing to save to a terminal. Use the -o flag or redirect');
    const res = await client(v.host).raw('GET', '/images/get', { query: { names: positionals } });
    await pipeline(res, out ? createWriteStream(out) : process.stdout);
  });
}
