// The API server's /metrics in the Prometheus text format: upstream's request counter and latency
// histogram (apiserver_request_total, apiserver_request_duration_seconds with its buckets and
// labels) for resource requests, and the process metrics every Go component exposes (CPU seconds,
// resident memory, start time). Counted when the response finishes; a watch counts when it ends.
import type http from 'node:http';
import type { ResourceRequest } from './router.js';

const BUCKETS = [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60];
const VERBS: Record<string, string> = {
  get: 'GET',
  list: 'LIST',
  watch: 'WATCH',
  create: 'POST',
  update: 'PUT',
  patch: 'PATCH',
  delete: 'DELETE',
  deletecollection: 'DELETE',
};

interface Series {
  labels: string;
  count: number;
}
interface Latency {
  labels: string;
  buckets: number[];
  sum: number;
  count: number;
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export class ApiMetrics {
  private requests = new Map<string, Series>();
  private latency = new Map<string, Latency>();
  private readonly started = Date.now() / 1000 - process.uptime();

  /** Counts the request when its response has been sent. */
  track(req: http.IncomingMessage, res: http.ServerResponse, info: ResourceRequest, dryRun: string): void {
    const t0 = process.hrtime.bigint();
    res.once('finish', () =>
      this.observe(req, info, dryRun, res.statusCode, Number(process.hrtime.bigint() - t0) / 1e9),
    );
  }

  observe(req: http.IncomingMessage, info: ResourceRequest, dryRun: string, code: number, seconds: number): void {
    const apply = info.verb === 'patch' && (req.headers['content-type'] ?? '').startsWith('application/apply-patch');
    const verb = apply ? 'APPLY' : (VERBS[info.verb] ?? info.verb.toUpperCase());
    const scope = info.name !== undefined ? 'resource' : info.namespace !== undefined ? 'namespace' : 'cluster';
    const base = `component="apiserver",dry_run="${esc(dryRun)}",group="${esc(info.group)}",resource="${esc(info.resource)}",scope="${scope}",subresource="${esc(info.subresource ?? '')}",verb="${verb}",version="${esc(info.version)}"`;
    const withCode = `code="${code}",${base}`;
    const s = this.requests.get(withCode) ?? { labels: withCode, count: 0 };
    s.count++;
    this.requests.set(withCode, s);
    const l = this.latency.get(base) ?? { labels: base, buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]) l.buckets[i]++;
    l.sum += seconds;
    l.count++;
    this.latency.set(base, l);
  }

  render(): string {
    const out: string[] = [
      '# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.',
      '# TYPE apiserver_request_total counter',
    ];
    for (const s of this.requests.values()) out.push(`apiserver_request_total{${s.labels}} ${s.count}`);
    out.push(
      '# HELP apiserver_request_duration_seconds [STABLE] Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.',
      '# TYPE apiserver_request_duration_seconds histogram',
    );
    for (const l of this.latency.values()) {
      BUCKETS.forEach((b, i) =>
        out.push(`apiserver_request_duration_seconds_bucket{${l.labels},le="${b}"} ${l.buckets[i]}`),
      );
      out.push(`apiserver_request_duration_seconds_bucket{${l.labels},le="+Inf"} ${l.count}`);
      out.push(`apiserver_request_duration_seconds_sum{${l.labels}} ${l.sum}`);
      out.push(`apiserver_request_duration_seconds_count{${l.labels}} ${l.count}`);
    }
    const cpu = process.cpuUsage();
    out.push(
      '# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.',
      '# TYPE process_cpu_seconds_total counter',
      `process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`,
      '# HELP process_resident_memory_bytes Resident memory size in bytes.',
      '# TYPE process_resident_memory_bytes gauge',
      `process_resident_memory_bytes ${process.memoryUsage.rss()}`,
      '# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.',
      '# TYPE process_start_time_seconds gauge',
      `process_start_time_seconds ${this.started}`,
    );
    return `${out.join('\n')}\n`;
  }
}
