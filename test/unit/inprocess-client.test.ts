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

// Components inside `kite server` reach its API server over in-process connections (ClientConfig.connect):
// the same HTTP handling as over HTTPS, and a client or server that closes ends every request at once.

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

describe('in-process API client', () => {
  let dir: string;
  let store: WatchCache;
  let api: ApiServer;
  let config: ClientConfig;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kite-inprocess-'));
    const pki = await ensurePki(join(dir, 'tls'));
    store = new WatchCache(await openStore({ dataDir: dir }));
    api = await startApiServer({ store, pki, port: 0, bindAddress: '127.0.0.1', serviceCidr: '10.43.0.0/16', nodePortRange: { min: 30000, max: 32767 } });
    config = { server: api.url, caPem: pki.caCertPem, token: pki.token, connect: api.connect };
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
