// The JSONPath subset CRD additionalPrinterColumns and scale paths use: `.a.b`, `.a[0]`,
// `.a[?(@.type=="Ready")].status`. Hand-written: a full JSONPath library would be heavier than
// these few cases and would not match Kubernetes' dialect anyway.
type Step = { key: string } | { index: number } | { filter: { path: string[]; value: string } };

export function parsePath(expr: string): Step[] {
  const steps: Step[] = [];
  let s = expr
    .trim()
    .replace(/^\{|\}$/g, '')
    .replace(/^\$/, '');
  while (s.length) {
    let m: RegExpMatchArray | null;
    if ((m = s.match(/^\.([^.[]+)/))) {
      steps.push({ key: m[1] });
    } else if ((m = s.match(/^\[(\d+)\]/))) {
      steps.push({ index: Number(m[1]) });
    } else if ((m = s.match(/^\[\?\(@\.([\w.]+)\s*==\s*["']([^"']*)["']\)\]/))) {
      steps.push({ filter: { path: m[1].split('.'), value: m[2] } });
    } else if ((m = s.match(/^\['([^']+)'\]/))) {
      steps.push({ key: m[1] });
    } else return [];
    s = s.slice(m[0].length);
  }
  return steps;
}

export function getPath(obj: unknown, expr: string): unknown {
  let cur: unknown = obj;
  for (const st of parsePath(expr)) {
    if (cur === undefined || cur === null) return undefined;
    if ('key' in st) cur = (cur as Record<string, unknown>)[st.key];
    else if ('index' in st) cur = Array.isArray(cur) ? cur[st.index] : undefined;
    else {
      if (!Array.isArray(cur)) return undefined;
      cur = cur.find(
        (e) =>
          String(st.filter.path.reduce<unknown>((a, k) => (a as Record<string, unknown> | undefined)?.[k], e)) ===
          st.filter.value,
      );
    }
  }
  return cur;
}

/** Sets a simple dotted path (`.spec.replicas`), creating objects on the way. */
export function setPath(obj: Record<string, unknown>, expr: string, value: unknown): void {
  const keys = parsePath(expr).map((s) => ('key' in s ? s.key : undefined));
  if (keys.length === 0 || keys.some((k) => k === undefined)) return;
  let cur = obj;
  for (const k of keys.slice(0, -1)) {
    if (typeof cur[k!] !== 'object' || cur[k!] === null) cur[k!] = {};
    cur = cur[k!] as Record<string, unknown>;
  }
  cur[keys[keys.length - 1]!] = value;
}
