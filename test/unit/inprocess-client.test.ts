import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePki } from '../../src/apiserver/pki.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { openStore } from '../../src/storage/open.js';
import { WatchCache } from '../../src/storage/watchcache.js';
import { RestClient, resource, type ClientConfig, type WatchEvent } from '../../src/client/rest.js';
import { StatusError } from '../../src/api/errors.js';
import type { KubeObject } from '../../src/api/object.js';
import { waitFor } from '../helpers/cluster.js';
import { MessageChannel } from 'node:worker_threads';
import { PortPipe } from '../../src/client/portpipe.js';

// Components inside `kite server` reach its API server over in-process connections (ClientConfig.connect):
// the same HTTP handling as over HTTPS, and a client or server that closes ends every request at once. Both
// kinds are checked: memory pipes (components on the API server's thread, the node agent) and ports between
// threads (the control plane's worker; a MessageChannel in one thread behaves the same).

const CONFIGMAPS = resource('', 'v1', 'configmaps');
const NAMESPACES = resource('', 'v1', 'namespaces');

/** Fails unless `p` settles before the deadline (resolved or rejected alike). */
async function settles(what: string, p: Promise<unknown>, timeoutMs = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not end`)), timeoutMs)));
  try {
    await Promise.race([p.then(() => undefined, () => undefined), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Connections as the control plane's worker opens them: one MessageChannel each, the server's end accepted. */
function overPorts(api: ApiServer): () => PortPipe {
  return () => {
    const channel = new MessageChannel();
    api.accept(new PortPipe(channel.port2));
    return new PortPipe(channel.port1);
  };
}

for (const [transport, connectTo] of [
  ['memory pipes', (api: ApiServer) => api.connect],
  ['ports between threads', overPorts],
] as const) describe(`in-process API client over ${transport}`, () => {
  let dir: string;
  let store: WatchCache;
  let api: ApiServer;
  let config: ClientConfig;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kite-inprocess-'));
    const pki = await ensurePki(join(dir, 'tls'));
    store = new WatchCache(await openStore({ dataDir: dir }));
    api = await startApiServer({ store, pki, port: 0, bindAddress: '127.0.0.1', serviceCidr: '10.43.0.0/16', nodePortRange: { min: 30000, max: 32767 } });
    config = { server: api.url, caPem: pki.caCertPem, token: pki.token, connect: connectTo(api) };
  });

  after(async () => {
    await api.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gets, lists, creates, patches and reports errors as over HTTPS', async () => {
    const client = new RestClient({ ...config, userAgent: 'inprocess-test' });
    try {
      assert.equal((await client.get(NAMESPACES, undefined, 'default')).metadata.name, 'default');
      const names = (await client.list(NAMESPACES)).items.map((n) => n.metadata.name);
      assert.ok(names.includes('kube-system'), names.join(','));
      const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { k: 'v' } };
      const created = await client.create(CONFIGMAPS, 'default', cm);
      assert.equal(created.metadata.managedFields?.[0]?.manager, 'inprocess-test');
      const patched = await client.patch(CONFIGMAPS, 'default', 'a', 'merge', { data: { k: 'w' } });
      assert.deepEqual(patched.data, { k: 'w' });
      await assert.rejects(client.get(CONFIGMAPS, 'default', 'missing'), (e: unknown) => e instanceof StatusError && e.code === 404);
      await assert.rejects(client.create(CONFIGMAPS, 'default', cm), (e: unknown) => e instanceof StatusError && e.code === 409);
    } finally {
      client.close();
    }
  });

  it('authenticates with the configured token, and not without one', async () => {
    const client = new RestClient(config);
    const anonymous = new RestClient({ ...config, token: undefined });
    try {
      const review = await client.request<{ status: { userInfo: { username: string } } }>('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'SelfSubjectReview',
      });
      assert.equal(review.status.userInfo.username, 'system:admin');
      await assert.rejects(anonymous.list(NAMESPACES), (e: unknown) => e instanceof StatusError && e.code === 401);
    } finally {
      client.close();
      anonymous.close();
    }
  });

  it('watches, and close() ends the watch and requests in flight', async () => {
    const client = new RestClient(config);
    const rv = (await client.list(CONFIGMAPS, 'default')).metadata.resourceVersion;
    const events: WatchEvent[] = [];
    const watch = client.watch(CONFIGMAPS, 'default', { resourceVersion: rv }, (ev) => events.push(ev));
    await client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'watched' } });
    await client.patch(CONFIGMAPS, 'default', 'watched', 'merge', { data: { x: '1' } });
    await waitFor('ADDED then MODIFIED', async () => events.filter((e) => e.object.metadata.name === 'watched').length >= 2, 10_000, 10);
    assert.deepEqual(
      events.filter((e) => e.object.metadata.name === 'watched').map((e) => e.type),
      ['ADDED', 'MODIFIED'],
    );
    // A watch read as one plain request never finishes by itself: it stays in flight until close().
    const inFlight = client.request('GET', '/api/v1/namespaces/default/configmaps?watch=true');
    client.close();
    await assert.rejects(inFlight);
    await settles('the watch', watch.done);
    await assert.rejects(client.list(CONFIGMAPS), /closed/);
  });

  it('carries responses far larger than any buffer whole', async () => {
    const client = new RestClient(config);
    try {
      const big = 'x'.repeat(900_000);
      for (let i = 0; i < 6; i++) await client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `big-${i}` }, data: { v: big } });
      const listed = (await client.list(CONFIGMAPS, 'default')).items.filter((c) => c.metadata.name?.startsWith('big-'));
      assert.equal(listed.length, 6);
      for (const c of listed) assert.equal((c.data as { v: string }).v, big);
    } finally {
      client.close();
    }
  });

  it('api.close() ends in-process connections and refuses new ones', async () => {
    const client = new RestClient(config);
    try {
      const watch = client.watch(CONFIGMAPS, undefined, {}, () => undefined);
      const listed = await client.list(NAMESPACES);
      assert.ok(listed.items.length > 0);
      await settles('api.close()', api.close());
      await settles('the watch', watch.done);
      await assert.rejects(client.list(NAMESPACES), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET');
    } finally {
      client.close();
    }
  });
});

describe('PortPipe', () => {
  function pair(): [PortPipe, PortPipe] {
    const channel = new MessageChannel();
    return [new PortPipe(channel.port1), new PortPipe(channel.port2)];
  }

  it('holds a writer back while the reader does not read, then delivers every byte in order', async () => {
    const keepAlive = setInterval(() => undefined, 1000); // the pipe's ports never hold the event loop
    const [a, b] = pair();
    b.pause();
    const chunk = Buffer.alloc(64 * 1024);
    const total = 8 * 1024 * 1024;
    let accepted = 0;
    // As node:http writes a response: wait for 'drain' whenever write() asks to.
    const writer = (async () => {
      for (let at = 0; at < total; at += chunk.length) {
        const ok = a.write(Buffer.alloc(chunk.length, at / chunk.length));
        accepted += chunk.length;
        if (!ok) await new Promise<void>((resolve) => a.once('drain', resolve));
      }
      a.end();
    })();
    await waitFor('the reader to fill its buffer', async () => b.readableLength >= b.readableHighWaterMark, 10_000, 5);
    assert.ok(accepted < 2 * 1024 * 1024, `the writer got ${accepted} bytes out while nothing was read`);
    const received: Buffer[] = [];
    b.on('data', (d: Buffer) => received.push(d));
    b.resume();
    await new Promise<void>((resolve) => b.once('end', resolve));
    await writer;
    const all = Buffer.concat(received);
    assert.equal(all.length, total);
    for (let i = 0; i < total / chunk.length; i++) assert.equal(all[i * chunk.length], i % 256, `chunk ${i}`);
    a.destroy();
    clearInterval(keepAlive);
  });

  it('ending one side is EOF on the other; destroying one resets the other', async () => {
    const keepAlive = setInterval(() => undefined, 1000);
    const [a, b] = pair();
    const got: string[] = [];
    b.on('data', (d: Buffer) => got.push(d.toString()));
    a.end('bye');
    await new Promise<void>((resolve) => b.once('end', resolve));
    assert.deepEqual(got, ['bye']);
    const [c, d] = pair();
    d.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => d.once('close', resolve));
    c.destroy();
    await closed;
    assert.ok(d.destroyed);
    a.destroy();
    b.destroy();
    clearInterval(keepAlive);
  });
});
