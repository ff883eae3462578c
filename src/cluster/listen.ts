// `HOST:PORT` listen addresses of the CLI's flags (IPv6 hosts in brackets), on their own so that a
// command can parse its flags without loading the server.
import { invalidArgument } from '../common/index.js';

export function parseListen(s: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:]+):(\d{1,5})$/.exec(s);
  if (!m || Number(m[2]) > 65535)
    throw invalidArgument(`--https-listen: expected HOST:PORT, got ${JSON.stringify(s)}`, { field: 'https-listen' });
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}
