// Pod sandboxes: a skiff-pause process holding the pod's net, ipc and uts namespaces (and pid with
// namespace_options.pid = POD), a pod-level cgroup, the pod network's address and hostPorts, the
// pod's /etc/{hostname,hosts,resolv.conf} and /dev/shm. RunPodSandbox is all or nothing.
import { existsSync, writeFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import {
  alreadyExists,
  createLogger,
  invalidArgument,
  newId,
  notFound,
  traced,
  traceMark,
  traceNow,
} from '../../common/index.js';
import { hostsFile, resolvConf } from '../../network/index.js';
import { createCgroupManager, isAlive } from '../../runtime/index.js';
import type { PodNetwork } from './pod-network.js';
import { mountShm, startPause, stopPause, unmountShm } from './pause.js';
import type { RecordStore, SandboxRecord } from './records.js';
import { nsMode, nowNs, type PodSandboxConfigInput } from './types.js';
import { resourcesToOci } from './resources.js';
import { podUserns } from './userns.js';

const log = createLogger({ component: 'engine.cri.sandbox' });

export interface SandboxDeps {
  store: RecordStore;
  network: PodNetwork;
  /** Parent of the default pod cgroups (kubelet's /kubepods). */
  cgroupRoot: string;
  /** The last step of RunPodSandbox (NRI's RunPodSandbox hook): calls `commit` to make the ready
   *  sandbox visible, or throws to fail the run (the sandbox is then torn down). */
  admit?(r: SandboxRecord, commit: () => void): Promise<void>;
}

/** Keys reserved by live sandboxes: name_namespace_uid_attempt, as containerd reserves them. */
function nameKey(c: PodSandboxConfigInput): string {
  const m = c.metadata!;
  return `${m.name}_${m.namespace}_${m.uid}_${m.attempt ?? 0}`;
}

export class Sandboxes {
  readonly byId = new Map<string, SandboxRecord>();
  /** Sandboxes being run: not listed or found until their RunPodSandbox completes. */
  private readonly pending = new Map<string, SandboxRecord>();
  private readonly names = new Map<string, string>();
  constructor(private readonly d: SandboxDeps) {}

  adopt(r: SandboxRecord): void {
    this.byId.set(r.id, r);
    if (r.config.metadata) this.names.set(nameKey(r.config), r.id);
  }

  /** Every sandbox, the ones being run included (for what they share: the pod cgroup). */
  private all(): SandboxRecord[] {
    return [...this.byId.values(), ...this.pending.values()];
  }

  get(id: string): SandboxRecord {
    const r = this.find(id);
    if (!r) throw notFound(`pod sandbox "${id}" not found`, { field: 'pod_sandbox_id' });
    return r;
  }

  /** By full id or a unique prefix (crictl passes prefixes through). */
  find(id: string): SandboxRecord | undefined {
    if (!id) return undefined;
    const hit = this.byId.get(id);
    if (hit) return hit;
    const m = [...this.byId.values()].filter((r) => r.id.startsWith(id));
    return m.length === 1 ? m[0] : undefined;
  }

  dir(id: string): string {
    return this.d.store.sandboxDir(id);
  }
  shmDir(id: string): string {
    return join(this.dir(id), 'shm');
  }
  etc(id: string): { hostname: string; hosts: string; resolvConf: string } {
    const d = this.dir(id);
    return { hostname: join(d, 'hostname'), hosts: join(d, 'hosts'), resolvConf: join(d, 'resolv.conf') };
  }

  /** Live check: the record says READY and the pause process still runs. */
  ready(r: SandboxRecord): boolean {
    return r.state === 'SANDBOX_READY' && isAlive(r.pid, r.pidStartTime);
  }

  async run(config: PodSandboxConfigInput, runtimeHandler = ''): Promise<string> {
    const m = config.metadata;
    if (!m?.name || !m.namespace || !m.uid)
      throw invalidArgument('metadata: name, namespace and uid are required', { field: 'config.metadata' });
    const key = nameKey(config);
    const taken = this.names.get(key);
    if (taken && (this.byId.has(taken) || this.pending.has(taken)))
      throw alreadyExists(`pod sandbox name "${key}" is reserved for "${taken}"`, { field: 'config.metadata' });
    const sc = config.linux?.securityContext;
    const ns = sc?.namespaceOptions;
    const hostNetwork = nsMode(ns?.network) === 'NODE';
    const hostIpc = nsMode(ns?.ipc) === 'NODE';
    const pm = nsMode(ns?.pid);
    const pidMode: SandboxRecord['pidMode'] = pm === 'NODE' ? 'NODE' : pm === 'POD' ? 'POD' : 'CONTAINER';
    const userns = podUserns(ns?.usernsOptions ?? undefined);
    if (userns && (hostNetwork || hostIpc || pidMode === 'NODE'))
      throw invalidArgument(
        'user namespace: a pod with its own user namespace cannot use the host network, ipc or pid namespace',
        {
          field: 'linux.security_context.namespace_options',
        },
      );
    const sysctls = config.linux?.sysctls ?? {};
    for (const k of Object.keys(sysctls)) {
      const name = k.replace(/\//g, '.');
      if (hostNetwork && name.startsWith('net.'))
        throw invalidArgument(`linux.sysctls: ${k} is not allowed in the host network namespace`, {
          field: 'linux.sysctls',
        });
      if (hostIpc && (/^kernel\.(shm|msg|sem)/.test(name) || name.startsWith('fs.mqueue.')))
        throw invalidArgument(`linux.sysctls: ${k} is not allowed in the host ipc namespace`, {
          field: 'linux.sysctls',
        });
    }
    const id = newId();
    const parent = normalizeCgroup(config.linux?.cgroupParent || `${this.d.cgroupRoot}/besteffort/pod${m.uid}`);
    const rec: SandboxRecord = {
      id,
      config,
      runtimeHandler,
      createdAt: nowNs(),
      state: 'SANDBOX_NOTREADY',
      pid: 0,
      podCgroup: parent,
      podCgroupOwned: true,
      cgroup: `${parent}/${id}`,
      hostNetwork,
      hostIpc,
      pidMode,
      ...(userns ? { userns } : {}),
    };
    this.names.set(key, id);
    this.pending.set(id, rec);
    // kubelet always names one; without, the node's name (as containerd), cut to the kernel's 64.
    const hostname = (config.hostname || osHostname()).slice(0, 64);
    const tk = m.uid;
    try {
      let t0 = traceNow();
      this.d.store.saveSandbox(rec);
      traceMark(tk, 'sandbox.save', t0);
      t0 = traceNow();
      const pod = createCgroupManager(parent);
      rec.podCgroupOwned =
        !Object.values(pod.dirs()).some((dir) => existsSync(dir)) ||
        this.all().some((o) => o.id !== id && o.podCgroup === parent && o.podCgroupOwned);
      await pod.create();
      const res = resourcesToOci(config.linux?.resources ?? undefined);
      if (res) await pod.set(res);
      const cg = createCgroupManager(rec.cgroup);
      await cg.create();
      traceMark(tk, 'sandbox.cgroups', t0);
      const p = await traced(tk, 'sandbox.pause', () =>
        startPause({
          net: !hostNetwork,
          ipc: !hostIpc,
          uts: !hostNetwork,
          pid: pidMode === 'POD',
          hostname: hostNetwork ? undefined : hostname,
          sysctls,
          cgroupProcs: Object.values(cg.dirs()).map((dir) => join(dir, 'cgroup.procs')),
          userns,
        }),
      );
      rec.pid = p.pid;
      rec.pidStartTime = p.startTime;
      this.d.store.saveSandbox(rec);
      // The network and /dev/shm are independent: both at once (each waits on spawned commands);
      // both settle before a failure is thrown, so the rollback finds whatever either made.
      const [net, shm] = await Promise.allSettled([
        hostNetwork
          ? undefined
          : traced(tk, 'sandbox.network', () =>
              this.d.network.attach(id, `/proc/${p.pid}/ns/net`, config.portMappings ?? [], tk),
            ),
        hostIpc ? undefined : traced(tk, 'sandbox.shm', () => mountShm(this.shmDir(id))),
      ]);
      if (net.status === 'rejected') throw net.reason;
      if (shm.status === 'rejected') throw shm.reason;
      if (net.value) {
        rec.ip = net.value.ip;
        rec.network = net.value.network;
      }
      t0 = traceNow();
      const etc = this.etc(id);
      writeFileSync(etc.hostname, `${hostname}\n`);
      writeFileSync(etc.hosts, hostsFile({ hostname, ip: rec.ip }));
      const dns = config.dnsConfig;
      writeFileSync(
        etc.resolvConf,
        dns && (dns.servers?.length || dns.searches?.length || dns.options?.length)
          ? resolvConf({ dns: dns.servers ?? [], search: dns.searches ?? [], options: dns.options ?? [] })
          : resolvConf({}),
      );
      traceMark(tk, 'sandbox.etc', t0);
      rec.state = 'SANDBOX_READY';
      this.d.store.saveSandbox(rec);
      const commit = () => {
        this.pending.delete(id);
        this.byId.set(id, rec);
      };
      if (this.d.admit) await this.d.admit(rec, commit);
      else commit();
      return id;
    } catch (e) {
      await this.teardown(rec).catch((err) => log.warn('rollback failed', { id, error: (err as Error).message }));
      this.pending.delete(id);
      this.byId.delete(id);
      this.names.delete(key);
      this.d.store.removeSandbox(id);
      throw e;
    }
  }

  /** Stops the pause process and releases the address and hostPorts; the record stays (NOTREADY). */
  async stop(r: SandboxRecord): Promise<void> {
    await this.teardown(r, false);
    r.state = 'SANDBOX_NOTREADY';
    r.pid = 0;
    this.d.store.saveSandbox(r);
  }

  private async teardown(r: SandboxRecord, cgroups = true): Promise<void> {
    if (r.pid) await stopPause(r.pid, r.pidStartTime);
    await this.d.network.detach(r.id);
    r.ip = undefined;
    await unmountShm(this.shmDir(r.id));
    if (cgroups) await this.removeCgroups(r);
  }

  private async removeCgroups(r: SandboxRecord): Promise<void> {
    await createCgroupManager(r.cgroup)
      .destroy()
      // the cgroup may be gone already (removed with its last process) or never made
      .catch(() => undefined);
    const shared = this.all().some((o) => o.id !== r.id && o.podCgroup === r.podCgroup);
    if (r.podCgroupOwned && !shared)
      await createCgroupManager(r.podCgroup)
        .destroy()
        // the pod cgroup may be gone already or still hold another container (removed later)
        .catch(() => undefined);
  }

  /** Everything of a stopped sandbox goes: cgroups, state directory, the name. */
  async remove(r: SandboxRecord): Promise<void> {
    if (r.state === 'SANDBOX_READY' || r.pid) await this.stop(r);
    await unmountShm(this.shmDir(r.id));
    await this.removeCgroups(r);
    this.byId.delete(r.id);
    if (r.config.metadata && this.names.get(nameKey(r.config)) === r.id) this.names.delete(nameKey(r.config));
    this.d.store.removeSandbox(r.id);
  }
}

/** cgroupfs paths: absolute, no `..`; systemd slices (with ':' or '.slice') are refused. */
export function normalizeCgroup(p: string): string {
  if (p.includes(':') || p.endsWith('.slice'))
    throw invalidArgument(`cgroup_parent ${p}: the systemd cgroup driver is not supported (use cgroupfs paths)`, {
      field: 'linux.cgroup_parent',
    });
  const parts = p.split('/').filter(Boolean);
  if (parts.includes('..') || !parts.length)
    throw invalidArgument(`cgroup_parent ${JSON.stringify(p)} is not a valid cgroupfs path`, {
      field: 'linux.cgroup_parent',
    });
  return `/${parts.join('/')}`;
}
