import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.js';
import { decodeStored, encodeStored, metadataBody, storedJson } from '../../src/apiserver/registry/stored.js';

// The JSON a watcher receives is spliced from the stored text: whatever the object holds, it must parse to
// exactly the object a decode gives, resourceVersion included.

function sameAsDecoded(text: string, revision: number): void {
  const json = storedJson(text, revision);
  assert.deepEqual(JSON.parse(json), decodeStored(text, revision));
  assert.equal((JSON.parse(json) as KubeObject).metadata.resourceVersion, String(revision));
}

function obj(o: Record<string, unknown>): KubeObject {
  return o as unknown as KubeObject;
}

test('the encoder leads with apiVersion, kind and metadata, without the resourceVersion', () => {
  const text = encodeStored(obj({ spec: { a: 1 }, metadata: { name: 'x', resourceVersion: '7' }, kind: 'Pod', apiVersion: 'v1' }));
  assert.equal(text, '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"a":1}}');
  assert.equal(metadataBody(text), text.indexOf('"name"'));
  sameAsDecoded(text, 8);
});

test('empty metadata, metadata only, no apiVersion or kind', () => {
  sameAsDecoded(encodeStored(obj({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} })), 3);
  assert.equal(storedJson('{"metadata":{}}', 3), '{"metadata":{"resourceVersion":"3"}}');
  assert.equal(storedJson('{"metadata":{"name":"a"}}', 12), '{"metadata":{"resourceVersion":"12","name":"a"}}');
  sameAsDecoded(encodeStored(obj({ metadata: { name: 'a', labels: { x: 'y' } }, data: { k: 'v' } })), 5);
});

test('unicode and escapes in the strings before and inside metadata', () => {
  const tricky = ['é∑😀', 'line\u2028sep', 'quote"metadata":{"x', 'back\\', 'back\\"metadata":{', '\\\\"', '\u0000\u001f', '"metadata":{'];
  for (const s of tricky) {
    sameAsDecoded(encodeStored(obj({ apiVersion: s, kind: s, metadata: { name: s, annotations: { [s]: s } }, spec: { [s]: s } })), 42);
    const text = encodeStored(obj({ apiVersion: 'v1', kind: s, metadata: { name: 'n' } }));
    assert.equal(metadataBody(text), text.lastIndexOf('"name"'), JSON.stringify(s));
  }
});

test('metadata behind a non-string value, or text not in the encoder\'s form, still decodes exactly', () => {
  const texts = [
    '{"spec":{"metadata":{"name":"inner"}},"metadata":{"name":"outer"}}',
    '{"apiVersion":"v1","count":3,"metadata":{"name":"a"}}',
    '{"apiVersion":"v1","list":["x"],"metadata":{"name":"a"}}',
    '{ "apiVersion": "v1", "metadata": { "name": "a" } }',
    '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{}}',
  ];
  for (const t of texts) sameAsDecoded(t, 9);
  assert.equal(metadataBody(texts[0]), -1);
  assert.equal(metadataBody(texts[1]), -1);
  assert.equal(metadataBody(texts[3]), -1);
});

test('a resourceVersion already in the text: the store\'s revision wins, as in a decode', () => {
  sameAsDecoded('{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","resourceVersion":"1"}}', 9);
  sameAsDecoded('{"apiVersion":"v1","kind":"Pod","metadata":{"resourceVersion":"1"}}', 9);
  // An Event's involvedObject carries one too.
  sameAsDecoded(encodeStored(obj({ apiVersion: 'v1', kind: 'Event', metadata: { name: 'e' }, involvedObject: { kind: 'Pod', resourceVersion: '4' } })), 9);
});

test('random objects: the spliced text parses to the decoded object', () => {
  let seed = 1;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const strings = ['', 'a', '"', '\\', '"metadata":{', 'ü', '😀', '{', '}', 'resourceVersion'];
  const value = (depth: number): unknown => {
    switch (rand(depth > 2 ? 4 : 6)) {
      case 0:
        return strings[rand(strings.length)] + strings[rand(strings.length)];
      case 1:
        return rand(1000) - 500;
      case 2:
        return rand(2) === 0 ? null : true;
      case 3:
        return strings[rand(strings.length)];
      case 4:
        return Array.from({ length: rand(3) }, () => value(depth + 1));
      default:
        return Object.fromEntries(Array.from({ length: rand(4) }, () => [strings[rand(strings.length)] + rand(5), value(depth + 1)]));
    }
  };
  for (let i = 0; i < 500; i++) {
    const o: Record<string, unknown> = { metadata: value(1) as Record<string, unknown> };
    if (typeof o.metadata !== 'object' || o.metadata === null || Array.isArray(o.metadata)) o.metadata = {};
    if (rand(2)) o.apiVersion = value(3);
    if (rand(2)) o.kind = value(3);
    o.spec = value(1);
    sameAsDecoded(encodeStored(obj(o)), 1 + rand(10_000));
    sameAsDecoded(JSON.stringify(o), 1 + rand(10_000));
  }
});
