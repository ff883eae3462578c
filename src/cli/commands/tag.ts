// `skiff tag SOURCE TARGET`.
import { client, parse, runVerb, UsageError } from '../client/index.js';

export async function main(argv: string[]): Promise<number> {
  return runVerb(async () => {
    const { values: v, positionals } = parse(argv, {});
    if (positionals.length !== 2)
      throw new UsageError(
        '"skiff tag" requires exactly 2 arguments.\nUsage:  skiff tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
      );
    const [src, target] = positionals;
    const colon = target.lastIndexOf(':');
    const hasTag = colon > target.lastIndexOf('/');
    await client(v.host).json('POST', `/images/${src}/tag`, {
      query: { repo: hasTag ? target.slice(0, colon) : target, tag: hasTag ? target.slice(colon + 1) : 'latest' },
    });
  });
}
