import { definition, schemaForKind, definitionNameForKind } from './registry.js';
import type { GroupVersionKind, Schema } from './types.js';

// Field validation against the schema registry, matching what kube-apiserver's strict JSON decoder reports:
// unknown fields (paths like `spec.template.spec.containers[0].foo`), values of the wrong JSON type (with Go's
// `json: cannot unmarshal ...` wording, which kubectl shows verbatim), and duplicate keys in the raw body.
// `prune` drops unknown fields for fieldValidation=Ignore/Warn. Subtrees the schema leaves open (RawExtension,
// x-kubernetes-preserve-unknown-fields, untyped schemas) are not looked into.

export interface FieldTypeError {
  /** JSON path with list indices, e.g. `spec.replicas` or `spec.template.spec.containers[0].ports[1].containerPort`. */
  field: string;
  message: string;
}

export interface FieldCheckResult {
  unknown: string[];
  duplicates?: string[];
  typeErrors: FieldTypeError[];
}

const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const TIME = 'io.k8s.apimachinery.pkg.apis.meta.v1.Time';
const MICRO_TIME = 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime';

interface Walk {
  prune: boolean;
  unknown: string[];
  typeErrors: FieldTypeError[];
}

/**
 * Where a value sits. Built for every value walked but spelled out only for a report, so its two spellings are
 * derived on demand: the JSON path, and Go's `Struct.field.path` for messages.
 */
interface Place {
  up: Place | undefined;
  /** Field name, map key or list index. */
  seg: string;
  /** A struct field (true: `seg` is in Go's field stack), a map key or list index (false). */
  field: boolean;
  index: boolean;
  /** The Go struct type that holds this field (struct fields and the root only). */
  struct: string;
}

function rootPlace(struct: string): Place {
  return { up: undefined, seg: '', field: false, index: false, struct };
}

/** JSON path with list indices, e.g. `spec.template.spec.containers[0].ports[1].containerPort`. */
function pathOf(at: Place): string {
  if (!at.up) return '';
  const up = pathOf(at.up);
  if (at.index) return `${up}[${at.seg}]`;
  return up ? `${up}.${at.seg}` : at.seg;
}

/** Go's field stack: struct field names from the root, no list indices or map keys. */
function goPathOf(at: Place): string {
  if (!at.up) return '';
  const up = goPathOf(at.up);
  if (!at.field) return up;
  return up ? `${up}.${at.seg}` : at.seg;
}

/** The Go struct type that holds the innermost named field. */
function goStructOf(at: Place): string {
  for (let p: Place | undefined = at; p; p = p.up) if (p.field || !p.up) return p.struct;
  return '';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'boolean') return 'bool';
  return typeof v; // string, number, object
}

/** The short Go type name for messages: v1.PodSpec, resource.Quantity, []v1.Container, map[string]string. */
function goType(s: Schema | undefined): string {
  if (!s) return 'interface {}';
  if (s.$ref) {
    const parts = s.$ref.split('.');
    const name = parts[parts.length - 1];
    const pkg = parts[parts.length - 2];
    return `${pkg}.${name}`;
  }
  switch (s.type) {
    case 'array':
      return '[]' + goType(s.items);
    case 'object':
      return s.additionalProperties ? 'map[string]' + goType(s.additionalProperties) : 'map[string]interface {}';
    case 'integer':
      return s.format === 'int64' ? 'int64' : 'int32';
    case 'number':
      return 'float64';
    case 'boolean':
      return 'bool';
    case 'string':
      return s.format === 'byte' ? '[]uint8' : 'string';
    default:
      return 'interface {}';
  }
}

function structName(ref: string): string {
  return ref.slice(ref.lastIndexOf('.') + 1);
}

function typeError(w: Walk, at: Place, v: unknown, s: Schema, detail?: string): void {
  const value = detail ?? jsonKind(v);
  const goPath = goPathOf(at);
  const where = goPath ? `Go struct field ${goStructOf(at)}.${goPath}` : 'Go value';
  w.typeErrors.push({ field: pathOf(at), message: `json: cannot unmarshal ${value} into ${where} of type ${goType(s)}` });
}

/** A struct field (`goStruct` names the struct) or, without it, a map key. */
function child(at: Place, key: string, goStruct?: string): Place {
  return { up: at, seg: key, field: goStruct !== undefined, index: false, struct: goStruct ?? '' };
}

/** A decimal number, then a binary-SI suffix, a decimal-SI suffix or an exponent. */
const QUANTITY_SYNTAX = /^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;
// The message kube-apiserver's quantity decoder gives for any malformed quantity.
const QUANTITY_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const BASE64_CHAR = /[A-Za-z0-9+/]/;

/** Index of the first byte Go's base64 decoder rejects, or -1 when the string is valid standard base64. */
function badBase64At(s: string): number {
  let i = 0;
  for (; i < s.length && BASE64_CHAR.test(s[i]); i++);
  let pad = 0;
  for (; i < s.length && s[i] === '=' && pad < 2; i++, pad++);
  if (i < s.length) return i;
  if ((s.length - pad) % 4 === 1) return s.length - pad - 1;
  if (s.length % 4 !== 0) return s.length;
  return -1;
}

function isEmptyMap(v: unknown, s: Schema): boolean {
  if (!isObject(v) || Object.keys(v).length) return false;
  let cur: Schema | undefined = s;
  for (let i = 0; cur?.$ref && i < 16; i++) cur = definition(cur.$ref);
  return !!cur && cur.type === 'object' && !cur.properties && !!cur.additionalProperties;
}

function walk(v: unknown, s: Schema | undefined, at: Place, w: Walk): void {
  if (!s || v === null || v === undefined) return; // null decodes to the zero value everywhere
  if (s['x-kubernetes-preserve-unknown-fields']) return;
  let ref = s.$ref;
  let cur: Schema | undefined = s;
  for (let i = 0; cur?.$ref && i < 16; i++) {
    ref = cur.$ref;
    cur = definition(cur.$ref);
  }
  if (!cur || cur['x-kubernetes-preserve-unknown-fields']) return;
  const named = ref ? { $ref: ref } : cur;

  if (ref === QUANTITY) {
    // Quantities decode from strings and (as kubectl may send for `cpu: 0.5`) from JSON numbers.
    if (typeof v === 'number') return;
    if (typeof v !== 'string' || !QUANTITY_SYNTAX.test(v)) w.typeErrors.push({ field: pathOf(at), message: QUANTITY_ERROR });
    return;
  }
  if (ref === INT_OR_STRING || cur['x-kubernetes-int-or-string']) {
    if (typeof v === 'number' ? !Number.isInteger(v) : typeof v !== 'string') typeError(w, at, v, named, typeof v === 'number' ? `number ${v}` : undefined);
    return;
  }
  if (ref === TIME || ref === MICRO_TIME) {
    if (typeof v !== 'string') typeError(w, at, v, named);
    else if (v !== '' && !RFC3339.test(v))
      w.typeErrors.push({ field: pathOf(at), message: `parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(v)} as "2006"` });
    return;
  }

  switch (cur.type) {
    case 'object': {
      if (!isObject(v)) return typeError(w, at, v, named);
      if (cur.properties) {
        const struct = ref ? structName(ref) : goStructOf(at);
        for (const key of Object.keys(v)) {
          const ps = cur.properties[key];
          if (!ps) {
            const p = pathOf(child(at, key, struct));
            if (w.prune) delete v[key];
            w.unknown.push(p);
            continue;
          }
          walk(v[key], ps, child(at, key, struct), w);
          // What Go's decoder would leave out again on the way back: nulls and empty maps (omitempty).
          if (w.prune && (v[key] === null || isEmptyMap(v[key], ps))) delete v[key];
        }
      } else if (cur.additionalProperties) {
        for (const key of Object.keys(v)) walk(v[key], cur.additionalProperties, child(at, key), w);
      }
      // An object schema with neither properties nor additionalProperties is an empty struct: every key is unknown.
      else if (ref) {
        for (const key of Object.keys(v)) {
          w.unknown.push(pathOf(child(at, key)));
          if (w.prune) delete v[key];
        }
      }
      return;
    }
    case 'array': {
      if (!Array.isArray(v)) {
        // Go decodes a base64 string into []byte; only arrays elsewhere.
        return typeError(w, at, v, named);
      }
      for (let i = 0; i < v.length; i++) walk(v[i], cur.items, { up: at, seg: String(i), field: false, index: true, struct: '' }, w);
      return;
    }
    case 'integer': {
      if (typeof v !== 'number') return typeError(w, at, v, named);
      const bits = cur.format === 'int64' ? 64 : 32;
      const limit = bits === 64 ? 2 ** 63 : 2 ** 31;
      if (!Number.isInteger(v) || v < -limit || v >= limit) typeError(w, at, v, named, `number ${v}`);
      return;
    }
    case 'number':
      if (typeof v !== 'number') typeError(w, at, v, named);
      return;
    case 'boolean':
      if (typeof v !== 'boolean') typeError(w, at, v, named);
      return;
    case 'string': {
      if (typeof v !== 'string') return typeError(w, at, v, named);
      if (cur.format === 'byte') {
        const bad = badBase64At(v);
        if (bad >= 0) w.typeErrors.push({ field: pathOf(at), message: `illegal base64 data at input byte ${bad}` });
      }
      return;
    }
    default:
      return; // untyped: anything goes
  }
}

function run(obj: unknown, defName: string | undefined, prune: boolean): Walk {
  const w: Walk = { prune, unknown: [], typeErrors: [] };
  if (!defName) return w;
  const top = definition(defName);
  if (!top) return w;
  walk(obj, { $ref: defName }, rootPlace(structName(defName)), w);
  return w;
}

/**
 * Check an object (already parsed JSON) against its kind's schema. Pass the raw JSON text as `raw` to also
 * report duplicate keys, which parsing has already collapsed. An unknown kind yields an empty result.
 */
export function checkFields(obj: unknown, group: string, version: string, kind: string, raw?: string): FieldCheckResult {
  const w = run(obj, definitionNameForKind(group, version, kind), false);
  const result: FieldCheckResult = { unknown: w.unknown, typeErrors: w.typeErrors };
  if (raw !== undefined) {
    const d = duplicateFields(raw);
    if (d.length) result.duplicates = d;
  }
  return result;
}

/** Remove unknown fields in place; returns the paths removed (for Warn headers). */
export function prune(obj: unknown, gvk: GroupVersionKind): string[] {
  return run(obj, definitionNameForKind(gvk.group, gvk.version, gvk.kind), true).unknown;
}

/**
 * checkFields, then prune, in one walk: the report is checkFields' (without duplicates), and unknown fields,
 * nulls and empty maps are gone from `obj` afterwards. For a caller that drops `obj` when the report is fatal.
 */
export function checkAndPrune(obj: unknown, gvk: GroupVersionKind): FieldCheckResult {
  const w = run(obj, definitionNameForKind(gvk.group, gvk.version, gvk.kind), true);
  return { unknown: w.unknown, typeErrors: w.typeErrors };
}

/** Whether kite has a schema to check this kind against. */
export function hasSchema(group: string, version: string, kind: string): boolean {
  return schemaForKind(group, version, kind) !== undefined;
}

/**
 * Paths of keys that occur more than once in the same JSON object of `raw` (e.g. `spec.replicas`,
 * `spec.template.spec.containers[0].name`). Assumes `raw` is valid JSON; returns [] when it is not.
 * Every create and update body is scanned, so the scan works on character codes, skips string values without
 * decoding them, and builds a path only for a duplicate it reports.
 */
export function duplicateFields(raw: string): string[] {
  const scan: DuplicateScan = { raw, path: [], out: [] };
  try {
    scanValue(scan, 0);
  } catch {
    return [];
  }
  return scan.out;
}

interface DuplicateScan {
  raw: string;
  /** The path down to the value being scanned: ".key" or "[n]" per level (the first without its dot). */
  path: string[];
  out: string[];
}

// The scanner's functions take and return the position in the text: a position captured by closures would
// live in a heap context, several times slower to update.

function skipWs(raw: string, i: number): number {
  for (; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return i;
  }
  return i;
}

/** The position past the string starting at `i`, negated when the string holds an escape. */
function skipString(raw: string, i: number): number {
  let escaped = false;
  for (i++; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 34) return escaped ? -(i + 1) : i + 1;
    if (c === 92) {
      escaped = true;
      i++;
    }
  }
  throw new SyntaxError('unterminated string');
}

function scanValue(scan: DuplicateScan, i: number): number {
  const raw = scan.raw;
  i = skipWs(raw, i);
  if (i >= raw.length) throw new SyntaxError('unexpected end of JSON');
  const c = raw.charCodeAt(i);
  if (c === 123) {
    i = skipWs(raw, i + 1);
    if (raw.charCodeAt(i) === 125) return i + 1;
    const seen: string[] = [];
    let seenSet: Set<string> | undefined;
    for (;;) {
      i = skipWs(raw, i);
      const start = i;
      const end = skipString(raw, i);
      i = end < 0 ? -end : end;
      const key = end < 0 ? (JSON.parse(raw.slice(start, i)) as string) : raw.slice(start + 1, i - 1);
      // Objects are small: a list answers "seen before?" faster than a set until they are not.
      const dup = seenSet ? seenSet.has(key) : seen.includes(key);
      if (seenSet) seenSet.add(key);
      else if (seen.push(key) > 16) seenSet = new Set(seen);
      scan.path.push(scan.path.length ? `.${key}` : key);
      if (dup) scan.out.push(scan.path.join(''));
      i = skipWs(raw, i) + 1; // colon
      i = skipWs(raw, scanValue(scan, i));
      scan.path.pop();
      if (raw.charCodeAt(i++) === 125) return i;
    }
  }
  if (c === 91) {
    i = skipWs(raw, i + 1);
    if (raw.charCodeAt(i) === 93) return i + 1;
    for (let idx = 0; ; idx++) {
      scan.path.push(`[${idx}]`);
      i = skipWs(raw, scanValue(scan, i));
      scan.path.pop();
      if (raw.charCodeAt(i++) === 93) return i;
    }
  }
  if (c === 34) {
    const end = skipString(raw, i);
    return end < 0 ? -end : end;
  }
  for (; i < raw.length; i++) {
    const d = raw.charCodeAt(i);
    if (d === 44 || d === 125 || d === 93 || d === 32 || d === 10 || d === 13 || d === 9) return i;
  }
  return i;
}
