// `skiff system df [-v] | prune [-a] [--volumes] [-f] | info | events`.
import { client, parse, runVerb, table, size, UsageError } from '../client/index.js';

interface Df {
  LayersSize?: number;
  Images?: { Size: number; Containers: number }[] | null;
  Containers?: { SizeRw?: number; State: string }[] | null;
  Volumes?: { UsageData?: { Size: number; RefCount: number } | null }[] | null;
}

export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'events') return (await import('./events.js')).main(rest);
  return runVerb(async () => {
    if (sub === 'df') {
      const { values: v } = parse(rest, { verbose: { type: 'boolean', short: 'v' } });
      const d = await client(v.host).json<Df>('GET', '/system/df');
      const imgs = d.Images ?? [],
        cs = d.Containers ?? [],
        vols = d.Volumes ?? [];
      const imgSize = d.LayersSize ?? imgs.reduce((n, i) => n + i.Size, 0);
      const unusedImg = imgs.filter((i) => !i.Containers).reduce((n, i) => n + i.Size, 0);
      const volSize = vols.reduce((n, x) => n + (x.UsageData?.Size ?? 0), 0);
      const unusedVol = vols.filter((x) => !x.UsageData?.RefCount).reduce((n, x) => n + (x.UsageData?.Size ?? 0), 0);
      const pct = (a: number, b: number) => (b ? ` (${Math.round((a / b) * 100)}%)` : '');
      const csize = cs.reduce((n, x) => n + (x.SizeRw ?? 0), 0);
      process.stdout.write(
        table(
          ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'],
          [
            [
              'Images',
              String(imgs.length),
              String(imgs.filter((i) => i.Containers > 0).length),
              size(imgSize),
              `${size(unusedImg)}${pct(unusedImg, imgSize)}`,
            ],
            [
              'Containers',
              String(cs.length),
              String(cs.filter((x) => x.State === 'running').length),
              size(csize),
              size(cs.filter((x) => x.State !== 'running').reduce((n, x) => n + (x.SizeRw ?? 0), 0)),
            ],
            [
              'Local Volumes',
              String(vols.length),
              String(vols.filter((x) => x.UsageData?.RefCount).length),
              size(volSize),
              `${size(unusedVol)}${pct(unusedVol, volSize)}`,
            ],
          ],
        ),
      );
      return;
    }
    if (sub === 'prune') {
      const { values: v } = parse(rest, {
        all: { type: 'boolean', short: 'a' },
        volumes: { type: 'boolean' },
        force: { type: 'boolean', short: 'f' },
      });
      const c = client(v.host);
      let total = 0;
      const cr = await c.json<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>(
        'POST',
        '/containers/prune',
      );
      if (cr.ContainersDeleted?.length)
        process.stdout.write(`Deleted Containers:\n${cr.ContainersDeleted.join('\n')}\n\n`);
      total += cr.SpaceReclaimed ?? 0;
      const nr = await c.json<{ NetworksDeleted: string[] | null }>('POST', '/networks/prune');
      if (nr.NetworksDeleted?.length) process.stdout.write(`Deleted Networks:\n${nr.NetworksDeleted.join('\n')}\n\n`);
      if (v.volumes) {
        const vr = await c.json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/volumes/prune', {
          query: { filters: v.all ? '{"all":["true"]}' : undefined },
        });
        if (vr.VolumesDeleted?.length) process.stdout.write(`Deleted Volumes:\n${vr.VolumesDeleted.join('\n')}\n\n`);
        total += vr.SpaceReclaimed ?? 0;
      }
      const ir = await c.json<{
        ImagesDeleted: { Untagged?: string; Deleted?: string }[] | null;
        SpaceReclaimed: number;
      }>('POST', '/images/prune', { query: { filters: v.all ? '{"dangling":["false"]}' : undefined } });
      if (ir.ImagesDeleted?.length)
        process.stdout.write(
          `Deleted Images:\n${ir.ImagesDeleted.map((x) => (x.Untagged ? `untagged: ${x.Untagged}` : `deleted: ${x.Deleted}`)).join('\n')}\n\n`,
        );
      total += ir.SpaceReclaimed ?? 0;
      process.stdout.write(`Total reclaimed space: ${size(total)}\n`);
      return;
    }
    if (sub === 'info') {
      const { values: v } = parse(rest, {});
      process.stdout.write(JSON.stringify(await client(v.host).json('GET', '/info'), null, 2) + '\n');
      return;
    }
    throw new UsageError('Usage:  skiff system COMMAND\n\nCommands: df, prune, info, events');
  });
}
