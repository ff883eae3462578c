// Parsing `WWW-Authenticate` challenges (RFC 7235): `Bearer realm="…",service="…",scope="…"` or
// `Basic realm="…"`. Hand-written: the grammar is a dozen lines and no maintained tiny library fits.
export interface Challenge {
  scheme: 'bearer' | 'basic' | string;
  params: Record<string, string>;
}

export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const all = Array.isArray(header) ? header : header ? [header] : [];
  const out: Challenge[] = [];
  for (const h of all) {
    const re = /\s*([A-Za-z][\w-]*)\s+((?:[\w-]+\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?\s*)*)/g;
    for (const m of h.matchAll(re)) {
      const params: Record<string, string> = {};
      for (const p of m[2].matchAll(/([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
        params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
      }
      out.push({ scheme: m[1].toLowerCase(), params });
    }
  }
  return out;
}
