// etcd's own view of a bench phase, shared by bench/etcd.ts and bench/etcd-txn.ts: its gRPC call
// counts and latency histograms from /metrics (etcd started with `--metrics extensive`), and the
// CPU time of any process from /proc.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

export type Hist = Map<number, number>;
/** The cumulative buckets of one histogram (summed over the label sets whose line includes `filter`). */
export function histogram(text: string, name: string, filter = ''): Hist {
  const h: Hist = new Map();
  for (const l of text.split('\n')) {
    if (!l.startsWith(`${name}_bucket{`) || !l.includes(filter)) continue;
    const le = /le="([^"]+)"/.exec(l)?.[1];
    if (!le) continue;
    const b = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    h.set(b, (h.get(b) ?? 0) + Number(l.split(' ').pop()));
  }
  return h;
}
/** The upper bound (ms) of the bucket holding the p-th percentile of what was added from a to b. */
export function histPct(a: Hist, b: Hist, p: number): number {
  const bounds = [...b.keys()].sort((x, y) => x - y);
  const total = (b.get(Number.POSITIVE_INFINITY) ?? 0) - (a.get(Number.POSITIVE_INFINITY) ?? 0);
  if (!total) return Number.NaN;
  for (const le of bounds) if ((b.get(le) ?? 0) - (a.get(le) ?? 0) >= (p / 100) * total) return le * 1000;
  return Number.NaN;
}

/** A snapshot of etcd's counters: Range/Txn calls received, and Txn handling / WAL fsync / backend commit histograms. */
export interface EtcdSnapshot {
  range: number;
  txn: number;
  /** etcd's compact revision (a change within a phase: a compaction ran in it). */
  compacted: number;
  hists: [Hist, Hist, Hist];
}
export async function etcdSnapshot(url: string): Promise<EtcdSnapshot> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sum = (method: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith('grpc_server_started_total{') && l.includes(`grpc_method="${method}"`))
      .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  return {
    range: sum('Range'),
    txn: sum('Txn'),
    compacted: Number(/^etcd_debugging_mvcc_compact_revision (\S+)/m.exec(text)?.[1] ?? 0),
    hists: [
      histogram(text, 'grpc_server_handling_seconds', 'grpc_method="Txn"'),
      histogram(text, 'etcd_disk_wal_fsync_duration_seconds'),
      histogram(text, 'etcd_disk_backend_commit_duration_seconds'),
    ],
  };
}
/** etcd's p99s (ms, upper bucket bounds) between two snapshots. */
export function etcdP99(a: EtcdSnapshot, b: EtcdSnapshot): { txnP99: number; fsyncP99: number; commitP99: number } {
  return {
    txnP99: histPct(a.hists[0], b.hists[0], 99),
    fsyncP99: histPct(a.hists[1], b.hists[1], 99),
    commitP99: histPct(a.hists[2], b.hists[2], 99),
  };
}

/** A process's CPU time so far (ms), from /proc (utime + stime, in clock ticks of 10 ms). */
export function procCpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * A ConfigMap's JSON as Skiff's API server stores it for the bench's PUTs (uid, creationTimestamp,
 * managedFields of the bench's field manager): ~740 bytes, so etcd alone writes what Skiff writes.
 */
export function storedConfigMap(name: string, v: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace: 'default',
      uid: '9e4adb9b-9f37-48c2-b66d-fd0158ad61af',
      creationTimestamp: '2026-12-07T16:28:45Z',
      managedFields: [
        {
          manager: 'skiff-bench',
          operation: 'Update',
          apiVersion: 'v1',
          time: '2026-12-07T16:28:45Z',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:data': { 'f:v': {}, 'f:app.properties': {} } },
        },
      ],
    },
    data: { v, 'app.properties': 'log.level=info\n'.repeat(20) },
  });
}

/**
 * Counts a process's write/writev and read/recvmsg system calls until `stop()` (Linux perf's
 * syscall tracepoints: root and perf needed; undefined counts when perf cannot count).
 */
export function countSyscalls(pid: number): { stop(): Promise<{ writes: number; reads: number } | undefined> } {
  const events = ['write', 'writev', 'read', 'recvmsg'].map((e) => `syscalls:sys_enter_${e}`);
  const p = spawn('perf', ['stat', '-x,', '-e', events.join(','), '-p', String(pid)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => {
    p.once('exit', r);
    p.once('error', () => r(-1));
  });
  return {
    async stop() {
      p.kill('SIGINT');
      if ((await exited) === -1) return undefined;
      const n = (e: string) =>
        Number(
          err
            .split('\n')
            .find((l) => l.includes(`sys_enter_${e},`))
            ?.split(',')[0],
        );
      const writes = n('write') + n('writev');
      const reads = n('read') + n('recvmsg');
      return Number.isFinite(writes) && Number.isFinite(reads) ? { writes, reads } : undefined;
    },
  };
}
