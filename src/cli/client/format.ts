// Output helpers shared by the verbs: Docker's tables (columns padded by three spaces), its
// relative times and sizes, and `--format` with a subset of Go templates (`{{.Field}}`,
// `{{json .}}`, `{{.A.B}}`, `table` prefix).

export function table(headers: string[], rows: string[][]): string {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i] + 3)))
      .join('')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** go-units HumanDuration. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s === 1) return '1 second';
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  if (h < 24 * 14) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 60) return `${Math.floor(h / 24 / 7)} weeks`;
  if (h < 24 * 365 * 2) return `${Math.floor(h / 24 / 30)} months`;
  return `${Math.floor(h / 24 / 365)} years`;
}

export function ago(unixSeconds: number): string {
  return `${humanDuration(Date.now() - unixSeconds * 1000)} ago`;
}

/** go-units HumanSizeWithPrecision(n, 3): decimal units. */
export function size(n: number): string {
  const u = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(3))}${u[i]}`;
}

export const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);

/** Renders a Go-template-like format for one object. */
export function render(format: string, obj: Record<string, unknown>): string {
  return format
    .replace(/\\t/g, '\t')
    .replace(/\\n/g, '\n')
    .replace(/\{\{\s*(json\s+)?\.([\w.]*)\s*\}\}/g, (_m, json: string | undefined, path: string) => {
      let v: unknown = obj;
      for (const k of path.split('.').filter(Boolean)) v = (v as Record<string, unknown> | undefined)?.[k];
      if (json) return JSON.stringify(v ?? null);
      if (v === undefined || v === null) return '<no value>';
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
    });
}

/** Prints rows with `--format` (a `table` prefix keeps headers) or as a default table. */
export function printRows(
  format: string | undefined,
  headers: string[],
  rows: Record<string, unknown>[],
  cells: (r: Record<string, unknown>) => string[],
): void {
  if (format === 'json') {
    for (const r of rows) process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  if (format && !format.startsWith('table')) {
    for (const r of rows) process.stdout.write(render(format, r) + '\n');
    return;
  }
  if (format) {
    const f = format.slice(5).trim();
    const hs = [...f.matchAll(/\{\{\s*\.(\w+)\s*\}\}/g)].map((m) =>
      m[1].replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase(),
    );
    const body = rows.map((r) => render(f, r).split('\t'));
    process.stdout.write(table(hs, body));
    return;
  }
  process.stdout.write(table(headers, rows.map(cells)));
}
