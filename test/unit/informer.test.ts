import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/object.js';
import { resource, type RestClient, type WatchHandle } from '../../src/client/rest.js';
import { Informer } from '../../src/client/informer.js';

// The informer's cache and indices as watch events move objects between index values.

type Emit = (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject) => void;

/** A client whose list is empty and whose one watch is driven by the test. */
function fakeClient(): { client: RestClient; watching: Promise<Emit> } {
  let resolve!: (emit: Emit) => void;
  const watching = new Promise<Emit>((r) => (resolve = r));
  const client = {
    list: () => Promise.resolve({ apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: '1' }, items: [] }),
    watch: (_info: unknown, _ns: unknown, _opts: unknown, onEvent: (ev: { type: string; object: KubeObject }) => void): WatchHandle => {
      let end!: () => void;
      const done = new Promise<void>((r) => (end = r));
      resolve((type, object) => onEvent({ type, object }));
      return { done, stop: end };
    },
  };
  return { client: client as unknown as RestClient, watching };
}

function pod(name: string, rv: string, node: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'ns', resourceVersion: rv }, spec: { nodeName: node } };
}

test('indices follow updates that move an object, and drop values nothing has any more', async () => {
  const { client, watching } = fakeClient();
  const inf = new Informer(client, resource('', 'v1', 'pods'));
  inf.addIndexer('node', (o) => [String((o.spec as { nodeName: string }).nodeName)]);
  inf.start();
  await inf.waitForSync();
  const emit = await watching;
  emit('ADDED', pod('a', '2', 'n1'));
  emit('ADDED', pod('b', '3', 'n1'));
  assert.deepEqual(inf.byIndex('node', 'n1').map((o) => o.metadata.name).sort(), ['a', 'b']);
  emit('MODIFIED', pod('a', '4', 'n1'));
  assert.equal(inf.byIndex('node', 'n1').find((o) => o.metadata.name === 'a')?.metadata.resourceVersion, '4');
  emit('MODIFIED', pod('a', '5', 'n2'));
  assert.deepEqual(inf.byIndex('node', 'n1').map((o) => o.metadata.name), ['b']);
  assert.deepEqual(inf.byIndex('node', 'n2').map((o) => o.metadata.name), ['a']);
  emit('DELETED', pod('b', '6', 'n1'));
  assert.equal(inf.hasIndexed('node', 'n1'), false);
  assert.equal(inf.hasIndexed('node', 'n2'), true);
  assert.equal(inf.hasIndexed('namespace', 'ns'), true);
  emit('DELETED', pod('a', '7', 'n2'));
  assert.equal(inf.hasIndexed('namespace', 'ns'), false);
  await inf.stop();
});
