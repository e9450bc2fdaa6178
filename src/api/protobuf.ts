// Decoder for `application/vnd.kubernetes.protobuf` request bodies. client-go typed clients (every
// `kubectl create <generator>`, autoscale, auth can-i/whoami) send only this encoding and never fall back to
// JSON, so kite turns it into the JSON form every other handler works on (shared/kubectl-compat.md A4).
//
// The wire layout is driven entirely by src/api/schema/overlay/proto.json: field numbers and proto types read
// from upstream generated.proto, plus the Go facts JSON depends on (embedded structs, pointers, omitempty).
// The result is meant to equal what Go's encoding/json would print for the same object, except that zero
// timestamps are left out rather than written as null.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { badRequest } from './errors.js';
import type { JsonObject, JsonValue } from './object.js';

/** One field of a message in proto.json. */
export interface ProtoFieldSpec {
  /** JSON property name (differs from the proto name in a few places, e.g. `aPIGroup` → `apiGroup`). */
  name: string;
  /** Scalar proto type, or `message:<definition name>`. Absent for maps. */
  type?: string;
  repeated?: boolean;
  /** [key type, value type] for proto maps. */
  map?: [string, string];
  /** A Go-embedded struct: proto nests it, JSON flattens its fields into the parent. */
  inline?: boolean;
  /** The Go field is a pointer, so a zero value on the wire was set on purpose and is kept. */
  ptr?: boolean;
  /** The Go JSON tag has no omitempty: a zero value is still printed. */
  always?: boolean;
  /** The message is a Go slice type wrapped for protobuf (Verbs, ExtraValue): its JSON is this field. */
  unwrap?: boolean;
}

export type ProtoTable = Record<string, Record<string, ProtoFieldSpec>>;

export interface DecodedProtobuf {
  apiVersion: string;
  kind: string;
  object: JsonObject;
}

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]); // "k8s\0"
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
const MAX_DEPTH = 64;

// ---------------------------------------------------------------------------------------------------------
// The field table

let table: ProtoTable | undefined;

function tablePath(): string {
  if (process.env.KITE_PROTO) return process.env.KITE_PROTO;
  // Next to the compiled module when the build copied it, else the source tree above dist/.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    for (const rel of ['schema/overlay/proto.json', 'src/api/schema/overlay/proto.json']) {
      const p = join(dir, rel);
      if (existsSync(p)) return p;
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('src/api/schema/overlay/proto.json not found (set KITE_PROTO)');
    dir = up;
  }
}

export function protoTable(): ProtoTable {
  if (!table) table = JSON.parse(readFileSync(tablePath(), 'utf8')) as ProtoTable;
  return table;
}

// Groups whose Go package is not simply the first DNS label of the group name.
const GROUP_PACKAGES: Record<string, string> = { '': 'core' };

// Kinds every group version accepts but which live in meta/v1.
const META_KINDS = new Set([
  'DeleteOptions', 'CreateOptions', 'UpdateOptions', 'PatchOptions', 'GetOptions', 'ListOptions', 'Status', 'WatchEvent',
]);

/** The proto.json definition of a kind, e.g. ('apps/v1', 'Deployment') → 'io.k8s.api.apps.v1.Deployment'. */
export function protobufDefinitionName(apiVersion: string, kind: string): string | undefined {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  const defs = protoTable();
  if (group === 'meta.k8s.io' || META_KINDS.has(kind)) {
    const n = META + kind;
    if (defs[n]) return n;
  }
  const pkg = GROUP_PACKAGES[group] ?? group.split('.')[0];
  const n = `io.k8s.api.${pkg}.${version}.${kind}`;
  return defs[n] ? n : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Wire reading

const VARINT = 0;
const FIXED64 = 1;
const BYTES = 2;
const FIXED32 = 5;

class Reader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  byte(): number {
    if (this.pos >= this.end) throw malformed('truncated varint');
    return this.buf[this.pos++];
  }

  /** A varint as two unsigned 32-bit halves. */
  varint(): [number, number] {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      if (i < 4) lo |= (b & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (b & 0x0f) << 28;
        hi = (b & 0x7f) >> 4;
      } else hi |= (b & 0x7f) << (7 * i - 32);
      if (!(b & 0x80)) return [lo >>> 0, hi >>> 0];
    }
    throw malformed('varint longer than 10 bytes');
  }

  /** A small non-negative varint (tags, lengths). */
  uint(): number {
    const [lo, hi] = this.varint();
    if (hi !== 0) throw malformed('length or tag out of range');
    return lo;
  }

  take(n: number): Buffer {
    if (n > this.end - this.pos) throw malformed(`length ${n} runs past the end of the message`);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  skip(wire: number): void {
    switch (wire) {
      case VARINT:
        this.varint();
        return;
      case FIXED64:
        this.take(8);
        return;
      case BYTES:
        this.take(this.uint());
        return;
      case FIXED32:
        this.take(4);
        return;
      default:
        throw malformed(`unsupported wire type ${wire}`);
    }
  }
}

function malformed(why: string): Error {
  return badRequest(`unable to decode protobuf body: ${why}`);
}

const VARINT_TYPES = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'bool', 'enum']);
const FIXED64_TYPES = new Set(['fixed64', 'sfixed64', 'double']);
const FIXED32_TYPES = new Set(['fixed32', 'sfixed32', 'float']);

function wireTypeOf(type: string): number {
  if (VARINT_TYPES.has(type)) return VARINT;
  if (FIXED64_TYPES.has(type)) return FIXED64;
  if (FIXED32_TYPES.has(type)) return FIXED32;
  return BYTES;
}

const TWO32 = 4294967296;

function varintValue(type: string, [lo, hi]: [number, number]): number | boolean {
  switch (type) {
    case 'bool':
      return lo !== 0 || hi !== 0;
    case 'int32':
    case 'enum':
      return lo | 0;
    case 'uint32':
      return lo;
    case 'uint64':
      return hi * TWO32 + lo;
    case 'sint32':
      return (lo >>> 1) ^ -(lo & 1);
    case 'sint64': {
      const v = (BigInt(hi) << 32n) | BigInt(lo);
      return Number((v >> 1n) ^ -(v & 1n));
    }
    default: // int64: two's complement over 64 bits
      return (hi | 0) * TWO32 + lo;
  }
}

function fixedValue(type: string, b: Buffer): number {
  switch (type) {
    case 'double':
      return b.readDoubleLE(0);
    case 'float':
      return b.readFloatLE(0);
    case 'fixed32':
      return b.readUInt32LE(0);
    case 'sfixed32':
      return b.readInt32LE(0);
    case 'fixed64':
      return Number(b.readBigUInt64LE(0));
    default:
      return Number(b.readBigInt64LE(0));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

interface Ctx {
  defs: ProtoTable;
  depth: number;
}

/** A scalar read straight off the wire (wire type already checked). */
function readScalar(r: Reader, type: string, wire: number): JsonValue {
  if (wire === VARINT) return varintValue(type, r.varint());
  if (wire === FIXED64) return fixedValue(type, r.take(8));
  if (wire === FIXED32) return fixedValue(type, r.take(4));
  const b = r.take(r.uint());
  if (type === 'bytes') return b.toString('base64');
  return utf8(b);
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function utf8(b: Buffer): string {
  try {
    return utf8Decoder.decode(b);
  } catch {
    throw malformed('string field is not valid UTF-8');
  }
}

function isZero(v: JsonValue): boolean {
  return v === '' || v === 0 || v === false;
}

/** Values of one field gathered from the wire, before conversion to JSON. */
type Slot = { kind: 'scalar'; value: JsonValue } | { kind: 'chunks'; chunks: Buffer[] } | { kind: 'list'; values: JsonValue[] } | { kind: 'map'; value: JsonObject };

function decodeMessage(defName: string, bytes: Buffer, ctx: Ctx): JsonValue | undefined {
  if (ctx.depth > MAX_DEPTH) throw malformed('message nesting too deep');
  const special = decodeSpecial(defName, bytes, ctx);
  if (special !== NOT_SPECIAL) return special;
  const fields = ctx.defs[defName];
  if (!fields) throw malformed(`no protobuf description of ${defName}`);
  const inner: Ctx = { defs: ctx.defs, depth: ctx.depth + 1 };

  const slots = new Map<string, Slot>();
  const r = new Reader(bytes);
  while (!r.done()) {
    const tag = r.uint();
    const num = tag >>> 3;
    const wire = tag & 7;
    if (num === 0) throw malformed(`field number 0 in ${defName}`);
    const spec = fields[String(num)];
    if (!spec) {
      r.skip(wire); // unknown fields are ignored, as by the Go decoder
      continue;
    }
    const where = () => `${defName}.${spec.name}`;
    if (spec.map) {
      if (wire !== BYTES) throw malformed(`${where()}: wire type ${wire} for a map entry`);
      let slot = slots.get(String(num));
      if (!slot) slots.set(String(num), (slot = { kind: 'map', value: {} }));
      if (slot.kind !== 'map') throw malformed(`${where()}: inconsistent field`);
      const [k, v] = readMapEntry(r.take(r.uint()), spec.map, inner, where);
      slot.value[k] = v;
      continue;
    }
    const type = spec.type ?? 'string';
    const isMessage = type.startsWith('message:');
    if (spec.repeated) {
      let slot = slots.get(String(num));
      if (!slot) slots.set(String(num), (slot = { kind: 'list', values: [] }));
      if (slot.kind !== 'list') throw malformed(`${where()}: inconsistent field`);
      const expected = isMessage ? BYTES : wireTypeOf(type);
      if (wire === expected) {
        if (isMessage) {
          const v = decodeMessage(type.slice(8), r.take(r.uint()), inner);
          slot.values.push(v === undefined ? null : v);
        } else slot.values.push(readScalar(r, type, wire));
      } else if (wire === BYTES && expected !== BYTES) {
        // packed repeated scalars
        const pr = new Reader(r.take(r.uint()));
        while (!pr.done()) slot.values.push(readScalar(pr, type, expected));
      } else throw malformed(`${where()}: wire type ${wire}, expected ${expected}`);
      continue;
    }
    if (isMessage) {
      if (wire !== BYTES) throw malformed(`${where()}: wire type ${wire} for a message`);
      // Repeated occurrences of a singular message merge, which equals decoding their concatenation.
      const slot = slots.get(String(num));
      const chunk = r.take(r.uint());
      if (slot?.kind === 'chunks') slot.chunks.push(chunk);
      else slots.set(String(num), { kind: 'chunks', chunks: [chunk] });
      continue;
    }
    const expected = wireTypeOf(type);
    if (wire !== expected) throw malformed(`${where()}: wire type ${wire}, expected ${expected}`);
    slots.set(String(num), { kind: 'scalar', value: readScalar(r, type, wire) });
  }

  const out: JsonObject = {};
  for (const [num, spec] of Object.entries(fields)) {
    const slot = slots.get(num);
    if (spec.unwrap) {
      // Verbs / ExtraValue: the message stands for its single list.
      return slot?.kind === 'list' ? slot.values : [];
    }
    if (!slot) continue;
    let value: JsonValue | undefined;
    switch (slot.kind) {
      case 'scalar':
        value = isZero(slot.value) && !spec.ptr && !spec.always ? undefined : slot.value;
        break;
      case 'list':
        value = slot.values.length ? slot.values : undefined;
        break;
      case 'map':
        value = Object.keys(slot.value).length ? slot.value : undefined;
        break;
      case 'chunks': {
        const body = slot.chunks.length === 1 ? slot.chunks[0] : Buffer.concat(slot.chunks);
        value = decodeMessage((spec.type ?? '').slice(8), body, inner);
        break;
      }
    }
    if (value === undefined) continue;
    if (spec.inline) {
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) Object.assign(out, value);
      continue;
    }
    out[spec.name] = value;
  }
  return out;
}

function readMapEntry(bytes: Buffer, [keyType, valueType]: [string, string], ctx: Ctx, where: () => string): [string, JsonValue] {
  const r = new Reader(bytes);
  let key: JsonValue = '';
  let value: JsonValue | undefined;
  let valueChunks: Buffer[] | undefined;
  const valueIsMessage = valueType.startsWith('message:');
  while (!r.done()) {
    const tag = r.uint();
    const num = tag >>> 3;
    const wire = tag & 7;
    if (num === 1) {
      if (wire !== wireTypeOf(keyType)) throw malformed(`${where()}: map key has wire type ${wire}`);
      key = readScalar(r, keyType, wire);
    } else if (num === 2) {
      if (valueIsMessage) {
        if (wire !== BYTES) throw malformed(`${where()}: map value has wire type ${wire}`);
        (valueChunks ??= []).push(r.take(r.uint()));
      } else {
        if (wire !== wireTypeOf(valueType)) throw malformed(`${where()}: map value has wire type ${wire}`);
        value = readScalar(r, valueType, wire);
      }
    } else r.skip(wire);
  }
  if (valueIsMessage) {
    value = decodeMessage(valueType.slice(8), valueChunks ? Buffer.concat(valueChunks) : Buffer.alloc(0), ctx);
  } else if (value === undefined) {
    value = valueType === 'bool' ? false : valueType === 'string' || valueType === 'bytes' ? '' : 0;
  }
  return [String(key), value === undefined ? null : value];
}

// ---------------------------------------------------------------------------------------------------------
// Messages whose JSON form is not an object of their fields

const NOT_SPECIAL = Symbol('not special');

/** Reads the scalar fields of a small well-known message, keyed by field number. */
function fieldsOf(bytes: Buffer, types: Record<number, string>, defName: string): Map<number, JsonValue> {
  const out = new Map<number, JsonValue>();
  const r = new Reader(bytes);
  while (!r.done()) {
    const tag = r.uint();
    const num = tag >>> 3;
    const wire = tag & 7;
    const type = types[num];
    if (!type) {
      r.skip(wire);
      continue;
    }
    if (wire !== wireTypeOf(type)) throw malformed(`${defName} field ${num}: wire type ${wire}`);
    out.set(num, readScalar(r, type, wire));
  }
  return out;
}

/** Raw bytes of field 1 (RawExtension.raw, FieldsV1.Raw). */
function rawField(bytes: Buffer): Buffer {
  const chunks: Buffer[] = [];
  const r = new Reader(bytes);
  while (!r.done()) {
    const tag = r.uint();
    if (tag === ((1 << 3) | BYTES)) chunks.push(r.take(r.uint()));
    else r.skip(tag & 7);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

function decodeSpecial(defName: string, bytes: Buffer, ctx: Ctx): JsonValue | undefined | typeof NOT_SPECIAL {
  switch (defName) {
    case META + 'Time':
    case META + 'MicroTime': {
      const f = fieldsOf(bytes, { 1: 'int64', 2: 'int32' }, defName);
      const seconds = Number(f.get(1) ?? 0);
      const nanos = Number(f.get(2) ?? 0);
      // The zero time prints as null in Go; leaving it out is the same to every reader.
      if (seconds === 0 && nanos === 0) return undefined;
      return formatTime(seconds, nanos, defName.endsWith('MicroTime'));
    }
    case META + 'Duration': {
      const f = fieldsOf(bytes, { 1: 'int64' }, defName);
      return formatDuration(Number(f.get(1) ?? 0));
    }
    case 'io.k8s.apimachinery.pkg.api.resource.Quantity':
    case 'io.k8s.apimachinery.pkg.api.resource.QuantityValue': {
      const f = fieldsOf(bytes, { 1: 'string' }, defName);
      const s = f.get(1);
      return typeof s === 'string' && s !== '' ? s : '0';
    }
    case 'io.k8s.apimachinery.pkg.util.intstr.IntOrString': {
      const f = fieldsOf(bytes, { 1: 'int64', 2: 'int32', 3: 'string' }, defName);
      return f.get(1) === 1 ? (f.get(3) ?? '') : (f.get(2) ?? 0);
    }
    case META + 'FieldsV1':
    case 'io.k8s.apimachinery.pkg.runtime.RawExtension':
      return embeddedJson(rawField(bytes), defName, ctx);
    default:
      return NOT_SPECIAL;
  }
}

/** The payload of a RawExtension/FieldsV1: JSON as written, or a nested protobuf object. */
function embeddedJson(raw: Buffer, defName: string, ctx: Ctx): JsonValue | undefined {
  if (raw.length === 0) return undefined;
  if (raw.length >= 4 && raw.subarray(0, 4).equals(MAGIC)) return decodeEnvelope(raw, { defs: ctx.defs, depth: ctx.depth + 1 }).object;
  try {
    return JSON.parse(utf8(raw)) as JsonValue;
  } catch {
    throw malformed(`${defName} does not hold JSON`);
  }
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function formatTime(seconds: number, nanos: number, micro: boolean): string {
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) throw malformed(`timestamp ${seconds} out of range`);
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) throw malformed(`timestamp ${seconds} out of range`);
  const base = `${pad(y, 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
  return micro ? `${base}.${pad(Math.floor(nanos / 1000), 6)}Z` : `${base}Z`;
}

/** Go's time.Duration String(): 1h2m3.5s, 1.5ms, 0s. */
export function formatDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = Math.abs(ns);
  const trim = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  let out: string;
  if (u < 1e3) out = `${u}ns`;
  else if (u < 1e6) out = `${trim((u / 1e3).toFixed(3))}µs`;
  else if (u < 1e9) out = `${trim((u / 1e6).toFixed(6))}ms`;
  else {
    const h = Math.floor(u / 3.6e12);
    u -= h * 3.6e12;
    const m = Math.floor(u / 6e10);
    u -= m * 6e10;
    const s = trim((u / 1e9).toFixed(9)) + 's';
    out = h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
  }
  return neg ? `-${out}` : out;
}

// ---------------------------------------------------------------------------------------------------------
// The envelope

function decodeEnvelope(body: Buffer, ctx: Ctx): DecodedProtobuf {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw malformed('missing the "k8s\\0" prefix');
  let apiVersion = '';
  let kind = '';
  const raw: Buffer[] = [];
  let contentEncoding = '';
  let contentType = '';
  const r = new Reader(body, 4);
  while (!r.done()) {
    const tag = r.uint();
    const num = tag >>> 3;
    const wire = tag & 7;
    if (num >= 1 && num <= 4 && wire !== BYTES) throw malformed(`envelope field ${num}: wire type ${wire}`);
    switch (num) {
      case 1: {
        const tm = fieldsOf(r.take(r.uint()), { 1: 'string', 2: 'string' }, 'TypeMeta');
        apiVersion = String(tm.get(1) ?? apiVersion);
        kind = String(tm.get(2) ?? kind);
        break;
      }
      case 2:
        raw.push(r.take(r.uint()));
        break;
      case 3:
        contentEncoding = utf8(r.take(r.uint()));
        break;
      case 4:
        contentType = utf8(r.take(r.uint()));
        break;
      default:
        if (num === 0) throw malformed('field number 0 in the envelope');
        r.skip(wire);
    }
  }
  if (contentEncoding !== '') throw malformed(`content encoding ${JSON.stringify(contentEncoding)} is not supported`);
  if (contentType !== '' && contentType !== PROTOBUF_MEDIA_TYPE) throw malformed(`embedded content type ${JSON.stringify(contentType)} is not supported`);
  if (!kind) throw malformed('Object \'Kind\' is missing');
  const defName = protobufDefinitionName(apiVersion, kind);
  if (!defName) throw badRequest(`no kind "${kind}" is registered for version "${apiVersion}"`);
  const decoded = decodeMessage(defName, raw.length === 1 ? raw[0] : Buffer.concat(raw), ctx);
  const fields = decoded !== null && typeof decoded === 'object' && !Array.isArray(decoded) ? decoded : {};
  return { apiVersion, kind, object: { apiVersion, kind, ...fields } };
}

/**
 * Decodes a `application/vnd.kubernetes.protobuf` body (magic "k8s\0" + runtime.Unknown) into its apiVersion,
 * kind and the object in JSON form. Malformed input throws a 400 StatusError.
 */
export function decodeProtobufObject(body: Buffer): DecodedProtobuf {
  return decodeEnvelope(body, { defs: protoTable(), depth: 0 });
}

/** Decodes one message (no envelope) of the given proto.json definition into its JSON form. */
export function decodeProtobufMessage(defName: string, bytes: Buffer): JsonValue | undefined {
  return decodeMessage(defName, bytes, { defs: protoTable(), depth: 0 });
}
