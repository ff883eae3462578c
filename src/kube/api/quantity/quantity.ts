// resource.Quantity: parsing and canonical formatting with upstream's rules. Values are exact
// (BigInt mantissa × 10^exponent) so `1Gi`, `100m` and `1e3` round-trip without float error;
// precision finer than 1n is rounded up, as upstream does. Hand-written: no npm package
// implements Kubernetes' canonical form.
import { invalidArgument } from '../../../common/index.js';

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export interface Quantity {
  /** value = mantissa × 10^exponent */
  mantissa: bigint;
  exponent: number;
  format: QuantityFormat;
}

const BINARY: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const DECIMAL_SUFFIX: Record<number, string> = Object.fromEntries(Object.entries(DECIMAL).map(([k, v]) => [v, k]));
const BINARY_SUFFIX: Record<number, string> = Object.fromEntries(Object.entries(BINARY).map(([k, v]) => [v, k]));

const RE = /^([+-]?)(\d*)(?:\.(\d*))?(.*)$/;

const pow10 = (n: number) => 10n ** BigInt(n);

export const ERR_FORMAT = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/** Parses a quantity string (or a JSON number). Throws InvalidArgument with upstream's message. */
export function parseQuantity(input: string | number): Quantity {
  const s = typeof input === 'number' ? numberString(input) : input.trim();
  const m = RE.exec(s);
  if (!s || !m || (m[2] === '' && (m[3] === undefined || m[3] === '')))
    throw invalidArgument(ERR_FORMAT, { field: 'quantity' });
  const [, sign, whole, frac = '', suffix] = m;
  let mantissa = BigInt((whole || '0') + frac);
  let exponent = -frac.length;
  let format: QuantityFormat;
  if (suffix in BINARY) {
    mantissa *= 1n << BigInt(BINARY[suffix]);
    format = 'BinarySI';
  } else if (suffix in DECIMAL) {
    exponent += DECIMAL[suffix];
    format = 'DecimalSI';
  } else if (/^[eE][+-]?\d+$/.test(suffix)) {
    exponent += Number(suffix.slice(1));
    format = 'DecimalExponent';
  } else throw invalidArgument(ERR_FORMAT, { field: 'quantity' });
  if (sign === '-') mantissa = -mantissa;
  return normalize({ mantissa, exponent, format });
}

function numberString(n: number): string {
  if (!Number.isFinite(n)) return 'x';
  const s = String(n);
  return s.includes('e') ? n.toExponential().replace('e+', 'e') : s;
}

/** Rounds up to nano precision (upstream keeps at most 9 fractional digits, rounding up). */
function normalize(q: Quantity): Quantity {
  let { mantissa, exponent } = q;
  if (exponent < -9) {
    const d = pow10(-9 - exponent);
    const neg = mantissa < 0n;
    const r = ((neg ? -mantissa : mantissa) + d - 1n) / d;
    mantissa = neg ? -r : r;
    exponent = -9;
  }
  return { mantissa, exponent, format: q.format };
}

export function isValidQuantity(s: unknown): boolean {
  if (typeof s !== 'string' && typeof s !== 'number') return false;
  try {
    parseQuantity(s);
    return true;
  } catch {
    return false;
  }
}

/** Value as (mantissa, exponent) scaled to an integer count of 10^scale units. */
function atScale(q: Quantity, scale: number, roundUp = true): bigint {
  const e = q.exponent - scale;
  if (e >= 0) return q.mantissa * pow10(e);
  const d = pow10(-e);
  const t = q.mantissa / d;
  if (!roundUp || t * d === q.mantissa) return t;
  return q.mantissa > 0n ? t + 1n : t;
}

/** Integer value, rounded up (upstream's Value()). */
export const quantityValue = (q: Quantity): bigint => atScale(q, 0);
/** Value in thousandths, rounded up (upstream's MilliValue()). */
export const quantityMilliValue = (q: Quantity): bigint => atScale(q, -3);
/** Approximate float value, for ratios and display. */
export const quantityToNumber = (q: Quantity): number => Number(q.mantissa) * 10 ** q.exponent;

/** -1, 0, 1 */
export function compareQuantity(a: Quantity, b: Quantity): number {
  const e = Math.min(a.exponent, b.exponent);
  const x = a.mantissa * pow10(a.exponent - e),
    y = b.mantissa * pow10(b.exponent - e);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Upstream's canonical string, e.g. `1500m`, `2k`, `1Gi`, `1536Mi`, `1e3`. */
export function formatQuantity(q: Quantity): string {
  if (q.mantissa === 0n) return '0';
  let format = q.format;
  if (format === 'BinarySI') {
    const exactInt = q.exponent >= 0 || q.mantissa % pow10(-q.exponent) === 0n;
    const int = atScale(q, 0);
    const v = int < 0n ? -int : int;
    if (!exactInt || v < 1024n) format = 'DecimalSI';
    else {
      let n = atScale(q, 0);
      let exp = 0;
      while (exp < 60 && n % 1024n === 0n && n !== 0n) {
        n /= 1024n;
        exp += 10;
      }
      return `${n}${BINARY_SUFFIX[exp] ?? ''}`;
    }
  }
  // Decimal: integer mantissa with an exponent that is a multiple of 3.
  let m = q.mantissa,
    e = q.exponent;
  if (e >= 0) {
    m *= pow10(e);
    e = 0;
  } else {
    const target = -Math.ceil(-e / 3) * 3;
    m *= pow10(e - target);
    e = target;
  }
  while (m % 1000n === 0n && e < 18) {
    m /= 1000n;
    e += 3;
  }
  if (format === 'DecimalExponent') return e === 0 ? `${m}` : `${m}e${e}`;
  const suffix = DECIMAL_SUFFIX[e];
  return suffix === undefined ? `${m}e${e}` : `${m}${suffix}`;
}

/** Parses and re-formats; throws on invalid input. */
export const canonicalQuantity = (s: string | number): string => formatQuantity(parseQuantity(s));
