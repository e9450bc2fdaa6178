import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openapiV2, openapiV2Protobuf } from '../../src/api/openapi.js';
import { acceptsOpenapiV2Protobuf, encodeOpenapiV2 } from '../../src/api/openapiproto.js';

// The protobuf OpenAPI v2 document kubectl downloads to validate a `kind: List` client-side, read back with
// a decoder written here from the wire format and gnostic's OpenAPIv2.proto field numbers.

type Fields = Map<number, Array<bigint | Buffer>>;

function decode(buf: Buffer): Fields {
  const out: Fields = new Map();
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const k = Number(varint());
    const field = k >> 3;
    let value: bigint | Buffer;
    switch (k & 7) {
      case 0:
        value = varint();
        break;
      case 1:
        value = buf.subarray(i, i + 8);
        i += 8;
        break;
      case 2: {
        const len = Number(varint());
        value = buf.subarray(i, i + len);
        i += len;
        break;
      }
      default:
        throw new Error(`unexpected wire type ${k & 7} at ${i}`);
    }
    if (!out.has(field)) out.set(field, []);
    out.get(field)!.push(value);
  }
  return out;
}

const msgs = (f: Fields, n: number) => (f.get(n) ?? []).map((b) => decode(b as Buffer));
const msg = (f: Fields, n: number) => msgs(f, n)[0];
const strs = (f: Fields, n: number) => (f.get(n) ?? []).map((b) => (b as Buffer).toString('utf8'));
const str = (f: Fields | undefined, n: number) => (f ? strs(f, n)[0] : undefined);
/** A repeated (name = 1, value = 2) message as a map. */
const named = (f: Fields | undefined, n: number) => new Map((f ? msgs(f, n) : []).map((e) => [str(e, 1)!, msg(e, 2)!]));
/** Vendor extensions: name → the value gnostic keeps as YAML text (Any.yaml = 2). */
const extensions = (f: Fields, n: number) => new Map(msgs(f, n).map((e) => [str(e, 1)!, JSON.parse(str(msg(e, 2), 2)!) as unknown]));

const doc = decode(openapiV2Protobuf().body);
const definitions = named(msg(doc, 9), 1);

test('the document is swagger 2.0 with every definition of the JSON form', () => {
  assert.equal(str(doc, 1), '2.0');
  const json = JSON.parse(openapiV2().body) as { definitions: Record<string, unknown>; paths: Record<string, unknown> };
  assert.deepEqual([...definitions.keys()].sort(), Object.keys(json.definitions).sort());
  assert.equal(named(msg(doc, 8), 2).size, Object.keys(json.paths).length);
  assert.equal(str(msg(doc, 2), 1), 'Kubernetes');
});

test('a kind\'s definition: type, properties, required, GVK and patch extensions', () => {
  const cm = definitions.get('io.k8s.api.core.v1.ConfigMap')!;
  assert.deepEqual(strs(msg(cm, 22)!, 1), ['object']);
  assert.deepEqual(extensions(cm, 31).get('x-kubernetes-group-version-kind'), [{ group: '', kind: 'ConfigMap', version: 'v1' }]);
  const props = named(msg(cm, 25), 1);
  const data = props.get('data')!;
  assert.deepEqual(strs(msg(data, 22)!, 1), ['object']);
  assert.deepEqual(strs(msg(msg(msg(data, 21)!, 1)!, 22)!, 1), ['string'], 'data is a map of strings (additionalProperties)');
  assert.equal(str(props.get('metadata'), 1), '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');

  const spec = definitions.get('io.k8s.api.core.v1.PodSpec')!;
  assert.ok(strs(spec, 19).includes('containers'), 'required fields');
  const containers = named(msg(spec, 25), 1).get('containers')!;
  assert.deepEqual(strs(msg(containers, 22)!, 1), ['array']);
  assert.equal(msgs(msg(containers, 23)!, 1).length, 1, 'exactly one items schema');
  const ext = extensions(containers, 31);
  assert.equal(ext.get('x-kubernetes-patch-merge-key'), 'name');
  assert.equal(ext.get('x-kubernetes-patch-strategy'), 'merge');
});

test('every definition is one kube-openapi can parse: one type, one items schema, resolvable refs', () => {
  const problems: string[] = [];
  const check = (s: Fields, path: string) => {
    const types = msg(s, 22) ? strs(msg(s, 22)!, 1) : [];
    const ref = str(s, 1);
    if (types.length > 1) problems.push(`${path}: several types`);
    if (ref) {
      const target = ref.replace('#/definitions/', '');
      if (!definitions.has(target)) problems.push(`${path}: dangling ${ref}`);
      if (types.length) problems.push(`${path}: $ref with a type`);
    }
    if (types[0] === 'array') {
      const items = msg(s, 23) ? msgs(msg(s, 23)!, 1) : [];
      if (items.length !== 1) problems.push(`${path}: ${items.length} items schemas`);
      items.forEach((i) => check(i, `${path}[]`));
    }
    for (const [k, v] of named(msg(s, 25), 1)) check(v, `${path}.${k}`);
    const ap = msg(s, 21);
    if (ap && msg(ap, 1)) check(msg(ap, 1)!, `${path}{}`);
  };
  for (const [name, s] of definitions) check(s, name);
  assert.deepEqual(problems, []);
});

test('operations keep their parameters, responses and GVK', () => {
  const item = named(msg(doc, 8), 2).get('/apis/apps/v1/namespaces/{namespace}/deployments/{name}')!;
  const patch = msg(item, 8)!;
  assert.equal(str(patch, 5), 'patchAppsV1NamespacedDeployment');
  assert.deepEqual(extensions(patch, 13).get('x-kubernetes-group-version-kind'), { group: 'apps', kind: 'Deployment', version: 'v1' });
  const params = msgs(patch, 8).map((p) => msg(p, 1)!);
  const body = params.map((p) => msg(p, 1)).find(Boolean)!;
  assert.equal(str(body, 3), 'body');
  const query = params.map((p) => msg(p, 2)).filter(Boolean).map((nb) => msg(nb!, 3)).filter(Boolean);
  assert.ok(query.some((q) => str(q, 4) === 'fieldValidation' && str(q, 2) === 'query' && str(q, 6) === 'string'));
  const responses = named(msg(patch, 9), 1);
  const ok = msg(responses.get('200')!, 1)!; // ResponseValue → Response
  const schemaItem = msg(ok, 2)!; // Response → SchemaItem
  assert.equal(str(msg(schemaItem, 1), 1), '#/definitions/io.k8s.api.apps.v1.Deployment');
  const pathParams = msgs(item, 9).map((p) => msg(msg(p, 1)!, 2)).filter(Boolean).map((nb) => msg(nb!, 4)).filter(Boolean);
  assert.ok(pathParams.some((p) => str(p, 4) === 'name' && str(p, 2) === 'path'), 'path parameters are PathParameterSubSchema');
});

test('scalars: doubles, negative int64, booleans and free-form values', () => {
  const buf = encodeOpenapiV2({ swagger: '2.0', definitions: { X: { type: 'integer', minimum: -1.5, maxLength: -2, uniqueItems: true, default: { a: [1] }, enum: ['a', 'b'] } } });
  const x = named(msg(decode(buf), 9), 1).get('X')!;
  assert.equal((x.get(9)![0] as Buffer).readDoubleLE(), -1.5);
  assert.equal(BigInt.asIntN(64, x.get(11)![0] as bigint), -2n);
  assert.equal(x.get(16)![0], 1n);
  assert.deepEqual(JSON.parse(str(msg(x, 5), 2)!), { a: [1] });
  assert.deepEqual(msgs(x, 20).map((e) => JSON.parse(str(e, 2)!) as unknown), ['a', 'b']);
});

test('content negotiation accepts both spellings kubectl and kube-apiserver use', () => {
  assert.ok(acceptsOpenapiV2Protobuf('application/com.github.proto-openapi.spec.v2@v1.0+protobuf'));
  assert.ok(acceptsOpenapiV2Protobuf('application/com.github.proto-openapi.spec.v2.v1.0+protobuf'));
  assert.ok(!acceptsOpenapiV2Protobuf('application/json'));
  assert.ok(!acceptsOpenapiV2Protobuf(undefined));
});
