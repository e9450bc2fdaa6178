import Database from 'better-sqlite3';
import { Etcd3 } from 'etcd3';
import { join } from 'node:path';
import { runLoad } from './https.js';
import { latency, median, type Latency } from './stats.js';

// What the storage engines do on their own, for the same number of writes of the same pod-sized values:
// the ceiling kite's storage layer sits under.

export interface RawStoreResult {
  /** Single-row writes, one durable commit each (etcd: one put each, `inflight` concurrent). */
  write: { rate: number; lat: Latency };
  /** SQLite only: the same writes committed in groups of `inflight` (what group commit of concurrent writers can reach). */
  groupWrite?: { rate: number; lat: Latency };
  get: { rate: number; lat: Latency };
  /** One range read of `rangeLimit` keys, ms (median). */
  rangePageMs: number;
  /** One range read of every key written, ms (median). */
  rangeAllMs: number;
}

const REPS = 5;

function timeMedian(reps: number, fn: () => void): number {
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

async function timeMedianAsync(reps: number, fn: () => Promise<unknown>): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

/** better-sqlite3 on a fresh file in `dir`: WAL, synchronous=FULL, a plain key/value table. */
export function rawSqlite(dir: string, n: number, value: (i: number) => string, inflight: number, rangeLimit: number): RawStoreResult {
  const db = new Database(join(dir, 'raw.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO kv (key, value) VALUES (?, ?)');
    const key = (prefix: string, i: number) => `/registry/pods/${prefix}/raw-${i}`;
    const values = Array.from({ length: n }, (_, i) => value(i));

    // better-sqlite3 is synchronous, so "concurrent" writers are necessarily serial here: each write is its
    // own transaction and fsync, which is what a server without group commit would do.
    const writeLat = new Float64Array(n);
    const one = db.transaction((k: string, v: string) => insert.run(k, v));
    let t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      one(key('single', i), values[i]);
      writeLat[i] = performance.now() - s;
    }
    const write = { rate: n / ((performance.now() - t0) / 1000), lat: latency(writeLat) };

    // Group commit: `inflight` writes per transaction; every write in a group waits for the group's commit.
    const many = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) insert.run(key('group', i), values[i]);
    });
    const groupLat: number[] = [];
    t0 = performance.now();
    for (let i = 0; i < n; i += inflight) {
      const s = performance.now();
      const to = Math.min(n, i + inflight);
      many(i, to);
      const d = performance.now() - s;
      for (let j = i; j < to; j++) groupLat.push(d);
    }
    const groupWrite = { rate: n / ((performance.now() - t0) / 1000), lat: latency(groupLat) };

    const get = db.prepare('SELECT key, value FROM kv WHERE key = ?');
    const getLat = new Float64Array(n);
    t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      get.get(key('single', (i * 7919) % n));
      getLat[i] = performance.now() - s;
    }
    const getRes = { rate: n / ((performance.now() - t0) / 1000), lat: latency(getLat) };

    const range = db.prepare('SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key LIMIT ?');
    const lo = '/registry/pods/single/';
    const hi = '/registry/pods/single0';
    const rangePageMs = timeMedian(REPS, () => range.all(lo, hi, rangeLimit));
    const rangeAllMs = timeMedian(REPS, () => range.all(lo, hi, -1));
    return { write, groupWrite, get: getRes, rangePageMs, rangeAllMs };
  } finally {
    db.close();
  }
}

/** The etcd3 client against the etcd kite uses, under its own prefix (deleted afterwards). */
export async function rawEtcd(endpoint: string, n: number, value: (i: number) => string, inflight: number, rangeLimit: number): Promise<RawStoreResult> {
  const client = new Etcd3({ hosts: [endpoint], grpcOptions: { 'grpc.max_receive_message_length': -1 } });
  const prefix = '/bench-raw/pods/';
  try {
    const values = Array.from({ length: n }, (_, i) => value(i));
    const puts = await runLoad(n, inflight, async (i) => {
      await client.put(`${prefix}raw-${i}`).value(values[i]).exec();
      return undefined;
    });
    if (puts.errors) throw new Error(`raw etcd puts failed: ${puts.firstErrors.join('; ')}`);
    const gets = await runLoad(n, inflight, async (i) => {
      await client.get(`${prefix}raw-${(i * 7919) % n}`).exec();
      return undefined;
    });
    const rangePageMs = await timeMedianAsync(REPS, () => client.getAll().prefix(prefix).limit(rangeLimit).exec());
    const rangeAllMs = await timeMedianAsync(REPS, () => client.getAll().prefix(prefix).exec());
    await client.delete().prefix(prefix).exec();
    return {
      write: { rate: n / (puts.elapsedMs / 1000), lat: latency(puts.latencies) },
      get: { rate: n / (gets.elapsedMs / 1000), lat: latency(gets.latencies) },
      rangePageMs,
      rangeAllMs,
    };
  } finally {
    client.close();
  }
}
