// /_ping, /version, /info, /system/df, /events.
import { cpus, totalmem, hostname, release, arch } from 'node:os';
import { readFileSync, existsSync } from 'node:fs';
import { invalidArgument } from '../../../common/index.js';
import type { Router, ApiRequest } from '../router.js';
import type { SystemBackend } from '../backends.js';
import { eventMatches, parseEventTime } from '../../events.js';

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' };

function ping(q: ApiRequest) {
  q.res.writeHead(200, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Builder-Version': '1',
    Swarm: 'inactive',
    'Docker-Experimental': 'false',
    'Cache-Control': 'no-cache, no-store, must-revalidate',
    Pragma: 'no-cache',
    'Content-Length': q.method === 'HEAD' ? '0' : '2',
  });
  q.res.end(q.method === 'HEAD' ? undefined : 'OK');
}

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

function cgroupVersion(): '1' | '2' {
  return existsSync('/sys/fs/cgroup/cgroup.controllers') ? '2' : '1';
}

export function register(r: Router, b: SystemBackend): void {
  r.get('/_ping', ping);
  r.head('/_ping', ping);
  r.get('/version', () => {
    const i = b.info;
    const base = {
      Version: i.version,
      ApiVersion: i.apiVersion,
      MinAPIVersion: i.minApiVersion,
      GitCommit: 'skiff',
      GoVersion: `node${process.versions.node}`,
      Os: 'linux',
      Arch: GO_ARCH[arch()] ?? arch(),
      KernelVersion: release(),
      BuildTime: i.startedAt.toISOString(),
    };
    return {
      Platform: { Name: 'Skiff Engine' },
      Components: [
        {
          Name: 'Engine',
          Version: i.version,
          Details: {
            ApiVersion: i.apiVersion,
            MinAPIVersion: i.minApiVersion,
            Os: 'linux',
            Arch: base.Arch,
            KernelVersion: base.KernelVersion,
            GitCommit: 'skiff',
            GoVersion: base.GoVersion,
            Experimental: 'false',
          },
        },
        { Name: 'skiff-runtime', Version: i.version, Details: { GitCommit: 'skiff' } },
      ],
      ...base,
    };
  });
  r.get('/info', async () => {
    const i = b.info;
    const c = b.containerCounts();
    const images = await b.imageCount();
    return {
      ID: i.id,
      Containers: c.total,
      ContainersRunning: c.running,
      ContainersPaused: c.paused,
      ContainersStopped: c.stopped,
      Images: images,
      Driver: b.storageDriver(),
      DriverStatus: [
        ['Backing Filesystem', 'extfs'],
        ['Supports d_type', 'true'],
      ],
      Plugins: {
        Volume: ['local'],
        Network: ['bridge', 'host', 'null'],
        Authorization: null,
        Log: ['json-file', 'local'],
      },
      MemoryLimit: true,
      SwapLimit: true,
      KernelMemory: false,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      IPv4Forwarding: true,
      BridgeNfIptables: false,
      BridgeNfIp6tables: false,
      Debug: false,
      NFd: 0,
      OomKillDisable: cgroupVersion() === '1',
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: cgroupVersion(),
      NEventsListener: 0,
      KernelVersion: release(),
      OperatingSystem: osName(),
      OSVersion: '',
      OSType: 'linux',
      Architecture: arch() === 'x64' ? 'x86_64' : arch(),
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: registryConfig(i.insecureRegistries ?? []),
      NCPU: cpus().length,
      MemTotal: totalmem(),
      GenericResources: null,
      DockerRootDir: b.root,
      HttpProxy: '',
      HttpsProxy: '',
      NoProxy: '',
      Name: hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: i.version,
      Runtimes: { skiff: { path: 'skiff-runtime' }, runc: { path: 'skiff-runtime' } },
      DefaultRuntime: 'skiff',
      Swarm: {
        NodeID: '',
        NodeAddr: '',
        LocalNodeState: 'inactive',
        ControlAvailable: false,
        Error: '',
        RemoteManagers: null,
      },
      LiveRestoreEnabled: i.liveRestore,
      Isolation: '',
      InitBinary: 'skiff-tini',
      ContainerdCommit: { ID: '' },
      RuncCommit: { ID: 'skiff' },
      InitCommit: { ID: 'skiff' },
      SecurityOptions: ['name=seccomp,profile=builtin', ...(cgroupVersion() === '2' ? ['name=cgroupns'] : [])],
      CDISpecDirs: [],
      Warnings: [],
    };
  });
  r.get('/system/df', () => b.diskUsage());
  r.get('/events', async (q) => {
    const f = q.query.filters();
    const since = parseEventTime(q.query.str('since'));
    const until = parseEventTime(q.query.str('until'));
    if (q.query.str('since') && since === undefined)
      throw invalidArgument('since: invalid time value', { field: 'since' });
    if (q.query.str('until') && until === undefined)
      throw invalidArgument('until: invalid time value', { field: 'until' });
    // dockerd accepts any filter key here (an unknown one matches nothing it knows of).
    if (since !== undefined && until !== undefined && until < since)
      throw invalidArgument(
        `\`since\` time (${q.query.str('since')}) cannot be after \`until\` time (${q.query.str('until')})`,
        { field: 'until' },
      );
    q.res.writeHead(200, { 'Content-Type': 'application/json' });
    q.res.flushHeaders();
    const buffered: string[] = [];
    let replaying = true;
    const unsub = b.subscribe((e) => {
      if (!eventMatches(e, f)) return;
      if (until !== undefined && e.timeNano / 1e9 > until) return;
      const line = JSON.stringify(e) + '\n';
      if (replaying) buffered.push(line);
      else q.res.write(line);
    });
    if (since !== undefined) for (const e of b.pastEvents(f, since, until)) q.res.write(JSON.stringify(e) + '\n');
    replaying = false;
    for (const l of buffered) q.res.write(l);
    await new Promise<void>((res) => {
      q.res.on('close', res);
      if (until !== undefined) {
        const ms = until * 1000 - Date.now();
        setTimeout(res, Math.max(0, ms)).unref();
      }
    });
    unsub();
    q.res.end();
  });
}

/** dockerd's RegistryConfig: insecure registries given as CIDRs (loopback always) and by name. */
function registryConfig(insecure: string[]) {
  const cidrs = ['127.0.0.0/8', ...insecure.filter((r) => /^[\d.]+\/\d+$/.test(r))];
  const IndexConfigs: Record<string, { Name: string; Mirrors: string[]; Secure: boolean; Official: boolean }> = {
    'docker.io': { Name: 'docker.io', Mirrors: [], Secure: true, Official: true },
  };
  for (const r of insecure)
    if (!/^[\d.]+\/\d+$/.test(r)) IndexConfigs[r] = { Name: r, Mirrors: [], Secure: false, Official: false };
  return {
    AllowNondistributableArtifactsCIDRs: null,
    AllowNondistributableArtifactsHostnames: null,
    InsecureRegistryCIDRs: [...new Set(cidrs)],
    IndexConfigs,
    Mirrors: null,
  };
}
