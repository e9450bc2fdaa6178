// resource.Quantity: parsing and the canonical string form kube-apiserver serializes. A quantity is held
// exactly as unscaled × 10^scale (BigInt), so "1.5Gi", "0.2" and "1e3" round-trip without float error.
//
// Serialization follows two rules of the reference implementation:
//  - a value that was already written in its canonical spelling keeps the caller's string verbatim
//    ("100Mi", "500m", "+1" stay as sent);
//  - anything else is re-rendered: decimal values with the largest SI suffix whose mantissa is an integer
//    ("1000m" → "1", "1500" → "1500", "0.2" → "200m"), binary values with the largest Ki/Mi/... suffix that
//    divides them ("1.5Gi" → "1536Mi", "1024Mi" → "1Gi").

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export interface Quantity {
  /** The value is unscaled × 10^scale. */
  unscaled: bigint;
  scale: number;
  format: QuantityFormat;
  /** The caller's spelling, kept when it was already canonical. */
  cached?: string;
}

const SPLIT_RE = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';
export const QUANTITY_FORMAT_MESSAGE = `quantities must match the regular expression '${SPLIT_RE}'`;
export const QUANTITY_NUMERIC_MESSAGE = 'unable to parse numeric part of quantity';
export const QUANTITY_SUFFIX_MESSAGE = "unable to parse quantity's suffix";

export class QuantityParseError extends Error {}

const MAX_INT64 = (1n << 63n) - 1n;
const NANO = -9;
const DECIMAL_SUFFIXES: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIXES: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const DECIMAL_BY_EXPONENT = new Map(Object.entries(DECIMAL_SUFFIXES).map(([k, v]) => [v, k]));
const BINARY_BY_EXPONENT = new Map(Object.entries(BINARY_SUFFIXES).map(([k, v]) => [v, k]));

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

interface Split {
  positive: boolean;
  value: string;
  num: string;
  denom: string;
  suffix: string;
}

// Mirrors the reference scanner, including its leniencies ("1." and ".5" are numbers, leading zeros vanish).
function splitQuantity(str: string): Split {
  let positive = true;
  let pos = 0;
  const end = str.length;
  if (str[0] === '-') {
    positive = false;
    pos++;
  } else if (str[0] === '+') {
    pos++;
  }
  while (pos < end && str[pos] === '0') pos++;
  if (pos >= end) return { positive, value: '0', num: '0', denom: '', suffix: '' };
  let i = pos;
  while (i < end && isDigit(str[i])) i++;
  if (i >= end) return { positive, value: str, num: str.slice(pos), denom: '', suffix: '' };
  let num = str.slice(pos, i) || '0';
  pos = i;
  let denom = '';
  if (str[pos] === '.') {
    pos++;
    let j = pos;
    while (j < end && isDigit(str[j])) j++;
    denom = str.slice(pos, j);
    if (j >= end) return { positive, value: str, num, denom, suffix: '' };
    pos = j;
  }
  const value = str.slice(0, pos);
  const suffixStart = pos;
  let k = pos;
  while (k < end && 'eEinumkKMGTP'.includes(str[k]!)) k++;
  if (k >= end) return { positive, value, num, denom, suffix: str.slice(suffixStart) };
  if (str[k] === '-' || str[k] === '+') k++;
  while (k < end && isDigit(str[k])) k++;
  if (k < end) throw new QuantityParseError(QUANTITY_FORMAT_MESSAGE);
  num = num || '0';
  return { positive, value, num, denom, suffix: str.slice(suffixStart) };
}

function interpretSuffix(s: string): { base: 10 | 2; exponent: number; format: QuantityFormat } | undefined {
  if (s in DECIMAL_SUFFIXES) return { base: 10, exponent: DECIMAL_SUFFIXES[s]!, format: 'DecimalSI' };
  if (s in BINARY_SUFFIXES) return { base: 2, exponent: BINARY_SUFFIXES[s]!, format: 'BinarySI' };
  if (s.length > 1 && (s[0] === 'e' || s[0] === 'E')) {
    const rest = s.slice(1);
    if (!/^[+-]?[0-9]+$/.test(rest)) return undefined;
    const e = Number(rest);
    if (!Number.isSafeInteger(e) || Math.abs(e) > 2 ** 31) return undefined;
    return { base: 10, exponent: e, format: 'DecimalExponent' };
  }
  return undefined;
}

/** Parses a decimal string such as "-1.50" into unscaled/scale; undefined when it is not a number. */
function parseDecimal(value: string): { unscaled: bigint; scale: number } | undefined {
  const m = /^([+-]?)([0-9]*)(?:\.([0-9]*))?$/.exec(value);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const digits = (m[2] ?? '') + (m[3] ?? '');
  let unscaled = BigInt(digits === '' ? '0' : digits);
  if (m[1] === '-') unscaled = -unscaled;
  return { unscaled, scale: -(m[3] ?? '').length };
}

/** Parses a quantity the way the API server does when decoding JSON; numbers are read from their text. */
export function parseQuantity(input: string | number): Quantity {
  const str = typeof input === 'number' ? numberText(input) : input.trim();
  if (str.length === 0) throw new QuantityParseError(QUANTITY_FORMAT_MESSAGE);
  if (str === '0') return { unscaled: 0n, scale: 0, format: 'DecimalSI', cached: '0' };
  const sp = splitQuantity(str);
  const suffix = interpretSuffix(sp.suffix);
  if (!suffix) throw new QuantityParseError(QUANTITY_SUFFIX_MESSAGE);
  const { base, exponent, format } = suffix;

  let precision: number;
  let scale: number;
  let mantissa = 1n;
  if (format === 'BinarySI') {
    scale = 0;
    if (exponent >= 0 && sp.denom.length === 0) {
      mantissa = 1n << BigInt(exponent);
      precision = 15 - sp.num.length - Math.trunc((exponent * 3) / 10) - 1;
    } else {
      precision = -1;
    }
  } else {
    scale = exponent;
    precision = 18 - (sp.num.length + sp.denom.length);
  }

  if (precision >= 0) {
    scale -= sp.denom.length;
    if (scale >= NANO) {
      const shifted = sp.num + sp.denom;
      const value = BigInt(shifted);
      let result = value * mantissa;
      if (result <= MAX_INT64) {
        if (!sp.positive) result = -result;
        let canonical: boolean;
        if (format === 'BinarySI') canonical = exponent % 10 === 0 && (value & 7n) !== 0n;
        else canonical = scale % 3 === 0 && !shifted.endsWith('000') && shifted[0] !== '0';
        return canonical ? { unscaled: result, scale, format, cached: str } : { unscaled: result, scale, format };
      }
    }
  }

  const dec = parseDecimal(sp.value);
  if (!dec) throw new QuantityParseError(QUANTITY_NUMERIC_MESSAGE);
  let { unscaled, scale: s } = dec;
  if (base === 10) s += exponent;
  else unscaled *= 1n << BigInt(exponent);
  const negative = unscaled < 0n;
  if (negative) unscaled = -unscaled;
  // Anything finer than a nano-unit is rounded up so a tiny request still asks for something.
  if (unscaled !== 0n && s < NANO) {
    const div = pow10(NANO - s);
    unscaled = (unscaled + div - 1n) / div;
    s = NANO;
  }
  if (compareParts(unscaled, s, MAX_INT64, 0) > 0) {
    unscaled = MAX_INT64;
    s = 0;
  }
  if (negative) unscaled = -unscaled;
  return { unscaled, scale: s, format: base === 2 ? 'BinarySI' : format };
}

/** Like parseQuantity but returns undefined instead of throwing. */
export function tryParseQuantity(input: unknown): Quantity | undefined {
  if (typeof input !== 'string' && typeof input !== 'number') return undefined;
  try {
    return parseQuantity(input);
  } catch {
    return undefined;
  }
}

function numberText(n: number): string {
  if (!Number.isFinite(n)) throw new QuantityParseError(QUANTITY_FORMAT_MESSAGE);
  return String(n);
}

function removeFactors(v: bigint, base: bigint): [bigint, number] {
  let r = v < 0n ? -v : v;
  let times = 0;
  while (r >= base && r % base === 0n) {
    r /= base;
    times++;
  }
  return [v < 0n ? -r : r, times];
}

/** The canonical spelling, ignoring any cached caller spelling. */
export function canonicalQuantity(q: Quantity): string {
  if (q.unscaled === 0n) return '0';
  let format = q.format;
  if (format === 'BinarySI') {
    if (compareParts(q.unscaled, q.scale, -1024n, 0) > 0 && compareParts(q.unscaled, q.scale, 1024n, 0) < 0) format = 'DecimalSI';
    else if (q.scale < 0 && q.unscaled % pow10(-q.scale) !== 0n) format = 'DecimalSI';
  }
  if (format === 'BinarySI') {
    const whole = q.scale >= 0 ? q.unscaled * pow10(q.scale) : q.unscaled / pow10(-q.scale);
    const [amount, times] = removeFactors(whole, 1024n);
    return amount.toString() + (BINARY_BY_EXPONENT.get(times * 10) ?? '');
  }
  const [stripped, times] = removeFactors(q.unscaled, 10n);
  let amount = stripped;
  let exponent = q.scale + times;
  const rem = exponent % 3;
  if (rem === 1 || rem === -2) {
    amount *= 10n;
    exponent -= 1;
  } else if (rem === 2 || rem === -1) {
    amount *= 100n;
    exponent -= 2;
  }
  if (format === 'DecimalExponent') return amount.toString() + (exponent === 0 ? '' : `e${exponent}`);
  const suffix = DECIMAL_BY_EXPONENT.get(exponent);
  return suffix === undefined ? `${amount}e${exponent}` : amount.toString() + suffix;
}

/** What the API server writes for this quantity (its String()). */
export function quantityString(q: Quantity): string {
  return q.cached ?? canonicalQuantity(q);
}

/** Parse and re-serialize: "0.2" → "200m", 1000 → "1k", "1.5Gi" → "1536Mi". Throws QuantityParseError. */
export function canonicalizeQuantity(input: string | number): string {
  return quantityString(parseQuantity(input));
}

function compareParts(a: bigint, as: number, b: bigint, bs: number): -1 | 0 | 1 {
  const s = Math.min(as, bs);
  const x = a * pow10(as - s);
  const y = b * pow10(bs - s);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function compareQuantities(a: Quantity, b: Quantity): -1 | 0 | 1 {
  return compareParts(a.unscaled, a.scale, b.unscaled, b.scale);
}

export function quantitySign(q: Quantity): -1 | 0 | 1 {
  return q.unscaled < 0n ? -1 : q.unscaled > 0n ? 1 : 0;
}

export function quantityIsZero(q: Quantity): boolean {
  return q.unscaled === 0n;
}

/** Value × 10^-scale rounded away from zero (Quantity.ScaledValue). */
export function quantityScaledValue(q: Quantity, scale: number): bigint {
  const shift = q.scale - scale;
  if (shift >= 0) return q.unscaled * pow10(shift);
  const div = pow10(-shift);
  const whole = q.unscaled / div;
  if (whole * div === q.unscaled) return whole;
  return q.unscaled < 0n ? whole - 1n : whole + 1n;
}

/** Integer value rounded away from zero (Quantity.Value). */
export function quantityValue(q: Quantity): bigint {
  return quantityScaledValue(q, 0);
}

/** Value in milli-units rounded away from zero (Quantity.MilliValue). */
export function quantityMilliValue(q: Quantity): bigint {
  return quantityScaledValue(q, -3);
}

export function quantityToNumber(q: Quantity): number {
  return Number(q.unscaled) * 10 ** q.scale;
}

/** Rounds up (away from zero) to the given scale (Quantity.RoundUp); a rounded value loses its cached spelling. */
export function roundUpQuantity(q: Quantity, scale: number): Quantity {
  if (q.scale >= scale) return q;
  return { unscaled: quantityScaledValue(q, scale), scale, format: q.format };
}

export function addQuantities(a: Quantity, b: Quantity): Quantity {
  const s = Math.min(a.scale, b.scale);
  return { unscaled: a.unscaled * pow10(a.scale - s) + b.unscaled * pow10(b.scale - s), scale: s, format: a.format };
}
