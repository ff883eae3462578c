// `POST /containers/create`: validating the request at the edge and merging it with the image's
// config (moby's daemon/create.go + runconfig merge).
import { isAbsolute } from 'node:path';
import { isIP } from 'node:net';
import { z } from 'zod';
import { invalidArgument, notFound } from '../../../common/index.js';
import type { ImageConfig } from '../../../image/index.js';
import type { ContainerConfig, HostConfig, MountPoint } from './record.js';

const strList = z.union([z.array(z.string()), z.string().transform((s) => [s])]).nullish();

export const CreateBodySchema = z.looseObject({
  Hostname: z.string().optional(),
  Domainname: z.string().optional(),
  User: z.string().optional(),
  AttachStdin: z.boolean().optional(),
  AttachStdout: z.boolean().optional(),
  AttachStderr: z.boolean().optional(),
  ExposedPorts: z.record(z.string(), z.any()).nullish(),
  MacAddress: z.string().optional(),
  Tty: z.boolean().optional(),
  OpenStdin: z.boolean().optional(),
  StdinOnce: z.boolean().optional(),
  Env: z.array(z.string()).nullish(),
  Cmd: strList,
  Entrypoint: strList,
  Healthcheck: z
    .looseObject({
      Test: z.array(z.string()).nullish(),
      Interval: z.number().int().nullish(),
      Timeout: z.number().int().nullish(),
      StartPeriod: z.number().int().nullish(),
      StartInterval: z.number().int().nullish(),
      Retries: z.number().int().nullish(),
    })
    .nullish(),
  Image: z.string({ error: 'Config.Image: an image is required' }).min(1, 'Config.Image: an image is required'),
  Volumes: z.record(z.string(), z.any()).nullish(),
  WorkingDir: z.string().optional(),
  Labels: z.record(z.string(), z.string()).nullish(),
  StopSignal: z.string().optional(),
  StopTimeout: z.number().int().nullish(),
  HostConfig: z
    .looseObject({
      Binds: z.array(z.string()).nullish(),
      NetworkMode: z.string().optional(),
      PortBindings: z
        .record(
          z.string(),
          z.array(z.looseObject({ HostIp: z.string().optional(), HostPort: z.string().optional() })).nullish(),
        )
        .nullish(),
      RestartPolicy: z
        .looseObject({ Name: z.string().optional(), MaximumRetryCount: z.number().int().optional() })
        .optional(),
      AutoRemove: z.boolean().optional(),
      Mounts: z
        .array(
          z.looseObject({
            Type: z.string().optional(),
            Source: z.string().optional(),
            Target: z.string().optional(),
            ReadOnly: z.boolean().optional(),
          }),
        )
        .nullish(),
      Memory: z.number().int().optional(),
      MemorySwap: z.number().int().optional(), // any negative: unlimited, as dockerd takes it
      MemoryReservation: z.number().int().optional(),
      MemorySwappiness: z.number().int().nullish(),
      NanoCpus: z.number().int().optional(),
      CpuShares: z.number().int().optional(),
      CpuQuota: z.number().int().optional(),
      CpuPeriod: z.number().int().optional(),
      CpusetCpus: z.string().optional(),
      CpusetMems: z.string().optional(),
      BlkioWeight: z.number().int().nonnegative().optional(),
      OomScoreAdj: z.number().int().optional(),
      ShmSize: z.number().int().optional(),
      GroupAdd: z.array(z.string()).nullish(),
      VolumesFrom: z.array(z.string()).nullish(),
      Links: z.array(z.string()).nullish(),
      Annotations: z.record(z.string(), z.string()).nullish(),
      MaskedPaths: z.array(z.string()).nullish(),
      ReadonlyPaths: z.array(z.string()).nullish(),
      DeviceCgroupRules: z.array(z.string()).nullish(),
      PidsLimit: z.number().int().nullish(),
      CapAdd: z.array(z.string()).nullish(),
      CapDrop: z.array(z.string()).nullish(),
      Dns: z.array(z.string()).nullish(),
      DnsSearch: z.array(z.string()).nullish(),
      DnsOptions: z.array(z.string()).nullish(),
      ExtraHosts: z.array(z.string()).nullish(),
      Tmpfs: z.record(z.string(), z.string()).nullish(),
      Sysctls: z.record(z.string(), z.string()).nullish(),
      SecurityOpt: z.array(z.string()).nullish(),
      Ulimits: z.array(z.looseObject({ Name: z.string(), Soft: z.number().int(), Hard: z.number().int() })).nullish(),
      LogConfig: z
        .looseObject({ Type: z.string().optional(), Config: z.record(z.string(), z.string()).nullish() })
        .optional(),
    })
    .optional(),
  NetworkingConfig: z
    .looseObject({
      EndpointsConfig: z
        .record(z.string(), z.looseObject({ Aliases: z.array(z.string()).nullish() }).nullish())
        .nullish(),
    })
    .nullish(),
});
export type CreateBody = z.infer<typeof CreateBodySchema>;

export function parseCreateBody(raw: unknown): CreateBody {
  if (raw === undefined)
    throw invalidArgument('config cannot be empty in order to create a container', { field: 'body' });
  const r = CreateBodySchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue.path.join('.') || 'body';
    throw invalidArgument(issue.message.startsWith(field) ? issue.message : `${field}: ${issue.message}`, {
      field,
      details: r.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })),
    });
  }
  return r.data;
}

const NAME_RE = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
export function validateName(name: string): string {
  if (!NAME_RE.test(name))
    throw invalidArgument(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`, {
      field: 'name',
    });
  return name.startsWith('/') ? name : `/${name}`;
}

function validatePorts(b: CreateBody): void {
  // dockerd (go-connections' nat) names only the port part, without the protocol or the field.
  const bad = (port: string): never => {
    throw invalidArgument(`invalid port specification: ${JSON.stringify(port)}`, { field: 'HostConfig.PortBindings' });
  };
  const range = (p: string, zeroOk: boolean) => {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(p);
    if (!m) return bad(p);
    const [lo, hi] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (lo > 65535 || hi > 65535 || hi < lo || (!zeroOk && lo === 0)) bad(p);
  };
  for (const [k, v] of Object.entries(b.HostConfig?.PortBindings ?? {})) {
    const [port, proto] = k.split('/');
    if (proto !== undefined && !['tcp', 'udp', 'sctp'].includes(proto))
      throw invalidArgument(`HostConfig.PortBindings: invalid port specification: ${JSON.stringify(k)}`, {
        field: 'HostConfig.PortBindings',
      });
    range(port, false);
    for (const hb of v ?? []) {
      if (hb.HostPort) range(hb.HostPort, true);
      // dockerd 20.10 takes a HostIp that is no address and publishes nothing for it (no error, no
      // port); refused here with the docker CLI's words for `-p foo:80:80`.
      if (hb.HostIp && isIP(hb.HostIp) === 0)
        throw invalidArgument(`invalid IP address: ${hb.HostIp}`, { field: `HostConfig.PortBindings.${k}` });
    }
  }
}

/** moby's validateMountConfig, with its messages: the fields each mount type takes. */
function checkMount(m: Record<string, unknown>, t: string): void {
  const bad = (why: string, field: string): never => {
    throw invalidArgument(`invalid mount config for type ${JSON.stringify(t)}: ${why}`, {
      field: `HostConfig.Mounts.${field}`,
    });
  };
  const target = typeof m.Target === 'string' ? m.Target : '';
  const source = typeof m.Source === 'string' ? m.Source : '';
  const absolute = (p: string, field: string) =>
    isAbsolute(p) || bad(`invalid mount path: '${p}' mount path must be absolute`, field);
  if (!target) bad('field Target must not be empty', 'Target');
  if (target === '/') bad("invalid specification: destination can't be '/'", 'Target');
  absolute(target, 'Target');
  // (dockerd takes TmpfsOptions on a bind or volume mount and VolumeOptions on a tmpfs one, unused)
  const not = (f: string) => m[f] != null && bad(`field ${f} must not be specified`, f);
  if (t === 'bind') {
    not('VolumeOptions');
    if (!source) bad('field Source must not be empty', 'Source');
    absolute(source, 'Source');
  } else if (t === 'volume') not('BindOptions');
  else if (t === 'tmpfs') {
    not('BindOptions');
    if (source) bad('field Source must not be specified', 'Source');
  } else bad('mount type unknown', 'Type');
}

/** Parsed Binds/Mounts/Tmpfs; named volumes carry Name and get their Source from the volumes service. */
export function parseMounts(b: CreateBody, imageVolumes: string[]): MountPoint[] {
  const out: MountPoint[] = [];
  const dest = (d: string, field: string) => {
    if (!d || !isAbsolute(d))
      throw invalidArgument(`${field}: invalid mount config: mount path must be absolute: "${d}"`, { field });
    if (d === '/') throw invalidArgument(`${field}: invalid specification: destination can't be '/'`, { field });
    if (out.some((m) => m.Destination === d)) throw invalidArgument(`${field}: Duplicate mount point: ${d}`, { field });
    return d.replace(/\/+$/, '') || '/';
  };
  for (const spec of b.HostConfig?.Binds ?? []) {
    const parts = spec.split(':');
    if (parts.length === 1 && isAbsolute(spec)) {
      // `-v /path` (no source): an anonymous volume at that path, as dockerd takes it
      out.push({
        Type: 'volume',
        Name: '',
        Driver: 'local',
        Source: '',
        Destination: dest(spec, 'HostConfig.Binds'),
        Mode: '',
        RW: true,
        Propagation: '',
        Anonymous: true,
      });
      continue;
    }
    if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1])
      throw invalidArgument(`HostConfig.Binds: invalid volume specification: '${spec}'`, { field: 'HostConfig.Binds' });
    const [src, dst, mode = ''] = parts;
    const opts = mode.split(',').filter(Boolean);
    for (const o of opts)
      if (
        ![
          'ro',
          'rw',
          'z',
          'Z',
          'private',
          'rprivate',
          'shared',
          'rshared',
          'slave',
          'rslave',
          'nocopy',
          'consistent',
          'cached',
          'delegated',
        ].includes(o)
      )
        throw invalidArgument(`invalid mode: ${o}`, { field: 'HostConfig.Binds' });
    const named = !src.startsWith('/');
    const propagation = opts.find((o) => /private|shared|slave/.test(o));
    if (named && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(src))
      // dockerd's words (the local volume driver's, when the container's create makes the volume)
      throw invalidArgument(
        `create ${src}: "${src}" includes invalid characters for a local volume name, only ` +
          '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path',
        { field: 'HostConfig.Binds' },
      );
    out.push({
      Type: named ? 'volume' : 'bind',
      ...(named ? { Name: src, Driver: 'local' } : {}),
      Source: named ? '' : src,
      Destination: dest(dst, 'HostConfig.Binds'),
      // dockerd: a named volume's mode defaults to "z" and it has no propagation of its own.
      Mode: named ? mode || 'z' : mode,
      RW: !opts.includes('ro'),
      Propagation: named ? (propagation ?? '') : (propagation ?? 'rprivate'),
    });
  }
  for (const m of b.HostConfig?.Mounts ?? []) {
    const t = m.Type ?? '';
    checkMount(m as Record<string, unknown>, t);
    const target = dest(m.Target ?? '', 'HostConfig.Mounts.Target');
    if (t === 'bind') {
      const bo = (m as { BindOptions?: { Propagation?: string } | null }).BindOptions;
      out.push({
        Type: 'bind',
        Source: m.Source ?? '',
        Destination: target,
        Mode: '',
        RW: !m.ReadOnly,
        Propagation: bo?.Propagation || 'rprivate',
      });
    } else if (t === 'volume') {
      const vo = (m as { VolumeOptions?: MountPoint['VolumeOptions'] | null }).VolumeOptions ?? undefined;
      out.push({
        Type: 'volume',
        Name: m.Source || '',
        Driver: 'local',
        Source: '',
        Destination: target,
        Mode: 'z',
        RW: !m.ReadOnly,
        Propagation: '',
        Anonymous: !m.Source,
        ...(vo ? { VolumeOptions: vo } : {}),
      });
    } else if (t === 'tmpfs') {
      out.push({
        Type: 'tmpfs',
        Source: '',
        Destination: target,
        Mode: '',
        RW: !m.ReadOnly,
        Propagation: '',
        TmpfsOptions: (m as { TmpfsOptions?: MountPoint['TmpfsOptions'] }).TmpfsOptions,
      });
    }
  }
  for (const [d, opts] of Object.entries(b.HostConfig?.Tmpfs ?? {}))
    out.push({
      Type: 'tmpfs',
      Source: '',
      Destination: dest(d, 'HostConfig.Tmpfs'),
      Mode: opts,
      RW: !opts.split(',').includes('ro'),
      Propagation: '',
    });
  for (const d of [...imageVolumes, ...Object.keys(b.Volumes ?? {})]) {
    if (out.some((m) => m.Destination === d.replace(/\/+$/, ''))) continue;
    out.push({
      Type: 'volume',
      Name: '',
      Driver: 'local',
      Source: '',
      Destination: dest(d, 'Config.Volumes'),
      Mode: '',
      RW: true,
      Propagation: '',
      Anonymous: true,
    });
  }
  return out;
}

function mergeEnv(image: string[], own: string[]): string[] {
  const m = new Map<string, string>();
  for (const e of [...image, ...own]) {
    const k = e.split('=')[0];
    m.set(k, e);
  }
  return [...m.values()];
}

/** Validates a create body and merges it with the image config. */
export function mergeConfig(
  b: CreateBody,
  image: ImageConfig,
  id: string,
): { config: ContainerConfig; hostConfig: HostConfig; path: string; args: string[] } {
  validatePorts(b);
  const ic = image.config ?? {};
  // `--entrypoint ''` sends [""]: after the merge with the image (which it keeps from adding its Cmd),
  // dockerd resets it to none (mergeAndVerifyConfig).
  const merged = b.Entrypoint != null ? b.Entrypoint : (ic.Entrypoint ?? null);
  const entrypoint = merged?.length === 1 && merged[0] === '' ? null : merged;
  const cmd = b.Cmd?.length ? b.Cmd : b.Entrypoint != null ? null : (ic.Cmd ?? null);
  const argv = [...(entrypoint ?? []), ...(cmd ?? [])];
  if (!argv.length) throw invalidArgument('No command specified', { field: 'Cmd' });
  // Config.Env is the image's and the request's only; PATH, HOSTNAME and TERM join the process's
  // environment at start (processEnv), as dockerd's CreateDaemonEnvironment.
  const env = mergeEnv(ic.Env ?? [], b.Env ?? []);
  const hostname = b.Hostname || id.slice(0, 12);
  const hc = { ...(b.HostConfig ?? {}) } as HostConfig;
  hc.NetworkMode = hc.NetworkMode || 'bridge';
  if (hc.NetworkMode === 'default') hc.NetworkMode = 'bridge';
  hc.RestartPolicy = {
    Name: hc.RestartPolicy?.Name || 'no',
    MaximumRetryCount: hc.RestartPolicy?.MaximumRetryCount ?? 0,
  };
  hc.LogConfig = { Type: hc.LogConfig?.Type || 'json-file', Config: hc.LogConfig?.Config ?? {} };
  if ((b as { NetworkDisabled?: boolean }).NetworkDisabled) hc.NetworkMode = 'none';
  // dockerd's defaults, as inspect shows them: swap twice the memory, the host's cgroup namespace.
  if (typeof hc.Memory === 'number' && hc.Memory > 0 && !hc.MemorySwap) hc.MemorySwap = hc.Memory * 2;
  hc.CgroupnsMode = (hc.CgroupnsMode as string | undefined) || 'host';
  hc.IpcMode = (hc.IpcMode as string | undefined) || 'private'; // dockerd's default-ipc-mode
  // --mac-address: Config.MacAddress (API < 1.44) or the network mode's endpoint's (CLI 28 at 1.44+)
  const eps = (b.NetworkingConfig?.EndpointsConfig ?? {}) as Record<string, { MacAddress?: unknown } | null>;
  const modeEp = eps[hc.NetworkMode ?? 'bridge'] ?? (hc.NetworkMode === 'bridge' ? eps.default : undefined);
  const mac = b.MacAddress || (typeof modeEp?.MacAddress === 'string' ? modeEp.MacAddress : '');
  const config: ContainerConfig = {
    Hostname: hostname,
    Domainname: b.Domainname ?? '',
    User: b.User || ic.User || '',
    AttachStdin: !!b.AttachStdin,
    AttachStdout: b.AttachStdout ?? false,
    AttachStderr: b.AttachStderr ?? false,
    ...(b.ExposedPorts || ic.ExposedPorts
      ? { ExposedPorts: { ...(ic.ExposedPorts ?? {}), ...(b.ExposedPorts ?? {}) } }
      : {}),
    Tty: !!b.Tty,
    OpenStdin: !!b.OpenStdin,
    StdinOnce: !!b.StdinOnce,
    Env: env,
    Cmd: cmd,
    ...(b.Healthcheck || ic.Healthcheck ? { Healthcheck: mergeHealthcheck(b.Healthcheck, ic.Healthcheck) } : {}),
    Image: b.Image,
    Volumes: Object.keys({ ...(ic.Volumes ?? {}), ...(b.Volumes ?? {}) }).length
      ? { ...(ic.Volumes ?? {}), ...(b.Volumes ?? {}) }
      : null,
    WorkingDir: b.WorkingDir || ic.WorkingDir || '',
    Entrypoint: entrypoint,
    OnBuild: null,
    Labels: { ...(ic.Labels ?? {}), ...(b.Labels ?? {}) },
    ...(b.StopSignal || ic.StopSignal ? { StopSignal: b.StopSignal || ic.StopSignal } : {}),
    ...(b.StopTimeout != null ? { StopTimeout: b.StopTimeout } : {}),
    ...(mac ? { MacAddress: mac } : {}),
  };
  return { config, hostConfig: hc, path: argv[0], args: argv.slice(1) };
}

/** dockerd's answer when the local image is of another platform (404: the CLI then pulls). */
export function checkPlatform(
  ref: string,
  platform: string,
  c: { os?: string; architecture?: string; variant?: string },
): void {
  const [os = '', arch = '', variant = ''] = platform.toLowerCase().split('/');
  const alias: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64' };
  const a = alias[arch] ?? arch;
  if ((os && os !== c.os) || (a && a !== c.architecture) || (variant && variant !== (c.variant ?? '')))
    throw notFound(
      `image with reference ${ref} was found but does not match the specified platform: wanted ${platform}, actual: ${c.os}/${c.architecture}${c.variant ? `/${c.variant}` : ''}`,
      { field: 'platform' },
    );
}

type Health = NonNullable<ContainerConfig['Healthcheck']>;
/**
 * The container's healthcheck over the image's, as moby's merge: what the request leaves unset or
 * zero comes from the image. Zero durations and retries and an empty test are left out, as Go's
 * `omitempty` does (docker-py sends `StartPeriod: 0`; dockerd's inspect then has no StartPeriod).
 */
function mergeHealthcheck(user: object | null | undefined, image: object | null | undefined): Health {
  const out: Record<string, unknown> = {};
  const u: Record<string, unknown> = { ...user };
  const i: Record<string, unknown> = { ...image };
  for (const [k, v] of Object.entries(u)) if (!(k in HEALTH_KEYS)) out[k] = v; // kept as sent
  const test = Array.isArray(u.Test) && u.Test.length ? u.Test : i.Test;
  if (Array.isArray(test) && test.length) out.Test = test;
  for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
    const v = typeof u[k] === 'number' && u[k] !== 0 ? u[k] : i[k];
    if (typeof v === 'number' && v !== 0) out[k] = v;
  }
  return out as Health;
}
const HEALTH_KEYS = { Test: 1, Interval: 1, Timeout: 1, StartPeriod: 1, StartInterval: 1, Retries: 1 };
