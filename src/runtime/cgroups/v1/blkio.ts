// cgroup v1 blkio: weight (CFQ's blkio.weight or BFQ's blkio.bfq.weight, whichever the kernel
// has), per-device weights and throttles; stats from the throttle counters (always present).
import type { Controller } from '../controller.js';
import { ioDevice, sumIo } from '../controller.js';
import { readCgroupFile, writeCgroupFile } from '../fs.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const blkioV1: Controller = {
  name: 'blkio',
  async set(dir, r) {
    const b = r.blockIO;
    if (!b) return;
    const bfq = !existsSync(join(dir, 'blkio.weight')) && existsSync(join(dir, 'blkio.bfq.weight'));
    if (b.weight) await writeCgroupFile(dir, bfq ? 'blkio.bfq.weight' : 'blkio.weight', b.weight);
    if (b.leafWeight && !bfq) await writeCgroupFile(dir, 'blkio.leaf_weight', b.leafWeight);
    for (const d of b.weightDevice ?? []) {
      if (d.weight)
        await writeCgroupFile(
          dir,
          bfq ? 'blkio.bfq.weight_device' : 'blkio.weight_device',
          `${d.major}:${d.minor} ${d.weight}`,
        );
      if (d.leafWeight && !bfq)
        await writeCgroupFile(dir, 'blkio.leaf_weight_device', `${d.major}:${d.minor} ${d.leafWeight}`);
    }
    const throttles: [keyof typeof b, string][] = [
      ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
      ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
      ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
      ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
    ];
    for (const [key, file] of throttles) {
      for (const t of (b[key] as { major: number; minor: number; rate: number }[] | undefined) ?? []) {
        await writeCgroupFile(dir, file, `${t.major}:${t.minor} ${t.rate}`);
      }
    }
  },
  async stats(dir, s) {
    const parse = (text: string | undefined, kind: 'Bytes' | 'Ops') => {
      for (const line of (text ?? '').split('\n')) {
        const m = /^(\d+):(\d+) (Read|Write) (\d+)$/.exec(line.trim());
        if (!m) continue;
        const d = ioDevice(s.io.devices, Number(m[1]), Number(m[2]));
        const key = `${m[3] === 'Read' ? 'read' : 'write'}${kind}` as 'readBytes';
        d[key] += Number(m[4]);
      }
    };
    parse(await readCgroupFile(dir, 'blkio.throttle.io_service_bytes_recursive'), 'Bytes');
    parse(await readCgroupFile(dir, 'blkio.throttle.io_serviced_recursive'), 'Ops');
    sumIo(s);
  },
};
