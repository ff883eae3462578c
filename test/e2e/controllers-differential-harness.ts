// The controllers differential's machinery: a side is a fresh `skiff server` (SQLite, Skiff's
// scheduler) with simulated nodes in this process, running either Skiff's own controllers or the
// real kube-controller-manager 1.32.4 against `--disable-controller-manager`. Snapshots of a
// namespace are normalised (uids, times, resourceVersions, random name suffixes, pod IPs) and
// compared field by field; the differences both sides are allowed to keep are in ACCEPTED, the one
// place that lists them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeClient } from '../../src/kube/client/index.js';
import { SimNodes, type PodFate } from '../fixtures/sim-nodes.js';
import { ROOT, sleep, startSkiffServer, type SkiffServer } from './kubectl-harness.js';

export type SideName = 'skiff' | 'kcm';
// biome-ignore lint/suspicious/noExplicitAny: JSON objects of any kind are compared.
type Obj = any;

/** The node monitor grace period both sides run with (upstream's default is 40 s). */
export const NODE_GRACE = '12s';
export const NODES = [
  { name: 'n1', labels: { zone: 'z1' } },
  { name: 'n2', labels: { zone: 'z2' } },
  { name: 'n3', labels: { zone: 'z3' }, taints: [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }] },
];

export function buildPeer(): string {
  const r = spawnSync(join(ROOT, 'scripts/build-kube-controller-manager.sh'), ['1.32.4'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0)
    throw new Error('kube-controller-manager is required (scripts/build-kube-controller-manager.sh failed)');
  return r.stdout.trim().split('\n').pop()!;
}

/** A pod's fate on the simulated kubelet, from its labels: `sim/fate` (ready, unready, pending,
 *  succeed, fail) and `sim/exit` (the exit code of a failing container). */
const fate = (p: Obj): PodFate => (p.metadata.labels?.['sim/fate'] as PodFate) ?? 'ready';
const exitCode = (p: Obj): number => Number(p.metadata.labels?.['sim/exit'] ?? 1);

export interface Side {
  name: SideName;
  srv: SkiffServer;
  client: KubeClient;
  sim: SimNodes;
  kcmLog(): string;
  kubectl(args: string[], input?: unknown): Promise<string>;
  get(path: string): Promise<Obj | undefined>;
  stop(): Promise<void>;
}

export async function startSide(name: SideName, peer: string): Promise<Side> {
  const srv = await startSkiffServer('sqlite', {
    args:
      name === 'kcm'
        ? ['--disable-controller-manager']
        : ['--kube-controller-manager-arg', `node-monitor-grace-period=${NODE_GRACE}`],
  });
  const { server, ca, cert, key } = srv.creds;
  const client = new KubeClient({ server, ca, cert, key, userAgent: `controllers-diff-${name}` });
  let kcm: ChildProcess | undefined;
  let log = '';
  let stopping = false;
  if (name === 'kcm') {
    const pki = join(srv.dir, 'pki');
    kcm = spawn(
      peer,
      [
        `--kubeconfig=${srv.kubeconfig}`,
        '--controllers=*',
        '--leader-elect=false',
        '--secure-port=0',
        '--kube-api-content-type=application/json',
        `--root-ca-file=${join(pki, 'ca.crt')}`,
        `--service-account-private-key-file=${join(pki, 'sa.key')}`,
        `--cluster-signing-cert-file=${join(pki, 'ca.crt')}`,
        `--cluster-signing-key-file=${join(pki, 'ca.key')}`,
        `--node-monitor-grace-period=${NODE_GRACE}`,
        '--node-monitor-period=2s',
        '-v=1',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    kcm.stderr!.on('data', (d) => {
      log = (log + d).slice(-40_000);
    });
    kcm.once('exit', (code) => {
      if (!stopping) process.stderr.write(`kube-controller-manager exited ${code}:\n${log.slice(-4000)}\n`);
    });
  }
  const sim = new SimNodes(client, { nodes: NODES, bind: false, behavior: fate, exitCode });
  await sim.start();
  return {
    name,
    srv,
    client,
    sim,
    kcmLog: () => log,
    async kubectl(args, input) {
      const r = await srv.kubectl(args, {
        input: input === undefined ? undefined : JSON.stringify(input),
        timeoutMs: 120_000,
      });
      if (r.code !== 0) throw new Error(`${name}: kubectl ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    },
    async get(path) {
      try {
        return await client.request('GET', path);
      } catch (e) {
        if ((e as { code?: string }).code === 'NotFound') return undefined;
        throw e;
      }
    },
    async stop() {
      stopping = true;
      sim.stop();
      client.close();
      if (kcm && kcm.exitCode === null) {
        kcm.kill('SIGTERM');
        await Promise.race([new Promise((r) => kcm!.once('exit', r)), sleep(5000)]);
        if (kcm.exitCode === null) kcm.kill('SIGKILL');
      }
      await srv.stop();
    },
  };
}

/** Polls until `ok` holds (returns its value) or throws after `ms`. */
export async function waitFor<T>(what: string, ms: number, ok: () => Promise<T | undefined | false>): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await ok();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
    await sleep(250);
  }
}

/** The namespaced kinds a snapshot reads. */
export const KINDS: [string, string][] = [
  ['Deployment', '/apis/apps/v1/namespaces/NS/deployments'],
  ['ReplicaSet', '/apis/apps/v1/namespaces/NS/replicasets'],
  ['StatefulSet', '/apis/apps/v1/namespaces/NS/statefulsets'],
  ['DaemonSet', '/apis/apps/v1/namespaces/NS/daemonsets'],
  ['ControllerRevision', '/apis/apps/v1/namespaces/NS/controllerrevisions'],
  ['Job', '/apis/batch/v1/namespaces/NS/jobs'],
  ['CronJob', '/apis/batch/v1/namespaces/NS/cronjobs'],
  ['Pod', '/api/v1/namespaces/NS/pods'],
  ['Service', '/api/v1/namespaces/NS/services'],
  ['Endpoints', '/api/v1/namespaces/NS/endpoints'],
  ['EndpointSlice', '/apis/discovery.k8s.io/v1/namespaces/NS/endpointslices'],
  ['ServiceAccount', '/api/v1/namespaces/NS/serviceaccounts'],
  ['ConfigMap', '/api/v1/namespaces/NS/configmaps'],
  ['PersistentVolumeClaim', '/api/v1/namespaces/NS/persistentvolumeclaims'],
  ['PodDisruptionBudget', '/apis/policy/v1/namespaces/NS/poddisruptionbudgets'],
  ['ResourceQuota', '/api/v1/namespaces/NS/resourcequotas'],
];

export interface Snapshot {
  objects: Record<string, Obj>;
  events: Record<string, string[]>;
  /** token → the raw hash it stands for (see templateHashes). */
  hashes: Record<string, string>;
}

const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
const TIME_KEYS = new Set(['timeAdded', 'startedAt', 'finishedAt']);
const IP = /\b10\.244\.\d+\.\d+\b/g;
const UID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g;
// A random suffix of upstream's alphabet (rand.String: generateName, kube-api-access-xxxxx), and
// a template hash left in a message after its object is gone.
const SUFFIX = /-[bcdfghjklmnpqrstvwxz2456789]{5}\b/g;
const HASH = /-[bcdfghjklmnpqrstvwxz2456789]{8,10}\b/g;
const PEM = /-----BEGIN CERTIFICATE-----[^]*?-----END CERTIFICATE-----\n?/g;

/** Renames random names: a generated name becomes its generateName plus `*`, a CronJob's Job
 *  `<cronjob>-<minutes>` keeps its form with `<minute>` (checked against lastScheduleTime apart). */
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function renames(items: Obj[]): [string, string][] {
  const out: [string, string][] = [];
  for (const o of items) {
    const m = o.metadata ?? {};
    // Only a name the API server generated (a StatefulSet's pod `web-0` keeps generateName `web-`).
    if (m.generateName && typeof m.name === 'string' && new RegExp(`^${esc(m.generateName)}[a-z0-9]{5}$`).test(m.name))
      out.push([m.name, `${m.generateName}*`]);
    // A CronJob's Job is `<cronjob>-<scheduled time in minutes since the epoch>`, as upstream
    // names it: renamed only when that holds, so a wrong name still shows as a difference.
    const cron = (m.ownerReferences ?? []).find((r: Obj) => r.kind === 'CronJob');
    const at = Date.parse(m.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'] ?? '');
    if (o.kind === 'Job' && cron && m.name === `${cron.name}-${Math.floor(at / 60_000)}`)
      out.push([m.name, `${cron.name}-<minute>`]);
  }
  // Longest first, so a Job's pod (`<job>-<minute>-xxxxx`) is renamed before its Job.
  return out.sort((a, b) => b[0].length - a[0].length);
}

function scrub(v: unknown, key: string, names: [string, string][], hashes: Map<string, string>): unknown {
  if (typeof v === 'string') {
    if (TIME.test(v) || TIME_KEYS.has(key) || /Time$|Timestamp$|restartedAt$/.test(key)) return '<time>';
    let s = v;
    for (const [from, to] of names) s = s.split(from).join(to);
    for (const [from, to] of hashes) s = s.split(from).join(to);
    s = s.replace(IP, '<ip>').replace(UID, '<uid>').replace(PEM, '<certificate>').replace(SUFFIX, '-*');
    return key === 'message' ? s.replace(HASH, '-<hash>') : s;
  }
  if (Array.isArray(v)) {
    const xs = v.map((x) => scrub(x, key, names, hashes));
    // Lists of equal-looking items (random names normalised) are compared as sets.
    return key === 'conditions' || key === 'containers' || key === 'ports' ? xs : sortIfObjects(xs);
  }
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'uid' || k === 'resourceVersion' || k === 'managedFields' || k === 'selfLink') continue;
      if (TIME_KEYS.has(k) || /Time$|Timestamp$/.test(k)) {
        out[k] = x === undefined || x === null ? x : '<time>';
        continue;
      }
      // The API server allocates service addresses at random: not the controllers' doing.
      if (k === 'clusterIP' || k === 'clusterIPs') {
        out[k] = JSON.parse(JSON.stringify(x).replace(/\d+\.\d+\.\d+\.\d+/g, '<clusterIP>'));
        continue;
      }
      out[k] = scrub(x, k, names, hashes);
    }
    return out;
  }
  return v;
}

/** JSON with sorted keys: Go and Skiff order an object's keys differently. */
const canon = (v: unknown): string =>
  Array.isArray(v)
    ? `[${v.map(canon).join(',')}]`
    : v && typeof v === 'object'
      ? `{${Object.keys(v)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canon((v as Obj)[k])}`)
          .join(',')}}`
      : JSON.stringify(v);
const sortIfObjects = (xs: unknown[]) =>
  xs.every((x) => x && typeof x === 'object') ? [...xs].sort((a, b) => (canon(a) < canon(b) ? -1 : 1)) : xs;

/** Hashes made by upstream's ComputeHash (FNV-1a over go-spew's dump of the Go struct: a
 *  Deployment's pod-template-hash, a DaemonSet's controller-revision-hash) are renamed to a token
 *  that says which template they stand for, so the rest still compares; the raw values are kept in
 *  the snapshot's `hashes` and compared apart (a listed, accepted difference). */
function templateHashes(items: Obj[]): Map<string, string> {
  const m = new Map<string, string>();
  const images = (t: Obj) => (t?.spec?.containers ?? []).map((c: Obj) => c.image).join(',');
  for (const r of items) {
    if (r.kind === 'ReplicaSet' && r.metadata.labels?.['pod-template-hash']) {
      const restarted = r.spec?.template?.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']
        ? '+restart'
        : '';
      m.set(r.metadata.labels['pod-template-hash'], `<pth ${images(r.spec?.template)}${restarted}>`);
    }
    const owner = (r.metadata.ownerReferences ?? [])[0]?.kind;
    if (r.kind === 'ControllerRevision' && owner === 'DaemonSet' && r.metadata.labels?.['controller-revision-hash'])
      m.set(r.metadata.labels['controller-revision-hash'], `<ds-crh ${images(r.data?.spec?.template)}>`);
  }
  return m;
}

export async function snapshot(
  side: Side,
  ns: string,
  extra: [string, string][] = [],
  eventsFrom: string[] = [],
): Promise<Snapshot> {
  const items: Obj[] = [];
  for (const [kind, path] of [...KINDS, ...extra]) {
    const list = await side.get(path.replace('NS', ns));
    for (const o of list?.items ?? []) items.push({ kind, ...o });
  }
  // The root CA publisher's ConfigMap holds this side's own cluster CA: checked here, then named.
  const ca = readFileSync(join(side.srv.dir, 'pki', 'ca.crt'), 'utf8');
  for (const o of items)
    if (o.kind === 'ConfigMap' && o.metadata.name === 'kube-root-ca.crt' && o.data?.['ca.crt'] === ca)
      o.data['ca.crt'] = '<the cluster CA>';
  const evs: Obj[] = [];
  evs.push(...((await side.get(`/api/v1/namespaces/${ns}/events`))?.items ?? []));
  // Other namespaces only for events about cluster-scoped objects (a Node's are in `default`).
  for (const n of eventsFrom)
    for (const e of (await side.get(`/api/v1/namespaces/${n}/events`))?.items ?? [])
      if (e.involvedObject?.kind === 'Node') evs.push(e);
  const names = renames(items);
  const hashes = templateHashes(items);
  const objects: Record<string, Obj> = {};
  const seen = new Map<string, number>();
  const norm = items.map((o) => scrub(o, '', names, hashes) as Obj);
  norm.sort((a, b) => (canon(a) < canon(b) ? -1 : 1));
  for (const o of norm) {
    const id = `${o.kind} ${o.metadata.name}`;
    const n = seen.get(id) ?? 0;
    seen.set(id, n + 1);
    objects[n ? `${id}#${n}` : id] = o;
  }
  const events: Record<string, string[]> = {};
  const sorted = [...evs].sort((a, b) =>
    String(a.firstTimestamp ?? a.eventTime).localeCompare(String(b.firstTimestamp ?? b.eventTime)),
  );
  for (const e of sorted) {
    const comp = e.source?.component ?? e.reportingComponent ?? '';
    // The scheduler and the simulated kubelets are the same on both sides.
    if (comp === 'default-scheduler') continue;
    const io = scrub(e.involvedObject, '', names, hashes) as Obj;
    // A template hash in the name of an object already gone (no token for it).
    const id = `${io.kind} ${String(io.name).replace(HASH, '-<hash>')}`;
    const line = `${e.type} ${e.reason}: ${scrub(e.message ?? '', 'message', names, hashes)}`;
    (events[id] ??= []).push(line);
  }
  // Same reason and message again (a second pod of the same generateName): one line per distinct.
  // The order is the reasons' order: lines of one reason in a row (a sync's concurrent creates)
  // are sorted among themselves, as their order is the API server's timing.
  for (const k of Object.keys(events)) {
    const runs: string[][] = [];
    for (const line of new Set(events[k])) {
      const reason = line.slice(0, line.indexOf(':'));
      const last = runs[runs.length - 1];
      if (last && last[0].slice(0, last[0].indexOf(':')) === reason) last.push(line);
      else runs.push([line]);
    }
    events[k] = runs.flatMap((r) => r.sort());
  }
  return { objects, events, hashes: Object.fromEntries([...hashes].map(([raw, token]) => [token, raw])) };
}

export interface Difference {
  path: string;
  skiff: unknown;
  kcm: unknown;
}

/** Leaf-by-leaf comparison; returns the differences and the number of leaves compared. */
export function compare(a: unknown, b: unknown, path = ''): { diffs: Difference[]; fields: number } {
  const diffs: Difference[] = [];
  let fields = 0;
  const walk = (x: unknown, y: unknown, p: string) => {
    const xo = x && typeof x === 'object';
    const yo = y && typeof y === 'object';
    if (xo && yo && Array.isArray(x) === Array.isArray(y)) {
      const keys = new Set([...Object.keys(x as object), ...Object.keys(y as object)]);
      for (const k of keys) walk((x as Obj)[k], (y as Obj)[k], `${p}/${k}`);
      return;
    }
    fields++;
    if (JSON.stringify(x) !== JSON.stringify(y)) diffs.push({ path: p, skiff: x, kcm: y });
  };
  walk(a, b, path);
  return { diffs, fields };
}

/** The one list of differences that are known and accepted, each with its reason. A path is
 *  `<scenario>/<Kind name>/<field path>` or `<scenario>/events/<Kind name>`. */
export const ACCEPTED: { path: RegExp; reason: string }[] = [
  {
    path: /\/hashes\/<(pth|ds-crh) /,
    reason:
      "pod-template-hash and a DaemonSet's revision hash are upstream's ComputeHash, FNV-1a over go-spew's dump of the Go structs (every field of PodTemplateSpec by Go type); not reproduced, Skiff hashes the JSON",
  },
  {
    path: /\/(Endpoints|EndpointSlice) [^/]+\/metadata\/annotations(\/endpoints\.kubernetes\.io\/last-change-trigger-time)?$/,
    reason:
      'last-change-trigger-time is dropped by a write that follows no new change (upstream and Skiff alike); which write comes last is timing',
  },
  {
    path: /^pdb-quota\/ResourceQuota q\/status\/used\/configmaps$/,
    reason:
      "when kube-root-ca.crt is made after the quota, kube-controller-manager counts 0: upstream charges creates in the quota admission plugin, which Skiff's API server lacks (its part, reported); Skiff's controller counts it (1)",
  },
  {
    path: /\/Pod [^/]+\/status\/containerStatuses\/\d+\/lastState$/,
    reason:
      'Go writes the empty lastState struct as {} when it rewrites a pod status (node lifecycle); Skiff writes no empty struct',
  },
  {
    // (A name may hold a template token with a slash: `web-<pth registry.k8s.io/pause:3.9>-*`.)
    path: /\/Pod .+\/spec\/nodeName$|\/(Endpoints|EndpointSlice) .+\/nodeName$/,
    reason: "the scheduler breaks ties among equal nodes; where a ReplicaSet's pod lands is not a controller's doing",
  },
];

export const accepted = (path: string) => ACCEPTED.find((a) => a.path.test(path));
