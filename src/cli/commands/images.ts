// `skiff images [REPO[:TAG]]`: lists images (-a, -q, --no-trunc, --digests, --filter, --format).
import { client, parse, list, str, filtersJson, runVerb, printRows, ago, size, shortId } from '../client/index.js';

interface Img {
  Id: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
}

export async function main(argv: string[]): Promise<number> {
  return runVerb(async () => {
    const { values: v, positionals } = parse(argv, {
      all: { type: 'boolean', short: 'a' },
      quiet: { type: 'boolean', short: 'q' },
      'no-trunc': { type: 'boolean' },
      digests: { type: 'boolean' },
      filter: { type: 'string', short: 'f', multiple: true },
      format: { type: 'string' },
    });
    const f = list(v.filter);
    if (positionals[0]) f.push(`reference=${positionals[0]}`);
    const imgs = await client(v.host).json<Img[]>('GET', '/images/json', {
      query: { filters: filtersJson(f), all: !!v.all },
    });
    const id = (x: string) => (v['no-trunc'] ? x : shortId(x));
    if (v.quiet) {
      process.stdout.write([...new Set(imgs.map((i) => id(i.Id)))].map((x) => x + '\n').join(''));
      return;
    }
    const rows = imgs.flatMap((i) => {
      const tags = i.RepoTags?.length ? i.RepoTags : ['<none>:<none>'];
      return tags.map((t) => {
        const at = t.lastIndexOf(':');
        const repo = t.slice(0, at);
        const digest = i.RepoDigests?.find((d) => d.startsWith(`${repo}@`))?.split('@')[1] ?? '<none>';
        return {
          Repository: repo,
          Tag: t.slice(at + 1),
          ID: id(i.Id),
          Digest: digest,
          CreatedSince: ago(i.Created),
          CreatedAt: new Date(i.Created * 1000).toISOString(),
          Size: size(i.Size),
        };
      });
    });
    const headers = v.digests
      ? ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE']
      : ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'];
    printRows(str(v.format), headers, rows, (r) =>
      v.digests
        ? ([r.Repository, r.Tag, r.Digest, r.ID, r.CreatedSince, r.Size] as string[])
        : ([r.Repository, r.Tag, r.ID, r.CreatedSince, r.Size] as string[]),
    );
  });
}
