// HostConfig block-I/O and device-cgroup settings → the OCI spec's linux.resources (moby's
// getBlkioWeightDevices/getBlkioThrottleDevices and the device-cgroup-rule parser).
import { statSync } from 'node:fs';
import { invalidArgument } from '../../../common/index.js';

type HC = Record<string, unknown>;

/** A block device's major:minor (the path must exist, as dockerd requires at start). */
function devNum(path: string, field: string): { major: number; minor: number } {
  let rdev: bigint;
  try {
    rdev = BigInt(statSync(path).rdev);
  } catch (e) {
    throw invalidArgument(
      `stat ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`,
      { field },
    );
  }
  return { major: Number((rdev >> 8n) & 0xfffn), minor: Number((rdev & 0xffn) | ((rdev >> 12n) & 0xfff00n)) };
}

export function blockIO(hc: HC): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  if (typeof hc.BlkioWeight === 'number' && hc.BlkioWeight > 0) out.weight = hc.BlkioWeight;
  const weights = (hc.BlkioWeightDevice as { Path: string; Weight: number }[] | null | undefined) ?? [];
  if (weights.length)
    out.weightDevice = weights.map((d) => ({ ...devNum(d.Path, 'HostConfig.BlkioWeightDevice'), weight: d.Weight }));
  for (const [k, oci] of [
    ['BlkioDeviceReadBps', 'throttleReadBpsDevice'],
    ['BlkioDeviceWriteBps', 'throttleWriteBpsDevice'],
    ['BlkioDeviceReadIOps', 'throttleReadIOPSDevice'],
    ['BlkioDeviceWriteIOps', 'throttleWriteIOPSDevice'],
  ] as const) {
    const l = (hc[k] as { Path: string; Rate: number }[] | null | undefined) ?? [];
    if (l.length) out[oci] = l.map((d) => ({ ...devNum(d.Path, `HostConfig.${k}`), rate: d.Rate }));
  }
  return Object.keys(out).length ? out : undefined;
}

/** `--device-cgroup-rule 'c 1:3 mr'` → an allow rule of the device cgroup (`*` is any number). */
export function deviceCgroupRules(
  hc: HC,
): { allow: true; type: string; major?: number; minor?: number; access: string }[] {
  return ((hc.DeviceCgroupRules as string[] | null | undefined) ?? []).map((r) => {
    const m = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/.exec(r);
    if (!m)
      throw invalidArgument(`invalid device cgroup rule format: '${r}'`, { field: 'HostConfig.DeviceCgroupRules' });
    return {
      allow: true,
      type: m[1],
      ...(m[2] === '*' ? {} : { major: Number(m[2]) }),
      ...(m[3] === '*' ? {} : { minor: Number(m[3]) }),
      access: m[4],
    };
  });
}
