// `skiff engine`: the container engine daemon (dockerd's role), serving the Docker Engine API.
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';

const USAGE = `usage: skiff engine [--data-root DIR] [--exec-root DIR] [--host unix:///PATH | tcp://HOST:PORT]... [--cgroup-parent PATH] [--storage-driver overlayfs|native]
                    [--bridge NAME] [--bip CIDR] [--iptables-chain-prefix PREFIX]
                    [--insecure-registry HOST[:PORT]]... [--config-file /etc/skiff/daemon.json]
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
then: export DOCKER_HOST=unix:///run/skiff/engine.sock; docker run --rm busybox echo hi
`;

export interface LaunchOptions {
  dataRoot?: string;
  execRoot?: string;
  hosts?: string[];
  cgroupParent?: string;
  snapshotter?: 'overlayfs' | 'native';
  /** Default bridge interface (dockerd's --bridge), gateway/prefix (dockerd's --bip), iptables chain prefix. */
  bridge?: string;
  bip?: string;
  chainPrefix?: string;
  /** Registries reached over plain HTTP besides loopback (dockerd's --insecure-registry). */
  insecureRegistries?: string[];
  /** dockerd's --live-restore (default true). */
  liveRestore?: boolean;
}
export interface LaunchedEngine {
  hosts: string[];
  apiVersion: string;
  close(): Promise<void>;
}

/** Starts the engine with everything it is composed of (also used by \`skiff start\`): the network
 *  manager is initialised first (it reconciles what a crashed engine left: bridges, rules, leases),
 *  and closed after the engine (DNS stops; links and rules stay for containers kept running). */
export async function launchEngine(o: LaunchOptions): Promise<LaunchedEngine> {
  const { startEngine } = await import('../../engine/index.js');
  const { NetworkManager, createEngineDriver } = await import('../../network/index.js');
  const dataRoot = o.dataRoot ?? '/var/lib/skiff/engine';
  const env = process.env;
  const network = new NetworkManager({
    stateDir: join(dataRoot, 'network'),
    chainPrefix: o.chainPrefix ?? env.SKIFF_CHAIN_PREFIX ?? 'SKIFF',
  });
  await network.init();
  let engine;
  try {
    const networkDriver = createEngineDriver(network, {
      defaultBridge: o.bridge ?? env.SKIFF_BRIDGE ?? 'skiff0',
      bip: o.bip ?? env.SKIFF_BIP,
    });
    engine = await startEngine({
      dataRoot,
      execRoot: o.execRoot,
      hosts: o.hosts,
      cgroupParent: o.cgroupParent,
      snapshotter: o.snapshotter,
      networkDriver,
      insecureRegistries: o.insecureRegistries,
      liveRestore: o.liveRestore,
    });
  } catch (e) {
    await network.close();
    throw e;
  }
  const eng = engine;
  return {
    hosts: eng.hosts,
    apiVersion: eng.ctx.info.apiVersion,
    close: async () => {
      await eng.close();
      await network.close();
    },
  };
}

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
    throw new Error(`--config-file ${file}: ${(e as Error).message}`);
  }
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  if (!j || typeof j !== 'object' || Array.isArray(j)) throw new Error(`${file}: expected a JSON object`);
  const o = j as Record<string, unknown>;
  for (const k of ['insecure-registries', 'hosts']) {
    if (o[k] !== undefined && !(Array.isArray(o[k]) && (o[k] as unknown[]).every((x) => typeof x === 'string')))
      throw new Error(`${file}: "${k}" must be an array of strings`);
  }
  for (const k of ['data-root', 'exec-root', 'cgroup-parent', 'storage-driver']) {
    if (o[k] !== undefined && typeof o[k] !== 'string') throw new Error(`${file}: "${k}" must be a string`);
  }
  if (o['live-restore'] !== undefined && typeof o['live-restore'] !== 'boolean')
    throw new Error(`${file}: "live-restore" must be true or false`);
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
  const engine = await launchEngine({
    dataRoot: values['data-root'] ?? file['data-root'],
    execRoot: values['exec-root'] ?? file['exec-root'],
    hosts: values.host ?? file.hosts,
    cgroupParent: values['cgroup-parent'] ?? file['cgroup-parent'],
    insecureRegistries: [...new Set(insecure)],
    snapshotter: sd === 'overlay2' ? 'overlayfs' : sd === 'vfs' ? 'native' : (sd as 'overlayfs' | 'native' | undefined),
    bridge: values.bridge,
    bip: values.bip,
    chainPrefix: values['iptables-chain-prefix'],
    liveRestore: values['no-live-restore'] ? false : values['live-restore'] ? true : file['live-restore'],
  });
  process.stdout.write(`skiff engine ready on ${engine.hosts.join(', ')}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  await engine.close();
  return 0;
}
