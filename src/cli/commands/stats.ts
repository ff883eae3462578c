// `skiff stats [--no-stream] [-a] [CONTAINER...]`: CPU % from the cpu/precpu deltas and memory as
// usage minus inactive_file, as the docker CLI computes them.
import { client, parse, runVerb, table, size, shortId, type Client } from '../client/index.js';
import { sleep } from '../../common/index.js';

interface S {
  name?: string;
  id?: string;
  cpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage?: number };
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
  blkio_stats?: { io_service_bytes_recursive?: { op: string; value: number }[] | null };
  pids_stats?: { current?: number };
}

function row(id: string, s: S): string[] {
  const cpuDelta = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
  const sysDelta = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats.system_cpu_usage ?? 0);
  const cpu = sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * (s.cpu_stats.online_cpus ?? 1) * 100 : 0;
  const st = s.memory_stats.stats ?? {};
  const mem = Math.max(0, (s.memory_stats.usage ?? 0) - (st.inactive_file ?? st.total_inactive_file ?? 0));
  const limit = s.memory_stats.limit ?? 0;
  const nets = Object.values(s.networks ?? {});
  const rx = nets.reduce((n, x) => n + x.rx_bytes, 0),
    tx = nets.reduce((n, x) => n + x.tx_bytes, 0);
  const io = s.blkio_stats?.io_service_bytes_recursive ?? [];
  const rd = io.filter((x) => /read/i.test(x.op)).reduce((n, x) => n + x.value, 0),
    wr = io.filter((x) => /write/i.test(x.op)).reduce((n, x) => n + x.value, 0);
  const bin = (n: number) => {
    const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < u.length - 1) {
      n /= 1024;
      i++;
    }
    return `${Number(n.toPrecision(3))}${u[i]}`;
  };
  return [
    shortId(id),
    (s.name ?? '').replace(/^\//, ''),
    `${cpu.toFixed(2)}%`,
    `${bin(mem)} / ${bin(limit)}`,
    `${limit ? ((mem / limit) * 100).toFixed(2) : '0.00'}%`,
    `${size(rx)} / ${size(tx)}`,
    `${size(rd)} / ${size(wr)}`,
    String(s.pids_stats?.current ?? 0),
  ];
}

async function snapshot(c: Client, ids: string[]): Promise<string> {
  const rows = await Promise.all(
    ids.map(async (id) => row(id, await c.json<S>('GET', `/containers/${id}/stats`, { query: { stream: false } }))),
  );
  return table(['CONTAINER ID', 'NAME', 'CPU %', 'MEM USAGE / LIMIT', 'MEM %', 'NET I/O', 'BLOCK I/O', 'PIDS'], rows);
}

export async function main(argv: string[]): Promise<number> {
  return runVerb(async () => {
    const { values: v, positionals } = parse(argv, {
      'no-stream': { type: 'boolean' },
      all: { type: 'boolean', short: 'a' },
      'no-trunc': { type: 'boolean' },
    });
    const c = client(v.host);
    const ids = async () =>
      positionals.length
        ? positionals
        : (await c.json<{ Id: string }[]>('GET', '/containers/json', { query: { all: !!v.all } })).map((x) => x.Id);
    if (v['no-stream']) {
      process.stdout.write(await snapshot(c, await ids()));
      return;
    }
    for (;;) {
      const text = await snapshot(c, await ids());
      process.stdout.write(process.stdout.isTTY ? `\x1b[2J\x1b[H${text}` : text);
      await sleep(1000);
    }
  });
}
