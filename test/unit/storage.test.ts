// One conformance suite for every Store: SQLite, etcd, and the watch cache over SQLite. Plus SQLite's
// crash durability, which only an embedded backend can be asked about.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  CompactedError,
  FutureRevisionError,
  KeyExistsError,
  KeyNotFoundError,
  RevisionMismatchError,
  type Store,
  type WatchEvent,
  type Watcher,
} from '../../src/storage/interface.js';
import { EtcdStore } from '../../src/storage/etcd/store.js';
import { openStore } from '../../src/storage/open.js';
import { openSqliteStore } from '../../src/storage/sqlite/store.js';
import { WatchCache } from '../../src/storage/watchcache.js';
import { etcdSkip, startEtcd, type RunningEtcd } from '../helpers/etcd.js';

import { waitFor } from '../helpers/cluster.js';

const PODS = '/registry/core/pods/';

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  await waitFor(what, async () => await cond(), timeoutMs, 5);
}

interface Collector {
  events: WatchEvent[];
  error: Error | null;
  watcher: Watcher;
}

function collect(store: Store, prefix: string, afterRevision: number): Collector {
  const c: Collector = { events: [], error: null, watcher: undefined as unknown as Watcher };
  c.watcher = store.watch(prefix, afterRevision, {
    onEvents: (evs) => c.events.push(...evs),
    onError: (err) => {
      c.error = err;
    },
  });
  return c;
}

/** A watch that must fail with CompactedError, whether thrown or reported. */
async function expectCompactedWatch(store: Store, prefix: string, afterRevision: number): Promise<void> {
  let c: Collector;
  try {
    c = collect(store, prefix, afterRevision);
  } catch (err) {
    assert.ok(err instanceof CompactedError, `thrown ${String(err)}`);
    return;
  }
  await until('the compaction error', () => c.error !== null || c.events.length > 0);
  assert.equal(c.events.length, 0);
  assert.ok(c.error instanceof CompactedError, `got ${String(c.error)}`);
  c.watcher.cancel();
}

function revisions(events: WatchEvent[]): number[] {
  return events.map((e) => e.kv.modRevision);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

interface Harness {
  store: Store;
  cleanup(): Promise<void>;
}

function conformance(label: string, open: () => Promise<Harness>, skip: string | false = false): void {
  describe(label, { skip }, () => {
    let h: Harness;
    let store: Store;
    beforeEach(async () => {
      h = await open();
      store = h.store;
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('advances the revision by exactly one per write', async () => {
      const r0 = await store.currentRevision();
      const a = await store.create(`${PODS}ns/a`, '{"v":1}');
      assert.equal(a.modRevision, r0 + 1);
      assert.equal(a.createRevision, r0 + 1);
      const b = await store.update(`${PODS}ns/a`, '{"v":2}', a.modRevision);
      assert.equal(b.modRevision, r0 + 2);
      assert.equal(b.createRevision, r0 + 1);
      const d = await store.delete(`${PODS}ns/a`);
      assert.equal(d.revision, r0 + 3);
      assert.deepEqual(d.prev, b);
      assert.equal(await store.currentRevision(), r0 + 3);
      assert.equal(await store.get(`${PODS}ns/a`), null);
    });

    it('refuses to create an existing key', async () => {
      const a = await store.create(`${PODS}ns/a`, 'one');
      await assert.rejects(store.create(`${PODS}ns/a`, 'two'), KeyExistsError);
      assert.deepEqual(await store.get(`${PODS}ns/a`), a);
      // A deleted key can be created again, with a new create revision.
      await store.delete(`${PODS}ns/a`);
      const again = await store.create(`${PODS}ns/a`, 'three');
      assert.ok(again.createRevision > a.createRevision);
    });

    it('compare-and-swaps updates and deletes on the mod revision', async () => {
      const a = await store.create(`${PODS}ns/a`, 'v1');
      const b = await store.update(`${PODS}ns/a`, 'v2', a.modRevision);
      const stale = await store.update(`${PODS}ns/a`, 'v3', a.modRevision).then(
        () => assert.fail('stale update succeeded'),
        (err: unknown) => err,
      );
      assert.ok(stale instanceof RevisionMismatchError);
      assert.deepEqual(stale.current, b);
      await assert.rejects(store.delete(`${PODS}ns/a`, a.modRevision), RevisionMismatchError);
      await assert.rejects(store.update(`${PODS}ns/missing`, 'x', 5), KeyNotFoundError);
      await assert.rejects(store.delete(`${PODS}ns/missing`), KeyNotFoundError);
      await assert.rejects(store.delete(`${PODS}ns/missing`, 5), KeyNotFoundError);
      const d = await store.delete(`${PODS}ns/a`, b.modRevision);
      assert.equal(d.prev.value, 'v2');
      await assert.rejects(store.update(`${PODS}ns/a`, 'v4', b.modRevision), KeyNotFoundError);
    });

    it('checks each write of a concurrent batch on its own', async () => {
      const a = await store.create(`${PODS}ns/a`, 'v1');
      const r0 = await store.currentRevision();
      const results = await Promise.allSettled([
        store.create(`${PODS}ns/b`, 'b1'),
        store.create(`${PODS}ns/b`, 'b2'),
        store.update(`${PODS}ns/a`, 'v2', a.modRevision),
        store.update(`${PODS}ns/a`, 'v3', a.modRevision),
        store.create(`${PODS}ns/c`, 'c1'),
      ]);
      const ok = results.filter((r) => r.status === 'fulfilled');
      const failed = results.filter((r) => r.status === 'rejected');
      assert.equal(ok.length, 3);
      assert.equal(failed.length, 2);
      const revs = ok.map((r) => (r as PromiseFulfilledResult<{ modRevision: number }>).value.modRevision);
      assert.deepEqual([...revs].sort((x, y) => x - y), range(r0 + 1, r0 + 3));
      assert.equal(await store.currentRevision(), r0 + 3);
      assert.equal(await store.count(`${PODS}ns/`), 3);
    });

    it('lists by prefix, in key order, never including sibling resources', async () => {
      await store.create(`${PODS}ns2/b`, 'b');
      await store.create(`${PODS}ns1/a`, 'a');
      await store.create(`/registry/core/podsX/ns1/x`, 'x');
      await store.create(`/registry/core/pod/ns1/y`, 'y');
      await store.create(`${PODS}ns1/c`, 'c');
      const all = await store.list(PODS);
      assert.deepEqual(
        all.kvs.map((kv) => kv.key),
        [`${PODS}ns1/a`, `${PODS}ns1/c`, `${PODS}ns2/b`],
      );
      assert.equal(all.more, false);
      assert.equal(all.revision, await store.currentRevision());
      assert.deepEqual(
        (await store.list(`${PODS}ns1/`)).kvs.map((kv) => kv.value),
        ['a', 'c'],
      );
      assert.equal(await store.count(PODS), 3);
      assert.equal(await store.count(`${PODS}ns2/`), 1);
      assert.equal(await store.count('/registry/core/nothing/'), 0);
    });

    it('paginates with limit and after, at one revision', async () => {
      for (let i = 0; i < 7; i++) await store.create(`${PODS}ns/p${i}`, String(i));
      const seen: string[] = [];
      let after: string | undefined;
      let revision = 0;
      for (;;) {
        const page = await store.list(PODS, { limit: 3, after, revision });
        revision = page.revision;
        seen.push(...page.kvs.map((kv) => kv.value));
        if (!page.more) break;
        assert.equal(page.kvs.length, 3);
        after = page.kvs[page.kvs.length - 1].key;
        // Writes between pages must not show up in later pages of the same snapshot.
        await store.create(`${PODS}ns/p${seen.length}x`, 'late');
      }
      assert.deepEqual(seen, ['0', '1', '2', '3', '4', '5', '6']);
    });

    it('lists as of an old revision', async () => {
      const a = await store.create(`${PODS}ns/a`, 'a1');
      const b = await store.create(`${PODS}ns/b`, 'b1');
      const snapshot = b.modRevision;
      await store.update(`${PODS}ns/a`, 'a2', a.modRevision);
      await store.delete(`${PODS}ns/b`);
      await store.create(`${PODS}ns/c`, 'c1');
      const then = await store.list(PODS, { revision: snapshot });
      assert.equal(then.revision, snapshot);
      assert.deepEqual(then.kvs, [a, b]);
      const now = await store.list(PODS);
      assert.deepEqual(
        now.kvs.map((kv) => `${kv.key.slice(PODS.length)}=${kv.value}`),
        ['ns/a=a2', 'ns/c=c1'],
      );
      const older = await store.list(PODS, { revision: a.modRevision, limit: 1 });
      assert.deepEqual(older.kvs, [a]);
      await assert.rejects(store.list(PODS, { revision: (await store.currentRevision()) + 100 }), FutureRevisionError);
    });

    it('replays a watch from a past revision in order, then continues live', async () => {
      const r0 = await store.currentRevision();
      const a = await store.create(`${PODS}ns/a`, 'a1');
      await store.create(`/registry/core/podsX/ns/a`, 'not mine');
      await store.update(`${PODS}ns/a`, 'a2', a.modRevision);
      await store.create(`${PODS}ns/b`, 'b1');
      await store.delete(`${PODS}ns/a`);
      const replayed = await store.currentRevision();
      const c = collect(store, PODS, r0);
      await until('the replay', () => c.events.length >= 4);
      // Live writes, including a concurrent burst.
      await Promise.all(range(1, 20).map((i) => store.create(`${PODS}ns/live${i}`, String(i))));
      const last = await store.currentRevision();
      await until('the live events', () => c.events.length >= 24);
      assert.equal(c.error, null);
      const revs = revisions(c.events);
      assert.deepEqual(revs, [r0 + 1, r0 + 3, r0 + 4, r0 + 5, ...range(replayed + 1, last)]);
      const [created, updated, createdB, deleted] = c.events;
      assert.equal(created.type, 'put');
      assert.equal(created.created, true);
      assert.equal(created.prevKv, undefined);
      assert.equal(updated.created, false);
      assert.equal(updated.kv.value, 'a2');
      assert.equal(updated.prevKv?.value, 'a1');
      assert.equal(createdB.kv.key, `${PODS}ns/b`);
      assert.equal(deleted.type, 'delete');
      assert.equal(deleted.kv.key, `${PODS}ns/a`);
      assert.equal(deleted.kv.value, 'a2');
      assert.equal(deleted.prevKv?.modRevision, r0 + 3);
      c.watcher.cancel();
      c.watcher.cancel();
      await store.create(`${PODS}ns/after-cancel`, 'x');
      // A second watch sees the write the cancelled one must not.
      const d = collect(store, PODS, last);
      await until('the post-cancel event', () => d.events.length === 1);
      d.watcher.cancel();
      assert.equal(c.events.length, 24);
    });

    it('watches from the current revision and from a key prefix', async () => {
      await store.create(`${PODS}ns1/old`, 'old');
      const r = await store.currentRevision();
      const ns1 = collect(store, `${PODS}ns1/`, r);
      const exact = collect(store, `${PODS}ns2/one`, r);
      await store.create(`${PODS}ns2/one`, '1');
      await store.create(`${PODS}ns1/a`, 'a');
      await store.create(`${PODS}ns2/two`, '2');
      await until('both watches', () => ns1.events.length === 1 && exact.events.length === 1);
      assert.equal(ns1.events[0].kv.key, `${PODS}ns1/a`);
      assert.equal(exact.events[0].kv.key, `${PODS}ns2/one`);
      ns1.watcher.cancel();
      exact.watcher.cancel();
    });

    it('refuses history below the compacted revision', async () => {
      const a = await store.create(`${PODS}ns/a`, 'a1');
      const b = await store.update(`${PODS}ns/a`, 'a2', a.modRevision);
      const c = await store.update(`${PODS}ns/a`, 'a3', b.modRevision);
      await store.create(`${PODS}ns/z`, 'z');
      await store.compact(b.modRevision);
      assert.equal(await store.compactedRevision(), b.modRevision);
      await assert.rejects(store.list(PODS, { revision: a.modRevision }), CompactedError);
      // The compacted revision itself is still a complete snapshot.
      assert.deepEqual((await store.list(PODS, { revision: b.modRevision })).kvs, [b]);
      assert.deepEqual((await store.list(PODS, { revision: c.modRevision })).kvs, [c]);
      assert.deepEqual((await store.get(`${PODS}ns/a`))?.value, 'a3');
      const fromCompacted = collect(store, PODS, b.modRevision);
      await until('events after the compacted revision', () => fromCompacted.events.length === 2);
      assert.deepEqual(revisions(fromCompacted.events), [c.modRevision, c.modRevision + 1]);
      fromCompacted.watcher.cancel();
      await expectCompactedWatch(store, PODS, a.modRevision);
      await store.compact(a.modRevision); // going backwards is a no-op
      assert.equal(await store.compactedRevision(), b.modRevision);
    });

    it('gives 500 concurrent creates 500 distinct revisions', async () => {
      const r0 = await store.currentRevision();
      const kvs = await Promise.all(range(1, 500).map((i) => store.create(`${PODS}burst/p${i}`, String(i))));
      const revs = kvs.map((kv) => kv.modRevision).sort((x, y) => x - y);
      assert.deepEqual(revs, range(r0 + 1, r0 + 500));
      assert.equal(await store.count(`${PODS}burst/`), 500);
      assert.equal(await store.currentRevision(), r0 + 500);
    });
  });
}

// ---- backends

conformance('SqliteStore', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-sqlite-'));
  const store = openSqliteStore(join(dir, 'state.db'), { compactIntervalMs: 0 });
  return {
    store,
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

conformance('WatchCache over SqliteStore', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-cache-'));
  const store = new WatchCache(openSqliteStore(join(dir, 'state.db'), { compactIntervalMs: 0 }));
  return {
    store,
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

let etcd: RunningEtcd | null = null;
let etcdPrefixes = 0;
describe('etcd', { skip: etcdSkip }, () => {
  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    await etcd?.stop();
  });
  // Tests share one etcd; a fresh key prefix per test keeps their data apart.
  conformance('EtcdStore', async () => {
    const store = new EtcdStore([(etcd as RunningEtcd).endpoint], { prefix: `/kite-test-${++etcdPrefixes}` });
    await store.ready();
    return { store, cleanup: () => store.close() };
  });

  it('resumes watches across an etcd restart without gaps or duplicates', async () => {
    const running = etcd as RunningEtcd;
    const store = new EtcdStore([running.endpoint], { prefix: `/kite-test-${++etcdPrefixes}` });
    try {
      await store.ready();
      const r0 = await store.currentRevision();
      const c = collect(store, PODS, r0);
      await store.create(`${PODS}ns/before`, '1');
      await until('the first event', () => c.events.length === 1);
      await running.restart();
      // The first writes after a restart may hit a connection etcd3 still believes is open; retry them.
      let after: { modRevision: number } | null = null;
      await until(
        'a write after the restart',
        async () => {
          after = await store
            .create(`${PODS}ns/after`, '2')
            // A retried create that had in fact landed reports the key as existing.
            .catch((err: unknown) => (err instanceof KeyExistsError ? store.get(`${PODS}ns/after`) : null));
          return after !== null;
        },
        30_000,
      );
      await store.create(`${PODS}ns/after2`, '3');
      await until('the events after the restart', () => c.events.length >= 3 || c.error !== null, 30_000);
      assert.equal(c.error, null);
      assert.deepEqual(
        c.events.map((e) => e.kv.key.slice(PODS.length)),
        ['ns/before', 'ns/after', 'ns/after2'],
      );
      assert.deepEqual(revisions(c.events), [r0 + 1, r0 + 2, r0 + 3]);
      c.watcher.cancel();
    } finally {
      await store.close();
    }
  });

  it('is what openStore returns for an http endpoint', async () => {
    const store = await openStore({ dataDir: '/nonexistent', datastoreEndpoint: `${(etcd as RunningEtcd).endpoint}/` });
    try {
      assert.equal(store.name, 'etcd');
      assert.ok((await store.currentRevision()) >= 1);
    } finally {
      await store.close();
    }
  });
});

describe('openStore', () => {
  it('opens SQLite at <dataDir>/db/state.db without an endpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kite-open-'));
    try {
      const store = await openStore({ dataDir: join(dir, 'nested'), datastoreEndpoint: '' });
      assert.equal(store.name, 'sqlite');
      await store.create('/registry/core/namespaces/default', '{}');
      await store.close();
      const again = openSqliteStore(join(dir, 'nested', 'db', 'state.db'));
      assert.equal((await again.get('/registry/core/namespaces/default'))?.value, '{}');
      assert.equal(await again.currentRevision(), 1);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects an endpoint that is not a URL', async () => {
    await assert.rejects(openStore({ dataDir: '/tmp', datastoreEndpoint: 'mysql://x' }), /datastore endpoint/);
  });
});

// ---- SQLite specifics

describe('SqliteStore durability and upkeep', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kite-sqlite-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged write across SIGKILL', async () => {
    const dbPath = join(dir, 'state.db');
    const storeModule = fileURLToPath(new URL('../../src/storage/sqlite/store.js', import.meta.url));
    // The child writes with many requests in flight (so group commits are exercised) and prints each key
    // only after its create resolved.
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
        const { openSqliteStore } = await import(${JSON.stringify(storeModule)});
        const store = openSqliteStore(${JSON.stringify(dbPath)});
        let n = 0;
        const worker = async () => {
          for (;;) {
            const key = '/registry/core/configmaps/d/k' + n++;
            await store.create(key, JSON.stringify({ n }));
            process.stdout.write(key + '\\n');
          }
        };
        for (let i = 0; i < 32; i++) worker();
        `,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const acked: string[] = [];
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() as string;
      acked.push(...lines);
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await until('the child to acknowledge writes', () => acked.length >= 2_000 || child.exitCode !== null, 60_000);
    child.kill('SIGKILL');
    await exited;
    assert.equal(child.signalCode, 'SIGKILL');
    assert.ok(acked.length >= 2_000);
    const store = openSqliteStore(dbPath);
    try {
      const present = new Set((await store.list('/registry/core/configmaps/d/')).kvs.map((kv) => kv.key));
      const missing = acked.filter((k) => !present.has(k));
      assert.deepEqual(missing, []);
      assert.equal(await store.currentRevision(), present.size);
      // Writes resume at the next revision.
      const next = await store.create('/registry/core/configmaps/d/after', '{}');
      assert.equal(next.modRevision, present.size + 1);
    } finally {
      await store.close();
    }
  });

  it('refuses a second process-level opener of the same file', async () => {
    const dbPath = join(dir, 'state.db');
    const store = openSqliteStore(dbPath);
    try {
      assert.throws(() => openSqliteStore(dbPath), /locked|busy/i);
    } finally {
      await store.close();
    }
  });

  it('remembers the compacted revision and the revision counter across reopen', async () => {
    const dbPath = join(dir, 'state.db');
    let store = openSqliteStore(dbPath);
    for (let i = 0; i < 10; i++) await store.create(`${PODS}ns/p${i}`, String(i));
    await store.delete(`${PODS}ns/p9`);
    await store.compact(11);
    await store.close();
    store = openSqliteStore(dbPath);
    try {
      assert.equal(await store.compactedRevision(), 11);
      assert.equal(await store.currentRevision(), 11);
      await assert.rejects(store.list(PODS, { revision: 5 }), CompactedError);
      assert.equal((await store.create(`${PODS}ns/p10`, '10')).modRevision, 12);
      assert.equal(await store.count(PODS), 10);
    } finally {
      await store.close();
    }
  });

  it('compacts automatically, keeping the configured number of revisions', async () => {
    const store = openSqliteStore(join(dir, 'state.db'), {
      retainRevisions: 50,
      retainMs: 0,
      compactIntervalMs: 10,
    });
    try {
      await store.create(`${PODS}ns/hot`, '0');
      for (let i = 1; i < 200; i++) {
        const cur = await store.get(`${PODS}ns/hot`);
        await store.update(`${PODS}ns/hot`, String(i), (cur as { modRevision: number }).modRevision);
      }
      await until('automatic compaction', async () => (await store.compactedRevision()) >= 150);
      assert.equal(await store.compactedRevision(), 150);
      assert.equal((await store.get(`${PODS}ns/hot`))?.value, '199');
      const replay = collect(store, PODS, 150);
      await until('the retained history', () => replay.events.length === 50);
      replay.watcher.cancel();
    } finally {
      await store.close();
    }
  });

  it('lets a slow watcher catch up across many pages of history', async () => {
    const store = openSqliteStore(join(dir, 'state.db'), { catchUpPage: 7, compactIntervalMs: 0 });
    try {
      await Promise.all(range(1, 100).map((i) => store.create(`${PODS}ns/p${i}`, String(i))));
      const c = collect(store, PODS, 0);
      // Writes land while the watcher is still paging through history.
      const more = Promise.all(range(101, 150).map((i) => store.create(`${PODS}ns/p${i}`, String(i))));
      await more;
      await until('every event', () => c.events.length >= 150);
      assert.deepEqual(revisions(c.events), range(1, 150));
      c.watcher.cancel();
    } finally {
      await store.close();
    }
  });
});
