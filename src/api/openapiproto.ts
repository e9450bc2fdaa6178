import type { JsonObject, JsonValue } from './object.js';

// The OpenAPI v2 document in the protobuf form kubectl asks for (`Accept:
// application/com.github.proto-openapi.spec.v2@v1.0+protobuf`): the `openapi.v2.Document` message of
// google/gnostic's OpenAPIv2.proto, encoded from the swagger JSON. kubectl validates a `kind: List` (and
// anything whose PATCH operation lacks the fieldValidation parameter) client-side against this document's
// definitions, so each definition must survive kube-openapi's parser: a single `type`, exactly one schema
// under `items`, every `$ref` resolvable. Values gnostic keeps as free-form (vendor extensions, default,
// enum, example) travel as YAML text in `Any.yaml`; JSON is valid YAML, so they are written as JSON.

/** The Content-Type of the answer. kubectl asks with an `@` in the subtype, which is not a valid media type
 *  character (client-go's mime parser rejects it in a response), so the answer uses the dotted spelling. */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/** Whether an Accept header asks for the protobuf v2 document (both spellings kube-apiserver answers). */
export function acceptsOpenapiV2Protobuf(accept: string | undefined): boolean {
  return /application\/com\.github\.proto-openapi\.spec\.v2[@.]v1\.0\+protobuf/.test(accept ?? '');
}

// ---- wire format -----------------------------------------------------------------------------------------

const VARINT = 0;
const FIXED64 = 1;
const BYTES = 2;

function varint(n: bigint): Buffer {
  // Negative int64 values take ten bytes: their two's complement as an unsigned 64-bit number.
  let v = n < 0n ? (1n << 64n) + n : n;
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

function key(field: number, wire: number): Buffer {
  return varint(BigInt((field << 3) | wire));
}

/** A message under construction: fields appended in order, encoded once at the end. */
class Msg {
  private readonly parts: Buffer[] = [];

  bytes(field: number, b: Buffer): this {
    this.parts.push(key(field, BYTES), varint(BigInt(b.length)), b);
    return this;
  }

  string(field: number, v: JsonValue | undefined): this {
    // proto3 leaves out empty strings; so does gnostic.
    if (typeof v === 'string' && v !== '') this.bytes(field, Buffer.from(v, 'utf8'));
    return this;
  }

  strings(field: number, v: JsonValue | undefined): this {
    if (Array.isArray(v)) for (const s of v) if (typeof s === 'string') this.bytes(field, Buffer.from(s, 'utf8'));
    return this;
  }

  bool(field: number, v: JsonValue | undefined): this {
    if (v === true) this.parts.push(key(field, VARINT), Buffer.from([1]));
    return this;
  }

  int64(field: number, v: JsonValue | undefined): this {
    if (typeof v === 'number' && Number.isInteger(v) && v !== 0) this.parts.push(key(field, VARINT), varint(BigInt(v)));
    return this;
  }

  double(field: number, v: JsonValue | undefined): this {
    if (typeof v !== 'number' || v === 0) return this;
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    this.parts.push(key(field, FIXED64), b);
    return this;
  }

  message(field: number, m: Msg | undefined): this {
    if (m) this.bytes(field, m.encode());
    return this;
  }

  encode(): Buffer {
    return Buffer.concat(this.parts);
  }
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---- messages --------------------------------------------------------------------------------------------

/** `Any`: a free-form value as YAML text (field 2). */
function any(v: JsonValue): Msg {
  return new Msg().string(2, `${JSON.stringify(v)}\n`);
}

/** `repeated NamedAny vendor_extension`: every `x-` key of a JSON object, in its order. */
function extensions(m: Msg, field: number, o: JsonObject): Msg {
  for (const [k, v] of Object.entries(o)) if (k.startsWith('x-') && v !== undefined) m.message(field, new Msg().string(1, k).message(2, any(v)));
  return m;
}

/** A map as a repeated (name, value) message, in the JSON's key order. */
function named(m: Msg, field: number, o: JsonValue | undefined, value: (v: JsonValue) => Msg | undefined): Msg {
  if (isObject(o)) for (const [k, v] of Object.entries(o)) m.message(field, new Msg().string(1, k).message(2, value(v)));
  return m;
}

function schema(s: JsonValue): Msg {
  const m = new Msg();
  if (!isObject(s)) return m;
  m.string(1, s.$ref).string(2, s.format).string(3, s.title).string(4, s.description);
  if (s.default !== undefined) m.message(5, any(s.default));
  m.double(6, s.multipleOf).double(7, s.maximum).bool(8, s.exclusiveMaximum).double(9, s.minimum).bool(10, s.exclusiveMinimum);
  m.int64(11, s.maxLength).int64(12, s.minLength).string(13, s.pattern).int64(14, s.maxItems).int64(15, s.minItems).bool(16, s.uniqueItems);
  m.int64(17, s.maxProperties).int64(18, s.minProperties).strings(19, s.required);
  if (Array.isArray(s.enum)) for (const e of s.enum) m.message(20, any(e));
  if (s.additionalProperties !== undefined) {
    const ap = s.additionalProperties;
    m.message(21, typeof ap === 'boolean' ? new Msg().bool(2, ap) : new Msg().message(1, schema(ap)));
  }
  if (s.type !== undefined) m.message(22, new Msg().strings(1, Array.isArray(s.type) ? s.type : [s.type]));
  if (s.items !== undefined) {
    const items = new Msg();
    for (const i of Array.isArray(s.items) ? s.items : [s.items]) items.message(1, schema(i));
    m.message(23, items);
  }
  if (Array.isArray(s.allOf)) for (const a of s.allOf) m.message(24, schema(a));
  if (s.properties !== undefined) m.message(25, named(new Msg(), 1, s.properties, schema));
  m.string(26, s.discriminator).bool(27, s.readOnly);
  if (isObject(s.externalDocs)) m.message(29, externalDocs(s.externalDocs));
  if (s.example !== undefined) m.message(30, any(s.example));
  return extensions(m, 31, s);
}

function externalDocs(o: JsonObject): Msg {
  return extensions(new Msg().string(1, o.description).string(2, o.url), 3, o);
}

/** The fields every non-body parameter shares, after its own leading ones (see nonBodyParameter). */
function primitiveFields(m: Msg, first: number, p: JsonObject): Msg {
  let f = first;
  m.string(f++, p.type).string(f++, p.format);
  if (isObject(p.items)) m.message(f, primitivesItems(p.items));
  f++;
  m.string(f++, p.collectionFormat);
  if (p.default !== undefined) m.message(f, any(p.default));
  f++;
  m.double(f++, p.maximum).bool(f++, p.exclusiveMaximum).double(f++, p.minimum).bool(f++, p.exclusiveMinimum);
  m.int64(f++, p.maxLength).int64(f++, p.minLength).string(f++, p.pattern).int64(f++, p.maxItems).int64(f++, p.minItems).bool(f++, p.uniqueItems);
  if (Array.isArray(p.enum)) for (const e of p.enum) m.message(f, any(e));
  f++;
  m.double(f++, p.multipleOf);
  return extensions(m, f, p);
}

function primitivesItems(p: JsonObject): Msg {
  return primitiveFields(new Msg(), 1, p);
}

function nonBodyParameter(p: JsonObject): Msg {
  const m = new Msg().bool(1, p.required).string(2, p.in).string(3, p.description).string(4, p.name);
  // Query and formData parameters have allowEmptyValue as field 5, which shifts the rest by one.
  const withEmpty = p.in === 'query' || p.in === 'formData';
  if (withEmpty) m.bool(5, p.allowEmptyValue);
  primitiveFields(m, withEmpty ? 6 : 5, p);
  const which = { header: 1, formData: 2, query: 3, path: 4 }[String(p.in)] ?? 3;
  return new Msg().message(which, m);
}

/** `Parameter`: a body parameter (1) or any other (2). */
function parameter(p: JsonObject): Msg {
  if (p.in !== 'body') return new Msg().message(2, nonBodyParameter(p));
  const body = new Msg().string(1, p.description).string(2, p.name).string(3, p.in).bool(4, p.required);
  if (p.schema !== undefined) body.message(5, schema(p.schema));
  return new Msg().message(1, extensions(body, 6, p));
}

/** `ParametersItem`: a parameter (1) or a reference to a shared one (2). */
function parametersItem(p: JsonValue): Msg {
  if (!isObject(p)) return new Msg();
  if (typeof p.$ref === 'string') return new Msg().message(2, new Msg().string(1, p.$ref).string(2, p.description));
  return new Msg().message(1, parameter(p));
}

function response(r: JsonObject): Msg {
  const m = new Msg().string(1, r.description);
  if (r.schema !== undefined) m.message(2, new Msg().message(1, schema(r.schema)));
  return extensions(m, 5, r);
}

/** `ResponseValue`: a response (1) or a reference to a shared one (2). */
function responseValue(r: JsonValue): Msg {
  if (!isObject(r)) return new Msg();
  if (typeof r.$ref === 'string') return new Msg().message(2, new Msg().string(1, r.$ref));
  return new Msg().message(1, response(r));
}

function operation(o: JsonValue): Msg | undefined {
  if (!isObject(o)) return undefined;
  const m = new Msg().strings(1, o.tags).string(2, o.summary).string(3, o.description);
  if (isObject(o.externalDocs)) m.message(4, externalDocs(o.externalDocs));
  m.string(5, o.operationId).strings(6, o.produces).strings(7, o.consumes);
  if (Array.isArray(o.parameters)) for (const p of o.parameters) m.message(8, parametersItem(p));
  if (isObject(o.responses)) m.message(9, extensions(named(new Msg(), 1, Object.fromEntries(Object.entries(o.responses).filter(([k]) => !k.startsWith('x-'))), responseValue), 2, o.responses));
  m.strings(10, o.schemes).bool(11, o.deprecated);
  if (Array.isArray(o.security)) for (const s of o.security) m.message(12, securityRequirement(s));
  return extensions(m, 13, o);
}

const VERBS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;

function pathItem(p: JsonValue): Msg {
  const m = new Msg();
  if (!isObject(p)) return m;
  m.string(1, p.$ref);
  VERBS.forEach((verb, i) => m.message(i + 2, operation(p[verb])));
  if (Array.isArray(p.parameters)) for (const prm of p.parameters) m.message(9, parametersItem(prm));
  return extensions(m, 10, p);
}

function securityRequirement(s: JsonValue): Msg {
  return named(new Msg(), 1, s, (v) => new Msg().strings(1, v));
}

function securityDefinition(d: JsonValue): Msg {
  const m = new Msg();
  if (!isObject(d)) return m;
  if (d.type === 'basic') return m.message(1, extensions(new Msg().string(1, d.type).string(2, d.description), 3, d));
  if (d.type === 'apiKey') return m.message(2, extensions(new Msg().string(1, d.type).string(2, d.name).string(3, d.in).string(4, d.description), 5, d));
  return m;
}

/** Encode a swagger 2.0 document (as JSON) as an `openapi.v2.Document` message. */
export function encodeOpenapiV2(doc: JsonObject): Buffer {
  const m = new Msg().string(1, doc.swagger);
  if (isObject(doc.info)) {
    const i = doc.info;
    m.message(2, extensions(new Msg().string(1, i.title).string(2, i.version).string(3, i.description).string(4, i.termsOfService), 7, i));
  }
  m.string(3, doc.host).string(4, doc.basePath).strings(5, doc.schemes).strings(6, doc.consumes).strings(7, doc.produces);
  if (isObject(doc.paths)) {
    const paths = extensions(new Msg(), 1, doc.paths);
    for (const [p, item] of Object.entries(doc.paths)) if (!p.startsWith('x-')) paths.message(2, new Msg().string(1, p).message(2, pathItem(item)));
    m.message(8, paths);
  }
  if (isObject(doc.definitions)) m.message(9, named(new Msg(), 1, doc.definitions, schema));
  if (isObject(doc.parameters)) m.message(10, named(new Msg(), 1, doc.parameters, (p) => (isObject(p) ? parameter(p) : undefined)));
  if (isObject(doc.responses)) m.message(11, named(new Msg(), 1, doc.responses, (r) => (isObject(r) ? response(r) : undefined)));
  if (Array.isArray(doc.security)) for (const s of doc.security) m.message(12, securityRequirement(s));
  if (isObject(doc.securityDefinitions)) m.message(13, named(new Msg(), 1, doc.securityDefinitions, securityDefinition));
  return extensions(m, 16, doc).encode();
}
