// Docker's JSON-message display: per-layer lines redrawn in place on a terminal (the bar comes from
// progressDetail, as the docker CLI renders it), plain status lines otherwise. An in-band error
// ends the display with an ApiError.
import type { Readable } from 'node:stream';
import { ApiError, eachJson } from './http.js';

function human(n: number): string {
  const u = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(4))}${u[i]}`;
}

export function bar(current: number, total?: number): string {
  if (!total || total <= 0) return current > 0 ? human(current) : '';
  const w = 50;
  const n = Math.min(w, Math.floor((current / total) * w));
  const b = n >= w ? '='.repeat(w - 1) + '>' : '='.repeat(n) + '>' + ' '.repeat(w - n - 1);
  return `[${b}] ${human(current).padStart(8)}/${human(total)}`;
}

export interface DisplayResult {
  aux: Record<string, unknown>[];
  statuses: string[];
}

export async function displayJsonMessages(
  s: Readable,
  out: NodeJS.WriteStream,
  o: { tty?: boolean; quiet?: boolean } = {},
): Promise<DisplayResult> {
  const tty = o.tty ?? !!out.isTTY;
  const lines = new Map<string, number>();
  let count = 0;
  const res: DisplayResult = { aux: [], statuses: [] };
  const last = new Map<string, string>();
  await eachJson(s, (m) => {
    if (m.errorDetail || m.error) {
      const msg = (m.errorDetail as { message?: string } | undefined)?.message ?? String(m.error);
      throw new ApiError(500, msg);
    }
    if (m.aux) {
      res.aux.push(m.aux as Record<string, unknown>);
      return;
    }
    if (typeof m.stream === 'string') {
      if (!o.quiet) out.write(m.stream);
      return;
    }
    const status = typeof m.status === 'string' ? m.status : '';
    const id = typeof m.id === 'string' ? m.id : undefined;
    const pd = m.progressDetail as { current?: number; total?: number } | undefined;
    if (!id) {
      res.statuses.push(status);
      if (!o.quiet) out.write(`${status}\n`);
      return;
    }
    if (o.quiet) return;
    const progress =
      pd?.current !== undefined ? bar(pd.current, pd.total) : typeof m.progress === 'string' ? m.progress : '';
    const text = `${id}: ${status}${progress ? ` ${progress}` : ''}`;
    if (!tty) {
      if (pd?.current !== undefined && status !== 'Extracting') return; // no byte counts in logs
      if (last.get(id) === status) return;
      last.set(id, status);
      out.write(`${text}\n`);
      return;
    }
    let idx = lines.get(id);
    if (idx === undefined) {
      idx = count++;
      lines.set(id, idx);
      out.write(`${text}\n`);
      return;
    }
    const up = count - idx;
    out.write(`\x1b[${up}A\r\x1b[2K${text}\r\x1b[${up}B`);
  });
  return res;
}
