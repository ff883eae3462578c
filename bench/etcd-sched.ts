// Helper of `npm run bench -- etcd --dump=DIR`, run as its own process (so its reads do not stall
// the bench's loop): every 5 ms, each process under PARENT's tree — CPU time and time spent
// waiting for a CPU (run_delay from /proc/PID/task/TID/schedstat, summed over threads) — to see
// whether a latency episode is a process that was runnable but not running.
//   node bench/etcd-sched.ts PARENT OUT_FILE   (stops and writes OUT_FILE on SIGTERM)
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const [parent, out] = [Number(process.argv[2]), process.argv[3]];
const read = (p: string) => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
};
let pids: { pid: number; comm: string }[] = [];
function tree(): void {
  const kids = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = read(`/proc/${d}/stat`);
    const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
    if (!kids.has(ppid)) kids.set(ppid, []);
    kids.get(ppid)!.push(Number(d));
  }
  const all: number[] = [];
  const walk = (p: number) => {
    all.push(p);
    for (const k of kids.get(p) ?? []) walk(k);
  };
  walk(parent);
  pids = all.filter((p) => p !== process.pid).map((pid) => ({ pid, comm: read(`/proc/${pid}/comm`).trim() }));
}
const rows: (string | number)[][] = [];
tree();
setInterval(tree, 1000);
setInterval(() => {
  const t = Date.now();
  for (const { pid, comm } of pids) {
    let cpu = 0;
    let wait = 0;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      const f = read(`/proc/${pid}/task/${tid}/schedstat`).split(' ');
      cpu += Number(f[0]) || 0;
      wait += Number(f[1]) || 0;
    }
    rows.push([t, pid, comm, cpu / 1e6, wait / 1e6]);
  }
}, 5);
process.on('SIGTERM', () => {
  writeFileSync(out, JSON.stringify(rows));
  process.exit(0);
});
