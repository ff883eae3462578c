// cgroup v2 io controller: weights go to io.bfq.weight when BFQ is the scheduler (same 10..1000
// scale as blkio.weight), else io.weight (converted to 1..10000); throttles go to io.max.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Controller } from '../controller.js';
import { ioDevice, sumIo } from '../controller.js';
import { blkioWeightToIoWeight } from '../convert.js';
import { readCgroupFile, writeCgroupFile } from '../fs.js';

export const ioV2: Controller = {
  name: 'io',
  async set(dir, r) {
    const b = r.blockIO;
    if (!b) return;
    const bfq = existsSync(join(dir, 'io.bfq.weight'));
    if (b.weight) {
      if (bfq) await writeCgroupFile(dir, 'io.bfq.weight', b.weight);
      else await writeCgroupFile(dir, 'io.weight', `default ${blkioWeightToIoWeight(b.weight)}`);
    }
    for (const d of b.weightDevice ?? []) {
      if (!d.weight) continue;
      if (bfq) await writeCgroupFile(dir, 'io.bfq.weight', `${d.major}:${d.minor} ${d.weight}`);
      else await writeCgroupFile(dir, 'io.weight', `${d.major}:${d.minor} ${blkioWeightToIoWeight(d.weight)}`);
    }
    const throttles: [keyof typeof b, string][] = [
      ['throttleReadBpsDevice', 'rbps'],
      ['throttleWriteBpsDevice', 'wbps'],
      ['throttleReadIOPSDevice', 'riops'],
      ['throttleWriteIOPSDevice', 'wiops'],
    ];
    for (const [key, name] of throttles) {
      for (const t of (b[key] as { major: number; minor: number; rate: number }[] | undefined) ?? []) {
        await writeCgroupFile(dir, 'io.max', `${t.major}:${t.minor} ${name}=${t.rate > 0 ? t.rate : 'max'}`);
      }
    }
  },
  async stats(dir, s) {
    for (const line of ((await readCgroupFile(dir, 'io.stat')) ?? '').split('\n')) {
      const m = /^(\d+):(\d+)\s+(.*)$/.exec(line.trim());
      if (!m) continue;
      const d = ioDevice(s.io.devices, Number(m[1]), Number(m[2]));
      for (const kv of m[3].split(/\s+/)) {
        const [k, v] = kv.split('=');
        const n = Number(v);
        if (k === 'rbytes') d.readBytes += n;
        else if (k === 'wbytes') d.writeBytes += n;
        else if (k === 'rios') d.readOps += n;
        else if (k === 'wios') d.writeOps += n;
      }
    }
    sumIo(s);
  },
};
