import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CompactedError, type WatchCallbacks, type WatchEvent, type Watcher } from '../../src/storage/interface.js';
import { openSqliteStore, type SqliteStore } from '../../src/storage/sqlite/store.js';
import { WatchCache } from '../../src/storage/watchcache.js';

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

function collect(store: { watch(p: string, a: number, cb: WatchCallbacks): Watcher }, prefix: string, after: number) {
  const c: Collector = { events: [], error: null, watcher: undefined as unknown as Watcher };
  c.watcher = store.watch(prefix, after, {
    onEvents: (evs) => c.events.push(...evs),
    onError: (err) => {
      c.error = err;
    },
  });
  return c;
}

function revisions(events: WatchEvent[]): number[] {
  return events.map((e) => e.kv.modRevision);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

describe('WatchCache', () => {
  let dir: string;
  let backend: SqliteStore;
  let backendWatches: Array<{ prefix: string; cb: WatchCallbacks }>;
  let cache: WatchCache;

  function makeCache(capacity?: number): WatchCache {
    cache = new WatchCache(backend, { capacity });
    return cache;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kite-watchcache-'));
    backend = openSqliteStore(join(dir, 'state.db'), { compactIntervalMs: 0 });
    backendWatches = [];
    const watch = backend.watch.bind(backend);
    backend.watch = (prefix, after, cb) => {
      backendWatches.push({ prefix, cb });
      return watch(prefix, after, cb);
    };
  });

  afterEach(async () => {
    await cache.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves 100 watchers from one backend watch', async () => {
    makeCache();
    await backend.create(`${PODS}ns1/before`, 'x');
    const r = await backend.currentRevision();
    const all = range(1, 80).map(() => collect(cache, PODS, r));
    const ns1 = range(1, 10).map(() => collect(cache, `${PODS}ns1/`, r));
    const exact = range(1, 10).map(() => collect(cache, `${PODS}ns2/p3`, r));
    for (let i = 0; i < 5; i++) {
      await cache.create(`${PODS}ns1/p${i}`, String(i));
      await cache.create(`${PODS}ns2/p${i}`, String(i));
    }
    await cache.create('/registry/core/podsX/ns1/other', 'not a pod');
    await until('all watchers', () =>
      [...all, ...ns1, ...exact].every((c) => c.events.length === (all.includes(c) ? 10 : ns1.includes(c) ? 5 : 1)),
    );
    assert.equal(backendWatches.length, 1);
    assert.equal(backendWatches[0].prefix, PODS);
    for (const c of all) assert.deepEqual(revisions(c.events), range(r + 1, r + 10));
    for (const c of ns1) assert.ok(c.events.every((e) => e.kv.key.startsWith(`${PODS}ns1/`)));
    for (const c of exact) assert.equal(c.events[0].kv.key, `${PODS}ns2/p3`);
    assert.ok([...all, ...ns1, ...exact].every((c) => c.error === null));
    // Another resource is another backend watch; a prefix spanning resources bypasses the cache.
    const deployments = collect(cache, '/registry/apps/deployments/', r);
    const everything = collect(cache, '/registry/', r);
    await until('the second resource to start', () => backendWatches.length === 3);
    await until('the pass-through watch', () => everything.events.length === 11);
    for (const c of [...all, ...ns1, ...exact, deployments, everything]) c.watcher.cancel();
  });

  it('replays missed events from its window, then continues live', async () => {
    makeCache(10);
    await cache.prime(PODS);
    const r0 = await backend.currentRevision();
    for (let i = 0; i < 6; i++) await cache.create(`${PODS}ns/p${i}`, String(i));
    const late = collect(cache, PODS, r0 + 2);
    await until('the replay', () => late.events.length === 4);
    await cache.create(`${PODS}ns/live`, 'live');
    await until('the live event', () => late.events.length === 5);
    assert.deepEqual(revisions(late.events), range(r0 + 3, r0 + 7));
    assert.equal(late.events[4].kv.value, 'live');
    // A revision beyond what the cache has seen is fine too: events simply start after it.
    const ahead = collect(cache, PODS, r0 + 8);
    await cache.create(`${PODS}ns/x1`, '1');
    await cache.create(`${PODS}ns/x2`, '2');
    await until('the watcher from ahead', () => ahead.events.length === 1);
    assert.deepEqual(revisions(ahead.events), [r0 + 9]);
    late.watcher.cancel();
    ahead.watcher.cancel();
  });

  it('answers "too old" for revisions that fell out of the window', async () => {
    makeCache(10);
    await cache.prime(PODS);
    const r0 = await backend.currentRevision();
    for (let i = 0; i < 25; i++) await cache.create(`${PODS}ns/p${i}`, String(i));
    const last = r0 + 25;
    // The backend still has this history; the cache answers from its window alone.
    await until('the cache to see every write', async () => (await cache.listCached(PODS)).revision === last);
    const old = collect(cache, PODS, r0 + 5);
    await until('the error', () => old.error !== null);
    assert.ok(old.error instanceof CompactedError);
    assert.equal(old.events.length, 0);
    const edge = collect(cache, PODS, last - 10);
    await until('the window edge', () => edge.events.length === 10 || edge.error !== null);
    assert.equal(edge.error, null);
    assert.deepEqual(revisions(edge.events), range(last - 9, last));
    const justOut = collect(cache, PODS, last - 11);
    await until('the error', () => justOut.error !== null);
    assert.ok(justOut.error instanceof CompactedError);
    edge.watcher.cancel();
    assert.equal(backendWatches.length, 1);
  });

  it('lists current state from memory, by prefix and page', async () => {
    makeCache();
    const a = await cache.create(`${PODS}ns1/a`, 'a');
    await cache.create(`${PODS}ns2/b`, 'b');
    await cache.create(`${PODS}ns1/c`, 'c');
    await cache.create('/registry/core/podsX/ns1/x', 'x');
    let listed = await cache.listCached(PODS);
    assert.deepEqual(
      listed.kvs.map((kv) => kv.value),
      ['a', 'c', 'b'],
    );
    assert.equal(listed.revision, 4);
    await cache.update(`${PODS}ns1/a`, 'a2', a.modRevision);
    await cache.delete(`${PODS}ns1/c`);
    await cache.create(`${PODS}ns1/b`, 'b1');
    await until('the cache to catch up', async () => (await cache.listCached(PODS)).revision === 7);
    listed = await cache.listCached(`${PODS}ns1/`);
    assert.deepEqual(
      listed.kvs.map((kv) => `${kv.value}@${kv.modRevision}`),
      ['a2@5', 'b1@7'],
    );
    const page1 = await cache.listCached(PODS, { limit: 2 });
    assert.deepEqual(
      page1.kvs.map((kv) => kv.value),
      ['a2', 'b1'],
    );
    assert.equal(page1.more, true);
    const page2 = await cache.listCached(PODS, { limit: 2, after: page1.kvs[1].key });
    assert.deepEqual(
      page2.kvs.map((kv) => kv.value),
      ['b'],
    );
    assert.equal(page2.more, false);
    // A list then a watch from its revision sees exactly the later writes.
    const w = collect(cache, PODS, listed.revision);
    await cache.create(`${PODS}ns3/z`, 'z');
    await until('the next event', () => w.events.length === 1);
    assert.equal(w.events[0].kv.modRevision, 8);
    w.watcher.cancel();
    assert.equal(backendWatches.length, 1);
  });

  it('keeps every watcher gapless while others join mid fan-out', async () => {
    makeCache(100_000);
    await cache.prime(PODS);
    const start = await backend.currentRevision();
    const joined: Array<{ from: number; c: Collector }> = [];
    // A watcher that opens another watcher from inside its own event callback, at the revision it just saw.
    const chain = collect(
      {
        watch: (p, a, cb) =>
          cache.watch(p, a, {
            onEvents: (evs) => {
              cb.onEvents(evs);
              const from = evs[evs.length - 1].kv.modRevision;
              if (joined.length < 50) joined.push({ from, c: collect(cache, PODS, from) });
            },
            onError: cb.onError,
          }),
      },
      PODS,
      start,
    );
    const writes: Array<Promise<unknown>> = [];
    for (let burst = 0; burst < 20; burst++) {
      for (let i = 0; i < 25; i++) writes.push(cache.create(`${PODS}ns${i % 3}/b${burst}-${i}`, '{}'));
      // Also join from acknowledged revisions, while later writes are still in flight.
      const acked = (await writes[writes.length - 1]) as { modRevision: number };
      joined.push({ from: acked.modRevision - 10, c: collect(cache, PODS, acked.modRevision - 10) });
    }
    await Promise.all(writes);
    const last = start + 500;
    await until(
      'every watcher to reach the last write',
      () =>
        chain.events.length === 500 &&
        joined.every(({ from, c }) => c.error !== null || c.events.length >= last - from),
    );
    assert.deepEqual(revisions(chain.events), range(start + 1, last));
    for (const { from, c } of joined) {
      assert.equal(c.error, null);
      assert.deepEqual(revisions(c.events), range(from + 1, last));
    }
    chain.watcher.cancel();
    for (const j of joined) j.c.watcher.cancel();
    assert.equal(backendWatches.length, 1);
  });

  it('fails its watchers when the backend watch fails, then starts afresh', async () => {
    makeCache();
    const r = await backend.currentRevision();
    const w = collect(cache, PODS, r);
    await until('the backend watch', () => backendWatches.length === 1);
    await cache.create(`${PODS}ns/a`, 'a');
    await until('the first event', () => w.events.length === 1);
    backendWatches[0].cb.onError(new Error('backend lost'));
    await until('the error', () => w.error !== null);
    assert.equal(w.error?.message, 'backend lost');
    const again = collect(cache, PODS, r);
    await until('the replayed event', () => again.events.length === 1);
    assert.equal(backendWatches.length, 2);
    again.watcher.cancel();
  });

  it('stops delivering to a cancelled watcher', async () => {
    makeCache();
    const r = await backend.currentRevision();
    const gone = collect(cache, PODS, r);
    const stays = collect(cache, PODS, r);
    gone.watcher.cancel();
    await cache.create(`${PODS}ns/a`, 'a');
    await until('the remaining watcher', () => stays.events.length === 1);
    assert.equal(gone.events.length, 0);
    stays.watcher.cancel();
  });
});
