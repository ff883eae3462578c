// `skiff push NAME[:TAG]` (-a for every tag of the repository) with Docker's progress display.
import { client, parse, runVerb, displayJsonMessages, registryAuthHeader, UsageError } from '../client/index.js';

export async function main(argv: string[]): Promise<number> {
  return runVerb(async () => {
    const { values: v, positionals } = parse(argv, {
      quiet: { type: 'boolean', short: 'q' },
      'all-tags': { type: 'boolean', short: 'a' },
    });
    if (positionals.length !== 1)
      throw new UsageError('"skiff push" requires exactly 1 argument.\nUsage:  skiff push [OPTIONS] NAME[:TAG]');
    const ref = positionals[0];
    const colon = ref.lastIndexOf(':');
    const hasTag = colon > ref.lastIndexOf('/');
    const name = hasTag ? ref.slice(0, colon) : ref;
    const tag = hasTag ? ref.slice(colon + 1) : v['all-tags'] ? undefined : 'latest';
    const res = await client(v.host).raw('POST', `/images/${name}/push`, {
      query: { tag },
      headers: { 'X-Registry-Auth': registryAuthHeader(ref) },
    });
    await displayJsonMessages(res, process.stdout, { quiet: !!v.quiet });
  });
}
