// `skiff pull NAME[:TAG|@DIGEST]`: Docker's progress display (per-layer bars on a terminal).
import { client, parse, str, runVerb, displayJsonMessages, registryAuthHeader, UsageError } from '../client/index.js';

export async function pullImage(
  host: unknown,
  ref: string,
  o: { platform?: string; quiet?: boolean; out?: NodeJS.WriteStream } = {},
): Promise<void> {
  const at = ref.lastIndexOf('@');
  const colon = ref.lastIndexOf(':');
  let image = ref;
  let tag = 'latest';
  if (at > 0) {
    image = ref.slice(0, at);
    tag = ref.slice(at + 1);
  } else if (colon > ref.lastIndexOf('/')) {
    image = ref.slice(0, colon);
    tag = ref.slice(colon + 1);
  }
  const res = await client(host).raw('POST', '/images/create', {
    query: { fromImage: image, tag, platform: o.platform },
    headers: { 'X-Registry-Auth': registryAuthHeader(ref) },
  });
  await displayJsonMessages(res, o.out ?? process.stdout, { quiet: o.quiet });
}

export async function main(argv: string[]): Promise<number> {
  return runVerb(async () => {
    const { values: v, positionals } = parse(argv, {
      quiet: { type: 'boolean', short: 'q' },
      platform: { type: 'string' },
      'all-tags': { type: 'boolean', short: 'a' },
    });
    if (positionals.length !== 1)
      throw new UsageError(
        '"skiff pull" requires exactly 1 argument.\nUsage:  skiff pull [OPTIONS] NAME[:TAG|@DIGEST]',
      );
    await pullImage(v.host, positionals[0], { platform: str(v.platform), quiet: !!v.quiet });
    if (v.quiet) process.stdout.write(`${positionals[0]}\n`);
  });
}
