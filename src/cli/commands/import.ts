// `skiff import FILE|URL|- [REPOSITORY[:TAG]]` with `-c/--change` and `-m/--message`.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { client, parse, str, list, runVerb, displayJsonMessages, UsageError } from '../client/index.js';

export async function main(argv: string[]): Promise<number> {
  return runVerb(async () => {
    const { values: v, positionals } = parse(argv, {
      change: { type: 'string', short: 'c', multiple: true },
      message: { type: 'string', short: 'm' },
      platform: { type: 'string' },
    });
    const [src, ref] = positionals;
    if (!src)
      throw new UsageError(
        '"skiff import" requires at least 1 argument.\nUsage:  skiff import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
      );
    let repo: string | undefined;
    let tag: string | undefined;
    if (ref) {
      const colon = ref.lastIndexOf(':');
      if (colon > ref.lastIndexOf('/')) {
        repo = ref.slice(0, colon);
        tag = ref.slice(colon + 1);
      } else repo = ref;
    }
    const isUrl = /^https?:\/\//.test(src);
    const body = isUrl ? undefined : src === '-' ? (process.stdin as unknown as Readable) : createReadStream(src);
    const res = await client(v.host).raw('POST', '/images/create', {
      query: {
        fromSrc: isUrl ? src : '-',
        repo,
        tag,
        message: str(v.message),
        changes: list(v.change),
        platform: str(v.platform),
      },
      stream: body,
    });
    await displayJsonMessages(res, process.stdout);
  });
}
