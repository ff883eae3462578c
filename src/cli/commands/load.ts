// `skiff load [-i FILE] [-q]`: loads a docker-save or OCI archive from a file or stdin.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { client, parse, str, runVerb, displayJsonMessages } from '../client/index.js';

export async function main(argv: string[]): Promise<number> {
  return runVerb(async () => {
    const { values: v } = parse(argv, {
      input: { type: 'string', short: 'i' },
      quiet: { type: 'boolean', short: 'q' },
    });
    const input = str(v.input) ? createReadStream(str(v.input)!) : (process.stdin as unknown as Readable);
    const res = await client(v.host).raw('POST', '/images/load', { query: { quiet: !!v.quiet }, stream: input });
    await displayJsonMessages(res, process.stdout);
  });
}
