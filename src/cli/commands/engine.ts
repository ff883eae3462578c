// `skiff engine`: the container engine daemon (dockerd's role), serving the Docker Engine API.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { invalidArgument, phase } from '../../common/index.js';

const USAGE = `usage: skiff engine [--data-root DIR] [--exec-root DIR] [--host unix:///PATH | tcp://HOST:PORT]... [--cgroup-parent PATH] [--storage-driver overlayfs|native]
                    [--bridge NAME] [--bip CIDR] [--iptables-chain-prefix PREFIX]
                    [--insecure-registry HOST[:PORT]]... [--config-file /etc/skiff/daemon.json]
                    [--cri] [--cri-socket PATH] [--pod-cidr CIDR] [--pod-bridge NAME] [--pod-chain-prefix PREFIX]
                    [--streaming-address HOST:PORT] [--pull-mirror DOMAIN=URL]...
                    [--nri] [--nri-socket PATH] [--nri-request-timeout DURATION] [--nri-registration-timeout DURATION]
                    [--live-restore[=true|false]]

defaults: --data-root /var/lib/skiff/engine  --exec-root /run/skiff/engine  --host unix:///run/skiff/engine.sock
          --bridge skiff0 (the default bridge network's interface)  --bip: a private subnet free of host routes
          --iptables-chain-prefix SKIFF (chains SKIFF-DNAT, SKIFF-POSTROUTING, SKIFF-FORWARD)
environment (when the flag is absent): SKIFF_BRIDGE, SKIFF_BIP, SKIFF_CHAIN_PREFIX
--insecure-registry: pulled from and pushed to over plain HTTP (or HTTPS without verification), as
          dockerd's flag; loopback registries always are. --config-file (default /etc/skiff/daemon.json
          when it exists) is dockerd's daemon.json: "insecure-registries", "data-root", "exec-root",
          "hosts", "cgroup-parent", "storage-driver", "live-restore"; flags win over the file, lists
          are merged.
--live-restore (default true here: containers run under monitors that outlive the engine): with
          false, as dockerd's default, the engine stops its running containers when it shuts down
          and stops those it finds running at start; restart policies then apply.
--cri (or --cri-socket PATH) also serves the Container Runtime Interface (CRI v1, for kubelet,
          crictl and critest) on unix:///run/skiff/cri.sock from the same images and runtime; pods get
          addresses from --pod-cidr (default 10.42.0.0/24; kubelet's UpdateRuntimeConfig overrides it)
          on their own bridge --pod-bridge (default skiff-pods0), chains --pod-chain-prefix (SKIFF-POD);
          exec/attach/port-forward URLs are served on --streaming-address (default 127.0.0.1:0).
--nri (or --nri-socket PATH) lets NRI plugins (github.com/containerd/nri v0.12) hook the CRI pod and
          container lifecycle on /var/run/nri/nri.sock (off by default: a plugin can adjust every
          container); timeouts as NRI's: --nri-registration-timeout 5s, --nri-request-timeout 2s.
--pull-mirror DOMAIN=URL: pull images of DOMAIN (e.g. registry.k8s.io) from URL first (repeatable).
then: export DOCKER_HOST=unix:///run/skiff/engine.sock; docker run --rm busybox echo hi
`;

interface DaemonJson {
  'insecure-registries'?: string[];
  'data-root'?: string;
  'exec-root'?: string;
  hosts?: string[];
  'cgroup-parent'?: string;
  'storage-driver'?: string;
  'live-restore'?: boolean;
}

/** dockerd-style daemon.json: the file given (which must exist), else /etc/skiff/daemon.json if present. */
function readDaemonJson(path: string | undefined): DaemonJson {
  const file = path ?? '/etc/skiff/daemon.json';
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (!path && (e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw invalidArgument(`--config-file ${file}: ${(e as Error).message}`, { field: 'config' });
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`${file}: not valid JSON: ${(e as Error).message}`, { field: 'config' });
  }
  if (!j || typeof j !== 'object' || Array.isArray(j))
    throw invalidArgument(`${file}: expected a JSON object`, { field: 'config' });
  const o = j as Record<string, unknown>;
  for (const k of ['insecure-registries', 'hosts']) {
    if (o[k] !== undefined && !(Array.isArray(o[k]) && (o[k] as unknown[]).every((x) => typeof x === 'string')))
      throw invalidArgument(`${file}: "${k}" must be an array of strings`, { field: 'config' });
  }
  for (const k of ['data-root', 'exec-root', 'cgroup-parent', 'storage-driver']) {
    if (o[k] !== undefined && typeof o[k] !== 'string')
      throw invalidArgument(`${file}: "${k}" must be a string`, { field: 'config' });
  }
  if (o['live-restore'] !== undefined && typeof o['live-restore'] !== 'boolean')
    throw invalidArgument(`${file}: "live-restore" must be true or false`, { field: 'config' });
  return o as DaemonJson;
}

/** Go flag syntax for booleans: `--live-restore=false` is `--no-live-restore` here. */
function goBoolFlags(argv: string[], names: string[]): string[] | string {
  const out: string[] = [];
  for (const a of argv) {
    const m = /^--([a-z-]+)=(.*)$/.exec(a);
    if (!m || !names.includes(m[1])) {
      out.push(a);
      continue;
    }
    if (/^(1|t|true)$/i.test(m[2])) out.push(`--${m[1]}`);
    else if (/^(0|f|false)$/i.test(m[2])) out.push(`--no-${m[1]}`);
    else return `--${m[1]}: invalid boolean ${JSON.stringify(m[2])}`;
  }
  return out;
}

export async function main(argv0: string[]): Promise<number> {
  const argv = goBoolFlags(argv0, ['live-restore']);
  if (typeof argv === 'string') {
    process.stderr.write(`skiff engine: ${argv}\n`);
    return 2;
  }
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      'data-root': { type: 'string' },
      'exec-root': { type: 'string' },
      host: { type: 'string', short: 'H', multiple: true },
      'cgroup-parent': { type: 'string' },
      'storage-driver': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      bridge: { type: 'string', short: 'b' },
      bip: { type: 'string' },
      'iptables-chain-prefix': { type: 'string' },
      'insecure-registry': { type: 'string', multiple: true },
      'config-file': { type: 'string' },
      cri: { type: 'boolean' },
      'cri-socket': { type: 'string' },
      'pod-cidr': { type: 'string' },
      'pod-bridge': { type: 'string' },
      'pod-chain-prefix': { type: 'string' },
      'streaming-address': { type: 'string' },
      'pull-mirror': { type: 'string', multiple: true },
      nri: { type: 'boolean' },
      'nri-socket': { type: 'string' },
      'nri-request-timeout': { type: 'string' },
      'nri-registration-timeout': { type: 'string' },
      'live-restore': { type: 'boolean' },
      'no-live-restore': { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  let file: DaemonJson;
  try {
    file = readDaemonJson(values['config-file']);
  } catch (e) {
    process.stderr.write(`skiff engine: ${(e as Error).message}\n`);
    return 2;
  }
  const insecure = [...(file['insecure-registries'] ?? []), ...(values['insecure-registry'] ?? [])];
  for (const r of insecure) {
    if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:]+\](:\d{1,5})?$|^[0-9.]+\/\d{1,2}$/.test(r)) {
      process.stderr.write(
        `skiff engine: --insecure-registry ${JSON.stringify(r)}: expected HOST[:PORT] or an IPv4 CIDR\n`,
      );
      return 2;
    }
  }
  const sd = values['storage-driver'] ?? file['storage-driver'];
  if (sd && sd !== 'overlayfs' && sd !== 'native' && sd !== 'overlay2' && sd !== 'vfs') {
    process.stderr.write(`skiff engine: unknown --storage-driver ${sd}\n`);
    return 2;
  }
  let registryMirrors: Record<string, string[]>;
  try {
    registryMirrors = parseMirrors(values['pull-mirror'] ?? []);
  } catch (e) {
    process.stderr.write(`skiff engine: ${(e as Error).message}\n`);
    return 2;
  }
  const wantCri = values.cri || values['cri-socket'] !== undefined;
  const wantNri = values.nri || values['nri-socket'] !== undefined;
  let nriTimeouts: { requestTimeoutMs?: number; registrationTimeoutMs?: number };
  try {
    nriTimeouts = {
      requestTimeoutMs: parseDurationMs(values['nri-request-timeout'], '--nri-request-timeout'),
      registrationTimeoutMs: parseDurationMs(values['nri-registration-timeout'], '--nri-registration-timeout'),
    };
  } catch (e) {
    process.stderr.write(`skiff engine: ${(e as Error).message}\n`);
    return 2;
  }
  if (wantNri && !wantCri) {
    process.stderr.write('skiff engine: --nri needs --cri (NRI hooks the CRI pod and container lifecycle)\n');
    return 2;
  }
  phase('cli parsed');
  const { startNode } = await import('../../cluster/index.js');
  const node = await startNode({
    engine: {
      dataRoot: values['data-root'] ?? file['data-root'],
      execRoot: values['exec-root'] ?? file['exec-root'],
      hosts: values.host ?? file.hosts,
      cgroupParent: values['cgroup-parent'] ?? file['cgroup-parent'],
      insecureRegistries: [...new Set(insecure)],
      registryMirrors,
      snapshotter:
        sd === 'overlay2' ? 'overlayfs' : sd === 'vfs' ? 'native' : (sd as 'overlayfs' | 'native' | undefined),
      bridge: values.bridge,
      bip: values.bip,
      chainPrefix: values['iptables-chain-prefix'],
      liveRestore: values['no-live-restore'] ? false : values['live-restore'] ? true : file['live-restore'],
      cri: wantCri
        ? {
            socket: values['cri-socket'] ?? '/run/skiff/cri.sock',
            podCidr: values['pod-cidr'],
            bridge: values['pod-bridge'],
            chainPrefix: values['pod-chain-prefix'],
            streamingAddress: values['streaming-address'],
            nri: wantNri ? { socket: values['nri-socket'], ...nriTimeouts } : undefined,
          }
        : undefined,
    },
  });
  const engine = node.engine!;
  phase('ready');
  process.stdout.write(
    `skiff engine ready on ${engine.hosts.join(', ')}${engine.criEndpoint ? ` (CRI on ${engine.criEndpoint})` : ''}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await node.close();
  return 0;
}

/** A duration flag ("2s", "500ms", "1500" = ms) in milliseconds; undefined when absent. */
export function parseDurationMs(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(v.trim());
  if (!m || Number(m[1]) <= 0)
    throw invalidArgument(`${flag} ${JSON.stringify(v)}: expected a duration such as 2s or 500ms`);
  return Math.round(Number(m[1]) * (m[2] === 's' ? 1000 : 1));
}

/** `--pull-mirror DOMAIN=URL` values → domain → mirror URLs. */
export function parseMirrors(list: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const m of list) {
    const i = m.indexOf('=');
    const domain = m.slice(0, i).trim();
    const url = m.slice(i + 1).trim();
    if (i <= 0 || !url || !/^[A-Za-z0-9.-]+(:\d+)?$/.test(domain))
      throw invalidArgument(
        `--pull-mirror ${JSON.stringify(m)}: expected DOMAIN=URL (e.g. registry.k8s.io=http://127.0.0.1:5000)`,
        { field: 'pull-mirror' },
      );
    (out[domain] ??= []).push(url);
  }
  return out;
}
