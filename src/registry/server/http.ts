// Small HTTP helpers shared by the route files.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { regError, toWireError } from './errors.js';

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** scheme://host of this request, for absolute Location headers. */
  base: string;
}

export function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | number> = {},
  body?: string | Buffer,
): void {
  const h: Record<string, string | number> = { 'Docker-Distribution-API-Version': 'registry/2.0', ...headers };
  if (body !== undefined && h['Content-Length'] === undefined) h['Content-Length'] = Buffer.byteLength(body);
  if (body === undefined && h['Content-Length'] === undefined) h['Content-Length'] = 0;
  res.writeHead(status, h);
  res.end(body);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string | number> = {},
): void {
  send(res, status, { 'Content-Type': 'application/json', ...headers }, JSON.stringify(value));
}

export function sendError(ctx: Ctx, e: unknown): void {
  const { res, req } = ctx;
  const w = toWireError(e);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const extra = (e as { headers?: Record<string, string> } | undefined)?.headers ?? {};
  // A request body we did not read would stall keep-alive: close the connection instead.
  if (!req.complete) extra.Connection = 'close';
  const body = req.method === 'HEAD' ? undefined : JSON.stringify(w.body);
  send(
    res,
    w.status,
    { 'Content-Type': 'application/json', ...extra, ...(body === undefined ? { 'Content-Length': 0 } : {}) },
    body,
  );
}

/** Reads a whole body up to `limit` bytes (manifests, token forms). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit)
    throw regError('SIZE_INVALID', `body of ${declared} bytes exceeds the limit of ${limit}`, { limit });
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit) throw regError('SIZE_INVALID', `body exceeds the limit of ${limit} bytes`, { limit });
    parts.push(c);
  }
  return Buffer.concat(parts);
}

/** Drains an unread body so that a keep-alive connection stays usable. */
export function drain(req: IncomingMessage): void {
  if (!req.complete) req.resume();
}

/** `n` and `last` pagination parameters. */
export function page(url: URL): { n?: number; last?: string } {
  const raw = url.searchParams.get('n');
  let n: number | undefined;
  if (raw !== null && raw !== '') {
    n = Number(raw);
    if (!Number.isInteger(n) || n < 0)
      throw regError(
        'PAGINATION_NUMBER_INVALID',
        `n must be a non-negative integer, got ${JSON.stringify(raw)}`,
        { n: raw },
        'n',
      );
  }
  return { n, last: url.searchParams.get('last') ?? undefined };
}

export function paginate(all: string[], p: { n?: number; last?: string }): { items: string[]; next?: string } {
  const from = p.last ? all.findIndex((x) => x > p.last!) : 0;
  const rest = from < 0 ? [] : all.slice(from);
  if (p.n === undefined || rest.length <= p.n) return { items: rest };
  const items = rest.slice(0, p.n);
  return { items, next: items[items.length - 1] };
}
