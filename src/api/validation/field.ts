// Field errors in kube-apiserver's shape. A cause's message is the error body ("Invalid value: \"x\": detail")
// and its field the dotted path ("spec.containers[0].image"); errors.invalid() joins them into the Status
// message kubectl prints. Bad values are rendered the way Go's validation renders them: strings quoted, numbers
// bare, and composite values as Go literals (GoLiteral) such as map[string]string{"app":"x"}.

import type { StatusCause } from '../errors.js';

export type ErrorType =
  | 'FieldValueRequired'
  | 'FieldValueInvalid'
  | 'FieldValueDuplicate'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueNotFound'
  | 'InternalError';

const TYPE_TEXT: Record<ErrorType, string> = {
  FieldValueRequired: 'Required value',
  FieldValueInvalid: 'Invalid value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  FieldValueNotFound: 'Not found',
  InternalError: 'Internal error',
};

/** A field path: child names joined by ".", list indexes as [i], map keys as [key]. */
export class FieldPath {
  private constructor(private readonly text: string) {}

  static root(...names: string[]): FieldPath {
    return new FieldPath(names.join('.'));
  }

  child(...names: string[]): FieldPath {
    return new FieldPath([this.text, ...names].filter((s) => s !== '').join('.'));
  }

  index(i: number): FieldPath {
    return new FieldPath(`${this.text}[${i}]`);
  }

  key(k: string): FieldPath {
    return new FieldPath(`${this.text}[${k}]`);
  }

  toString(): string {
    return this.text;
  }
}

export const path = FieldPath.root;

/** A value already rendered as a Go literal (printed verbatim). */
export class GoLiteral {
  constructor(readonly text: string) {}
}

export type BadValue = string | number | bigint | boolean | null | undefined | GoLiteral;

/** Go's %q for strings: JSON escaping, but control bytes as \xNN. */
export function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u00([0-7][0-9a-f])/g, (_m, h: string) => `\\x${h}`).replace(/\u007f/g, '\\x7f');
}

export function renderValue(v: BadValue): string {
  if (v === null || v === undefined) return 'null';
  if (v instanceof GoLiteral) return v.text;
  if (typeof v === 'string') return goQuote(v);
  return String(v);
}

function body(type: ErrorType, value: BadValue | typeof OMIT, detail: string): string {
  let s = TYPE_TEXT[type];
  const bare = type === 'FieldValueRequired' || type === 'FieldValueForbidden' || type === 'FieldValueTooLong' || type === 'InternalError';
  if (!bare && value !== OMIT) s += `: ${renderValue(value)}`;
  if (detail) s += `: ${detail}`;
  return s;
}

const OMIT = Symbol('omit');

function cause(type: ErrorType, p: FieldPath, value: BadValue | typeof OMIT, detail: string): StatusCause {
  return { reason: type, message: body(type, value, detail), field: p.toString() };
}

export function required(p: FieldPath, detail = ''): StatusCause {
  return cause('FieldValueRequired', p, OMIT, detail);
}

export function invalid(p: FieldPath, value: BadValue, detail: string): StatusCause {
  return cause('FieldValueInvalid', p, value, detail);
}

export function duplicate(p: FieldPath, value: BadValue): StatusCause {
  return cause('FieldValueDuplicate', p, value, '');
}

export function notFound(p: FieldPath, value: BadValue): StatusCause {
  return cause('FieldValueNotFound', p, value, '');
}

export function notSupported(p: FieldPath, value: BadValue, valid: readonly string[]): StatusCause {
  const detail = valid.length ? 'supported values: ' + valid.map((v) => goQuote(v)).join(', ') : '';
  return cause('FieldValueNotSupported', p, value, detail);
}

export function forbidden(p: FieldPath, detail: string): StatusCause {
  return cause('FieldValueForbidden', p, OMIT, detail);
}

export function tooLong(p: FieldPath, max: number): StatusCause {
  return cause('FieldValueTooLong', p, OMIT, max >= 0 ? `may not be more than ${max} bytes` : 'value is too long');
}

export function tooMany(p: FieldPath, actual: number, max: number): StatusCause {
  return cause('FieldValueTooMany', p, actual >= 0 ? actual : OMIT, max >= 0 ? `must have at most ${max} items` : 'has too many items');
}

/** Drops causes whose field and message repeat an earlier one (the Status message lists each once). */
export function dedupe(causes: StatusCause[]): StatusCause[] {
  const seen = new Set<string>();
  return causes.filter((c) => {
    const k = `${c.field}\u0000${c.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

// ---- Go literal rendering for the composite values some messages print ----

export function goStringMap(m: unknown): GoLiteral {
  if (m === undefined || m === null || typeof m !== 'object' || Array.isArray(m)) return new GoLiteral('map[string]string(nil)');
  const entries = Object.keys(m as object)
    .sort()
    .map((k) => `${goQuote(k)}:${goQuote(String((m as Record<string, unknown>)[k]))}`);
  return new GoLiteral(`map[string]string{${entries.join(', ')}}`);
}

export function goStringSliceText(v: unknown): string {
  if (!Array.isArray(v)) return '[]string(nil)';
  return `[]string{${v.map((x) => goQuote(String(x))).join(', ')}}`;
}

export function goStringSlice(v: unknown): GoLiteral {
  return new GoLiteral(goStringSliceText(v));
}

/** A metav1.LabelSelector as Go's %#v prints it (after dereferencing the pointer). */
export function goLabelSelector(sel: unknown): GoLiteral {
  if (sel === undefined || sel === null || typeof sel !== 'object') return new GoLiteral('null');
  const s = sel as Record<string, unknown>;
  const ml = goStringMap(s.matchLabels).text;
  let me = '[]v1.LabelSelectorRequirement(nil)';
  if (Array.isArray(s.matchExpressions)) {
    const items = s.matchExpressions.map((e) => {
      const r = (e ?? {}) as Record<string, unknown>;
      return `v1.LabelSelectorRequirement{Key:${goQuote(String(r.key ?? ''))}, Operator:${goQuote(String(r.operator ?? ''))}, Values:${goStringSliceText(r.values)}}`;
    });
    me = `[]v1.LabelSelectorRequirement{${items.join(', ')}}`;
  }
  return new GoLiteral(`v1.LabelSelector{MatchLabels:${ml}, MatchExpressions:${me}}`);
}

/** An intstr.IntOrString value (not pointer) as %#v prints it. */
export function goIntOrString(v: unknown): GoLiteral {
  if (typeof v === 'number') return new GoLiteral(`intstr.IntOrString{Type:0, IntVal:${v}, StrVal:""}`);
  return new GoLiteral(`intstr.IntOrString{Type:1, IntVal:0, StrVal:${goQuote(String(v ?? ''))}}`);
}

/** A best-effort %#v of an arbitrary JSON value under a Go type name, for messages that print whole structs. */
export function goStruct(typeName: string, v: unknown): GoLiteral {
  return new GoLiteral(`${typeName}${goish(v)}`);
}

function goName(k: string): string {
  return k.charAt(0).toUpperCase() + k.slice(1);
}

function goish(v: unknown): string {
  if (v === null || v === undefined) return '(nil)';
  if (typeof v === 'string') return goQuote(v);
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return `{${v.map(goish).join(', ')}}`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .map((k) => `${goName(k)}:${goish(o[k])}`)
    .join(', ')}}`;
}
