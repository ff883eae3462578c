// Docker's JSON-message progress: `{"status","id","progressDetail":{current,total},"progress"}`.
// `progress` is the bar text the docker CLI prints when it cannot render progressDetail itself.

export type Emit = (msg: Record<string, unknown>) => void;

/** go-units' HumanSize: decimal units, 4 significant digits ("2.003MB", "512B"). */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

/** The bar moby renders: `[=====>      ]  1.2MB/3.4MB`. */
export function progressBar(current: number, total?: number): string {
  if (!total || total <= 0) return current > 0 ? humanSize(current) : '';
  const width = 50;
  const pct = Math.min(1, current / total);
  const bars = Math.floor(pct * width);
  const bar = bars >= width ? '='.repeat(width - 1) + '>' : '='.repeat(bars) + '>' + ' '.repeat(width - bars - 1);
  return `[${bar}] ${humanSize(current).padStart(8)}/${humanSize(total)}`;
}

/** A progress line for one layer (`id`), throttled for Downloading/Pushing/Extracting. */
export class LayerProgress {
  private last = new Map<string, number>();
  constructor(
    private readonly emit: Emit,
    private readonly minIntervalMs = 100,
  ) {}

  status(id: string, status: string): void {
    this.emit({ status, progressDetail: {}, id });
  }

  bytes(id: string, status: string, current: number, total?: number, force = false): void {
    const now = Date.now();
    const key = `${id}\0${status}`;
    const prev = this.last.get(key) ?? 0;
    if (!force && now - prev < this.minIntervalMs && current !== total) return;
    this.last.set(key, now);
    this.emit({
      status,
      progressDetail: total ? { current, total } : { current },
      progress: progressBar(current, total),
      id,
    });
  }
}
