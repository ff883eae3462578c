// Standard 5-field cron schedules as CronJobs accept them (minute hour day-of-month month
// day-of-week; `*`, `?`, lists, ranges, steps, month and weekday names, `@hourly`-style
// descriptors and `@every <duration>`), with error messages worded like the parser upstream uses.
// Hand-written: the npm cron parsers differ from upstream in what they accept (seconds fields,
// `L`/`W`/`#` extensions), and acceptance must match kubectl users' expectations.

export interface CronSchedule {
  minute: Set<number>;
  hour: Set<number>;
  dom: Set<number>;
  month: Set<number>;
  dow: Set<number>;
  /** True when day-of-month or day-of-week was `*`/`?` (then only the other one restricts days). */
  domStar: boolean;
  dowStar: boolean;
  /** For `@every`: fixed interval in milliseconds. */
  everyMs?: number;
}

interface Bounds {
  min: number;
  max: number;
  names?: Record<string, number>;
}
const MONTHS: Record<string, number> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};
const DOWS: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };
const FIELDS: Bounds[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTHS },
  { min: 0, max: 6, names: DOWS },
];

const DESCRIPTORS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

export class CronError extends Error {}

function parseInt10(s: string, ctx: string): number {
  if (!/^\d+$/.test(s))
    throw new CronError(`failed to parse int from ${s}: strconv.Atoi: parsing "${s}": invalid syntax`);
  void ctx;
  return Number(s);
}

function value(s: string, b: Bounds, expr: string): number {
  const named = b.names?.[s.toLowerCase()];
  return named !== undefined ? named : parseInt10(s, expr);
}

function parseRange(expr: string, b: Bounds, out: Set<number>): boolean {
  const [rangePart, stepPart, ...extra] = expr.split('/');
  if (extra.length) throw new CronError(`too many slashes: ${expr}`);
  let start: number,
    end: number,
    star = false;
  const lowHigh = rangePart.split('-');
  if (lowHigh.length > 2) throw new CronError(`too many hyphens: ${expr}`);
  if (rangePart === '*' || rangePart === '?') {
    start = b.min;
    end = b.max;
    star = true;
  } else {
    start = value(lowHigh[0], b, expr);
    end = lowHigh.length === 2 ? value(lowHigh[1], b, expr) : start;
  }
  let step = 1;
  if (stepPart !== undefined) {
    step = parseInt10(stepPart, expr);
    // "N/step" means N through the maximum.
    if (!star && lowHigh.length === 1) end = b.max;
    if (step > 1) star = false;
  }
  if (start < b.min) throw new CronError(`beginning of range (${start}) below minimum (${b.min}): ${expr}`);
  if (end > b.max) throw new CronError(`end of range (${end}) above maximum (${b.max}): ${expr}`);
  if (start > end) throw new CronError(`beginning of range (${start}) beyond end of range (${end}): ${expr}`);
  if (step === 0) throw new CronError(`step of range should be a positive number: ${expr}`);
  for (let v = start; v <= end; v += step) out.add(v);
  return star;
}

function parseField(field: string, b: Bounds): { set: Set<number>; star: boolean } {
  const set = new Set<number>();
  let star = false;
  for (const part of field.split(',')) star = parseRange(part, b, set) || star;
  return { set, star };
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

/** Parses a Go duration (`1h30m`, `90s`) into milliseconds. */
export function parseGoDuration(s: string): number {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  let total = 0,
    consumed = 0;
  for (const m of s.matchAll(re)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]];
    consumed += m[0].length;
  }
  if (!s || consumed !== s.length) throw new CronError(`time: invalid duration "${s}"`);
  return total;
}

/** Parses a schedule; throws CronError with upstream's wording. */
export function parseCron(spec: string): CronSchedule {
  let s = spec.trim();
  if (s.startsWith('TZ=') || s.startsWith('CRON_TZ=')) {
    const i = s.indexOf(' ');
    if (i < 0) throw new CronError(`provided bad location ${s.slice(s.indexOf('=') + 1)}: unknown time zone`);
    s = s.slice(i + 1).trim();
  }
  if (s.startsWith('@')) {
    if (s.startsWith('@every ')) {
      const ms = parseGoDuration(s.slice(7).trim());
      if (ms < 1000) throw new CronError(`failed to parse duration ${s}: must be at least 1s`);
      const all = parseCron('* * * * *');
      return { ...all, everyMs: ms };
    }
    const d = DESCRIPTORS[s];
    if (!d) throw new CronError(`unrecognized descriptor: ${s}`);
    s = d;
  }
  const fields = s.split(/\s+/).filter(Boolean);
  if (fields.length !== 5)
    throw new CronError(`expected exactly 5 fields, found ${fields.length}: [${fields.join(' ')}]`);
  const [mi, h, dom, mo, dow] = fields.map((f, i) => parseField(f, FIELDS[i]));
  // Day-of-week 7 is accepted by some crons as Sunday; upstream's parser rejects it (max 6).
  return {
    minute: mi.set,
    hour: h.set,
    dom: dom.set,
    month: mo.set,
    dow: dow.set,
    domStar: dom.star,
    dowStar: dow.star,
  };
}

/** Validates a schedule; returns the error text or undefined. */
export function cronError(spec: string): string | undefined {
  try {
    parseCron(spec);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Wall-clock parts of an instant in a time zone. */
function partsIn(
  t: number,
  tz: string | undefined,
): { y: number; mo: number; d: number; h: number; mi: number; dow: number } {
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone: tz ?? 'UTC',
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    weekday: 'short',
  });
  const p = Object.fromEntries(f.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
  return {
    y: +p.year,
    mo: +p.month,
    d: +p.day,
    h: +p.hour,
    mi: +p.minute,
    dow: DOWS[String(p.weekday).toLowerCase().slice(0, 3)],
  };
}

function dayMatches(s: CronSchedule, p: { d: number; dow: number }): boolean {
  const domOk = s.dom.has(p.d),
    dowOk = s.dow.has(p.dow);
  // Standard cron: if either day field is restricted (not *), a match on either suffices.
  if (s.domStar || s.dowStar) return domOk && dowOk;
  return domOk || dowOk;
}

/** The first activation strictly after `after` (to the minute), evaluated in `timeZone` (UTC by
 *  default). Searches up to 5 years ahead; returns undefined if none. */
export function nextCronTime(s: CronSchedule, after: Date, timeZone?: string): Date | undefined {
  if (s.everyMs) return new Date(after.getTime() + s.everyMs - (after.getTime() % 1000));
  let t = Math.floor(after.getTime() / 60000) * 60000 + 60000;
  const limit = t + 5 * 366 * 24 * 3600 * 1000;
  while (t < limit) {
    const p = partsIn(t, timeZone);
    if (!s.month.has(p.mo) || !dayMatches(s, p)) {
      t += (24 * 60 - (p.h * 60 + p.mi)) * 60000;
      continue;
    }
    if (!s.hour.has(p.h)) {
      t += (60 - p.mi) * 60000;
      continue;
    }
    if (s.minute.has(p.mi)) return new Date(t);
    t += 60000;
  }
  return undefined;
}

/** Whether a time zone name is known to the runtime's IANA database. */
export function isKnownTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
