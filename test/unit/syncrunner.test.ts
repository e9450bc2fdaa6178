import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SyncRunner } from '../../src/client/syncrunner.js';

// The whole-state sync behind the service proxy and the ingress controller: many change events, few syncs,
// and a caller that asks for a sync learns when its change is applied (or why not).

function runner(sync: () => Promise<void>, ready = () => true, logs: string[] = []): SyncRunner {
  return new SyncRunner({ sync, minIntervalMs: 0, initialBackoffMs: 1, maxBackoffMs: 4, ready, log: (m) => logs.push(m) });
}

test('requests made while a sync runs fold into one more sync', async () => {
  let runs = 0;
  let release!: () => void;
  const first = new Promise<void>((r) => (release = r));
  const r = runner(async () => {
    runs++;
    if (runs === 1) await first;
  });
  const done = r.syncNow();
  for (let i = 0; i < 50; i++) r.request();
  release();
  await done;
  await r.syncNow();
  await r.stop(new Error('stopped'));
  assert.ok(runs <= 3, `50 requests during one sync should cost at most one more sync, ran ${runs}`);
});

test('syncNow resolves only after a sync that started after it', async () => {
  const seen: number[] = [];
  let state = 0;
  const r = runner(async () => {
    seen.push(state);
  });
  state = 1;
  await r.syncNow();
  assert.equal(seen.at(-1), 1);
  state = 2;
  await r.syncNow();
  assert.equal(seen.at(-1), 2);
  await r.stop(new Error('stopped'));
});

test('a failing sync rejects its waiters, is retried with back-off, and the next success clears it', async () => {
  let failures = 2;
  const logs: string[] = [];
  const r = runner(async () => {
    if (failures-- > 0) throw new Error('nft exploded');
  }, undefined, logs);
  await assert.rejects(r.syncNow(), /nft exploded/);
  // The retry happens on its own; a later request is served once a sync succeeds.
  for (;;) {
    try {
      await r.syncNow();
      break;
    } catch {
      // the second failure: ask again
    }
  }
  assert.ok(logs.some((l) => /sync failed, retrying in \d+ ms: nft exploded/.test(l)), logs.join('\n'));
  await r.stop(new Error('stopped'));
});

test('requests before the caches are ready wait for them; stop fails whoever still waits', async () => {
  let ready = false;
  let runs = 0;
  const r = runner(async () => {
    runs++;
  }, () => ready);
  const waiting = r.syncNow();
  r.request();
  assert.equal(runs, 0);
  ready = true;
  r.request();
  await waiting;
  assert.ok(runs >= 1);
  const r2 = runner(async () => undefined, () => false);
  const never = r2.syncNow();
  await r2.stop(new Error('proxy is stopped'));
  await assert.rejects(never, /proxy is stopped/);
  await assert.rejects(r2.syncNow(), /proxy is stopped/);
  await r.stop(new Error('stopped'));
});
