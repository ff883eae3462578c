// The create-body settings this engine does not implement, refused with an error that names the
// setting and its `docker run` flag: a container never runs with a setting silently dropped.
// (docs/engine.md has the table of every `docker run` flag and what the engine does with it.)
import { invalidArgument } from '../../../common/index.js';
import type { CreateBody } from './create.js';

type Obj = Record<string, unknown>;

const LOG_OPTS: Record<string, string[]> = {
  'json-file': ['max-size', 'max-file'],
  local: ['max-size', 'max-file'],
  none: [],
};

function refuse(what: string, flag: string, field: string, why = 'is not supported by this engine'): never {
  throw invalidArgument(`${what} (${flag}) ${why}`, { field });
}

const nonEmpty = (v: unknown): boolean =>
  v !== undefined &&
  v !== null &&
  v !== '' &&
  v !== 0 &&
  !(Array.isArray(v) && v.length === 0) &&
  !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);

/** Go's %v of a [][]string: [[gpu] [compute utility]]. */
const goLists = (l: string[][]): string => `[${l.map((x) => `[${x.join(' ')}]`).join(' ')}]`;

export function refuseUnsupported(b: CreateBody): void {
  const hc = (b.HostConfig ?? {}) as Obj;
  if (nonEmpty(hc.StorageOpt))
    throw invalidArgument("--storage-opt is supported only for overlay over xfs with 'pquota' mount option", {
      field: 'HostConfig.StorageOpt',
    });
  const vd = typeof hc.VolumeDriver === 'string' ? hc.VolumeDriver : '';
  if (vd && vd !== 'local')
    throw invalidArgument(`error looking up volume plugin ${vd}: plugin "${vd}" not found`, {
      field: 'HostConfig.VolumeDriver',
    });
  for (const r of (hc.DeviceRequests as { Driver?: string; Capabilities?: string[][] }[] | null | undefined) ?? [])
    throw invalidArgument(
      `could not select device driver "${r.Driver ?? ''}" with capabilities: ${goLists(r.Capabilities ?? [])}`,
      { field: 'HostConfig.DeviceRequests' },
    );
  if (nonEmpty(hc.CpuRealtimePeriod) || nonEmpty(hc.CpuRealtimeRuntime))
    refuse(
      'real-time CPU scheduling',
      '--cpu-rt-period, --cpu-rt-runtime',
      'HostConfig.CpuRealtimeRuntime',
      'is not supported by this engine (its cgroup parent has no real-time budget)',
    );
  const log = (hc.LogConfig ?? {}) as { Type?: string; Config?: Record<string, string> | null };
  const driver = log.Type || 'json-file';
  const known = LOG_OPTS[driver];
  if (!known)
    throw invalidArgument(`error looking up logging plugin ${driver}: plugin "${driver}" not found`, {
      field: 'HostConfig.LogConfig.Type',
    });
  for (const [k, v] of Object.entries(log.Config ?? {})) {
    if (!known.includes(k)) {
      if (['compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag', 'mode', 'max-buffer-size'].includes(k))
        refuse(
          `log option '${k}'`,
          '--log-opt',
          'HostConfig.LogConfig.Config',
          `is not supported by this engine's ${driver} driver`,
        );
      throw invalidArgument(`unknown log opt '${k}' for ${driver} log driver`, {
        field: 'HostConfig.LogConfig.Config',
      });
    }
    if (k === 'max-size' && !/^\d+(\.\d+)?\s*([kKmMgGtTpP]([iI]?[bB])?|[bB])?$/.test(v))
      throw invalidArgument(`failed to initialize logging driver: invalid size: '${v}'`, {
        field: 'HostConfig.LogConfig.Config',
      });
    if (k === 'max-file' && !(/^\d+$/.test(v) && Number(v) >= 1))
      throw invalidArgument(
        /^\d+$/.test(v)
          ? 'failed to initialize logging driver: max-file cannot be less than 1'
          : `failed to initialize logging driver: strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`,
        { field: 'HostConfig.LogConfig.Config' },
      );
  }
  for (const m of (hc.Mounts as Obj[] | null | undefined) ?? []) {
    const bo = (m.BindOptions ?? {}) as Obj;
    for (const k of ['NonRecursive', 'ReadOnlyNonRecursive', 'ReadOnlyForceRecursive', 'CreateMountpoint'])
      if (bo[k] === true) refuse(`bind option ${k}`, '--mount type=bind,…', 'HostConfig.Mounts.BindOptions');
    if (nonEmpty(((m.VolumeOptions ?? {}) as Obj).Subpath))
      refuse('a volume subpath', '--mount volume-subpath=…', 'HostConfig.Mounts.VolumeOptions.Subpath');
  }
  const eps = (b.NetworkingConfig?.EndpointsConfig ?? {}) as Record<string, Obj | null>;
  for (const [net, ep] of Object.entries(eps)) {
    if (!ep) continue;
    const ipam = (ep.IPAMConfig ?? {}) as Obj;
    // (the network mode's endpoint's is Config.MacAddress, as CLI 28 sends --mac-address: create.ts)
    const mode = b.HostConfig?.NetworkMode || 'default';
    const isMode = net === mode || (['default', 'bridge'].includes(net) && ['default', 'bridge'].includes(mode));
    if (nonEmpty(ep.MacAddress) && !isMode)
      refuse('a fixed MAC address on a second network', '--mac-address', `EndpointsConfig.${net}.MacAddress`);
    if (nonEmpty(ipam.IPv6Address) || nonEmpty(ep.GlobalIPv6Address))
      refuse(
        'an IPv6 address',
        '--ip6',
        `EndpointsConfig.${net}.IPAMConfig.IPv6Address`,
        'is not supported: networks are IPv4 only',
      );
    if (nonEmpty(ipam.LinkLocalIPs))
      refuse('link-local addresses', '--link-local-ip', `EndpointsConfig.${net}.IPAMConfig.LinkLocalIPs`);
    if (nonEmpty(ep.DriverOpts))
      refuse('endpoint driver options', '--network driver-opt=…', `EndpointsConfig.${net}.DriverOpts`);
  }
}
