// Container records → the JSON shapes of `GET /containers/{id}/json` (moby's ContainerJSON) and
// `GET /containers/json` (container.Summary), and the list filters.
import { matchLabels, validateFilters, type Filters } from '../common/filters.js';
import { invalidArgument } from '../../../common/index.js';
import type { ContainerRecord } from './record.js';

export interface ViewPaths {
  dir: string;
  logPath: string;
  rootfs: string;
  snapshotter: string;
  upper?: string;
}

function ports(rec: ContainerRecord): Record<string, { HostIp: string; HostPort: string }[] | null> {
  const out: Record<string, { HostIp: string; HostPort: string }[] | null> = {};
  if (!rec.State.Running) return out; // dockerd: no ports on a stopped container
  if (rec.PublishedPorts) {
    // the real bindings (ports the driver chose for -P and -p 0), as dockerd reports them
    for (const p of Object.keys(rec.Config.ExposedPorts ?? {})) out[p] = null;
    for (const p of Object.keys(rec.HostConfig.PortBindings ?? {})) out[p] = null;
    for (const m of rec.PublishedPorts) {
      const k = `${m.containerPort}/${m.proto}`;
      out[k] = [...(out[k] ?? []), { HostIp: m.hostIp, HostPort: String(m.hostPort) }];
    }
    return out;
  }
  for (const p of Object.keys(rec.Config.ExposedPorts ?? {})) out[p] = null;
  for (const [p, b] of Object.entries(rec.HostConfig.PortBindings ?? {}))
    out[p] = (b ?? []).map((x) => ({ HostIp: x.HostIp || '0.0.0.0', HostPort: x.HostPort ?? '' }));
  return out;
}

/** A network with service discovery (moby's NetworkMode.IsUserDefined). */
export function userDefined(n: string): boolean {
  return !['bridge', 'host', 'none', 'default'].includes(n) && !n.startsWith('container:');
}

/** moby's buildEndpointDNSNames (API 1.44): name, aliases, short id, hostname, without repeats. */
function dnsNames(rec: ContainerRecord, aliases: string[] | null | undefined): string[] {
  return [...new Set([rec.Name.slice(1), ...(aliases ?? []), rec.Id.slice(0, 12), rec.Config.Hostname ?? ''])].filter(
    Boolean,
  );
}

function networks(rec: ContainerRecord): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [n, ep] of Object.entries(rec.Networks)) {
    out[n] = {
      IPAMConfig: null,
      Links: null,
      DriverOpts: null,
      GwPriority: 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      ...ep,
      EndpointID: rec.State.Running ? ep.EndpointID : '',
      Aliases: ep.Aliases,
      DNSNames: rec.State.Running && userDefined(n) ? dnsNames(rec, ep.Aliases) : null,
    };
  }
  return out;
}

/** dockerd lists --tmpfs mounts in HostConfig.Tmpfs only (--mount type=tmpfs ones are Mounts). */
function mounts(rec: ContainerRecord) {
  const tmpfsOption = Object.keys((rec.HostConfig.Tmpfs as Record<string, string> | null | undefined) ?? {});
  return rec.Mounts.filter((m) => !(m.Type === 'tmpfs' && tmpfsOption.includes(m.Destination))).map((m) => ({
    Type: m.Type,
    ...(m.Name ? { Name: m.Name } : {}),
    Source: m.Source,
    Destination: m.Destination,
    ...(m.Driver ? { Driver: m.Driver } : {}),
    Mode: m.Mode,
    RW: m.RW,
    Propagation: m.Propagation,
  }));
}

export function inspect(rec: ContainerRecord, p: ViewPaths, execIds: string[]): Record<string, unknown> {
  const bridge = rec.Networks.bridge;
  return {
    Id: rec.Id,
    Created: rec.Created,
    Path: rec.Path,
    Args: rec.Args,
    State: { ...rec.State },
    Image: rec.Image,
    ResolvConfPath: `${p.dir}/resolv.conf`,
    HostnamePath: `${p.dir}/hostname`,
    HostsPath: `${p.dir}/hosts`,
    LogPath: p.logPath,
    Name: rec.Name,
    RestartCount: rec.RestartCount,
    Driver: p.snapshotter === 'overlayfs' ? 'overlay2' : 'vfs',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: execIds.length ? execIds : null,
    HostConfig: {
      Binds: null,
      ContainerIDFile: '',
      LogConfig: { Type: 'json-file', Config: {} },
      NetworkMode: 'bridge',
      PortBindings: {},
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      AutoRemove: false,
      VolumeDriver: '',
      VolumesFrom: null,
      ConsoleSize: [0, 0],
      CapAdd: null,
      CapDrop: null,
      CgroupnsMode: 'host',
      Dns: [],
      DnsOptions: [],
      DnsSearch: [],
      ExtraHosts: null,
      GroupAdd: null,
      IpcMode: 'private',
      Cgroup: '',
      Links: null,
      OomScoreAdj: 0,
      PidMode: '',
      Privileged: false,
      PublishAllPorts: false,
      ReadonlyRootfs: false,
      SecurityOpt: null,
      UTSMode: '',
      UsernsMode: '',
      ShmSize: 67108864,
      Runtime: 'skiff',
      Isolation: '',
      CpuShares: 0,
      Memory: 0,
      NanoCpus: 0,
      CgroupParent: '',
      BlkioWeight: 0,
      BlkioWeightDevice: [],
      BlkioDeviceReadBps: [],
      BlkioDeviceWriteBps: [],
      BlkioDeviceReadIOps: [],
      BlkioDeviceWriteIOps: [],
      CpuPeriod: 0,
      CpuQuota: 0,
      CpuRealtimePeriod: 0,
      CpuRealtimeRuntime: 0,
      CpusetCpus: '',
      CpusetMems: '',
      Devices: [],
      DeviceCgroupRules: null,
      DeviceRequests: null,
      MemoryReservation: 0,
      MemorySwap: 0,
      MemorySwappiness: null,
      OomKillDisable: null,
      PidsLimit: null,
      Ulimits: [],
      CpuCount: 0,
      CpuPercent: 0,
      IOMaximumIOps: 0,
      IOMaximumBandwidth: 0,
      MaskedPaths: null,
      ReadonlyPaths: null,
      Init: null,
      Mounts: undefined,
      Tmpfs: undefined,
      Sysctls: undefined,
      ...rec.HostConfig,
    },
    GraphDriver: {
      Name: p.snapshotter === 'overlayfs' ? 'overlay2' : 'vfs',
      Data: { MergedDir: p.rootfs, ...(p.upper ? { UpperDir: p.upper } : {}) },
    },
    Mounts: mounts(rec),
    Config: { ...rec.Config, Labels: rec.Config.Labels ?? {} },
    NetworkSettings: {
      Bridge: '',
      SandboxID: rec.State.Running ? rec.Id : '',
      SandboxKey: rec.State.Running && rec.State.Pid ? `/proc/${rec.State.Pid}/ns/net` : '',
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      Ports: ports(rec),
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: bridge && rec.State.Running ? bridge.EndpointID : '',
      Gateway: bridge?.Gateway ?? '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      IPAddress: bridge?.IPAddress ?? '',
      IPPrefixLen: bridge?.IPPrefixLen ?? 0,
      IPv6Gateway: '',
      MacAddress: bridge?.MacAddress ?? '',
      Networks: networks(rec),
    },
  };
}

function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  const d = Math.round(h / 24);
  if (d < 14) return `${d} days`;
  if (d < 60) return `${Math.round(d / 7)} weeks`;
  if (d < 730) return `${Math.round(d / 30)} months`;
  return `${Math.round(d / 365)} years`;
}

export function statusText(rec: ContainerRecord, now = Date.now()): string {
  const s = rec.State;
  if (s.Restarting) return `Restarting (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
  if (s.Running) {
    const health =
      s.Health && s.Health.Status !== 'none'
        ? ` (${s.Health.Status === 'starting' ? 'health: starting' : s.Health.Status})`
        : '';
    return `Up ${humanDuration(now - Date.parse(s.StartedAt))}${s.Paused ? ' (Paused)' : ''}${health}`;
  }
  if (s.Status === 'removing') return 'Removal In Progress';
  if (s.Status === 'dead') return 'Dead';
  if (s.Status === 'created' || !s.FinishedAt || s.FinishedAt.startsWith('0001')) return 'Created';
  return `Exited (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
}

/** The list's Command as dockerd writes it: the arguments with a space in single quotes. */
function shellJoin(argv: string[]): string {
  return argv.map((a, i) => (i > 0 && a.includes(' ') ? `'${a}'` : a)).join(' ');
}

export function summary(rec: ContainerRecord, sizes?: { rw: number; rootfs: number }): Record<string, unknown> {
  const portsList: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] = [];
  for (const [p, b] of Object.entries(ports(rec))) {
    const [num, type = 'tcp'] = p.split('/');
    if (!b?.length) portsList.push({ PrivatePort: Number(num), Type: type });
    else
      for (const x of b)
        portsList.push({
          IP: x.HostIp,
          PrivatePort: Number(num),
          ...(x.HostPort ? { PublicPort: Number(x.HostPort) } : {}),
          Type: type,
        });
  }
  return {
    Id: rec.Id,
    Names: [rec.Name],
    Image: rec.ImageName,
    ImageID: rec.Image,
    Command: shellJoin([rec.Path, ...rec.Args]),
    Created: Math.floor(Date.parse(rec.Created) / 1000),
    Ports: portsList,
    Labels: rec.Config.Labels ?? {},
    State: rec.State.Status,
    Status: statusText(rec),
    HostConfig: { NetworkMode: rec.HostConfig.NetworkMode },
    NetworkSettings: { Networks: networks(rec) },
    Mounts: mounts(rec),
    // moby's Summary has both `omitempty`: a zero size is left out (inspect's pointers keep it)
    ...(sizes?.rw ? { SizeRw: sizes.rw } : {}),
    ...(sizes?.rootfs ? { SizeRootFs: sizes.rootfs } : {}),
  };
}

/** Docker's container list filters: id, name, label, status, exited, ancestor, before, since,
 *  volume, network, health, is-task, publish/expose (by key). */
export function listFilter(
  f: Filters,
  all: ContainerRecord[],
  resolveImage: (ref: string) => string | undefined,
): (r: ContainerRecord) => boolean {
  validateFilters(f, [
    'id',
    'name',
    'label',
    'status',
    'exited',
    'ancestor',
    'before',
    'since',
    'volume',
    'network',
    'health',
    'is-task',
    'publish',
    'expose',
    'isolation',
  ]);
  for (const s of f.status ?? [])
    if (!['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'].includes(s))
      throw invalidArgument(`Invalid filter 'status=${s}'`, { field: 'filters.status' });
  const created = (ref: string) => {
    const r = all.find((x) => x.Id.startsWith(ref) || x.Name === `/${ref}` || x.Name === ref);
    if (!r) throw invalidArgument(`No such container: ${ref}`, { field: 'filters' });
    return Date.parse(r.Created);
  };
  const before = f.before?.length ? created(f.before[0]) : undefined;
  const since = f.since?.length ? created(f.since[0]) : undefined;
  const ancestors = (f.ancestor ?? []).map((a) => resolveImage(a) ?? a);
  return (r) => {
    if (f.id?.length && !f.id.some((x) => r.Id.startsWith(x))) return false;
    if (f.name?.length && !f.name.some((x) => new RegExp(x.replace(/^\//, '')).test(r.Name.slice(1)))) return false;
    if (!matchLabels(r.Config.Labels, f.label)) return false;
    if (f.status?.length && !f.status.includes(r.State.Status)) return false;
    if (
      f.exited?.length &&
      (r.State.Running || r.State.Status !== 'exited' || !f.exited.includes(String(r.State.ExitCode)))
    )
      return false;
    if (ancestors.length && !ancestors.some((a) => a === r.Image || a === r.ImageName || `${a}:latest` === r.ImageName))
      return false;
    if (before !== undefined && Date.parse(r.Created) >= before) return false;
    if (since !== undefined && Date.parse(r.Created) <= since) return false;
    if (
      f.volume?.length &&
      !f.volume.some((v) => r.Mounts.some((m) => m.Name === v || m.Destination === v || m.Source === v))
    )
      return false;
    if (f.network?.length && !f.network.some((n) => n in r.Networks)) return false;
    if (f.health?.length && !f.health.includes(r.State.Health?.Status ?? 'none')) return false;
    if (f['is-task']?.length && f['is-task'][0] === 'true') return false;
    if (
      f.expose?.length &&
      !f.expose.some((p) => Object.keys(r.Config.ExposedPorts ?? {}).includes(p.includes('/') ? p : `${p}/tcp`))
    )
      return false;
    if (
      f.publish?.length &&
      !f.publish.some((p) =>
        Object.values(r.HostConfig.PortBindings ?? {}).some((b) =>
          (b ?? []).some((x) => x.HostPort === p.split('/')[0]),
        ),
      )
    )
      return false;
    return true;
  };
}
