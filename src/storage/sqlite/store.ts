// The embedded backend: etcd's MVCC model on one SQLite file (see schema.ts for the layout).
//
// Writes are group-committed: every write requested while the event loop is busy (in particular during the
// previous commit's fsync) is applied in the next single transaction, one revision and one compare-and-swap
// check per write, and all of them are acknowledged after that one fsync. A write whose check fails simply
// takes no revision; the rest of the batch is unaffected.
//
// The process holds the database exclusively (locking_mode=EXCLUSIVE): the revision counter lives in memory,
// so a second writer would corrupt the history.

import Database from 'better-sqlite3';
import {
  CompactedError,
  FutureRevisionError,
  KeyExistsError,
  KeyNotFoundError,
  RevisionMismatchError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  type WatchCallbacks,
  type WatchEvent,
  type Watcher,
} from '../interface.js';
import { MAX_KEY, migrate, prefixEnd } from './schema.js';
import { WatchSink } from '../sink.js';

export interface SqliteStoreOptions {
  /** Automatic compaction keeps at least this many revisions of history (default 10,000; 0 = no floor). */
  retainRevisions?: number;
  /** ...and at least this much wall-clock history (default 5 minutes; 0 = no floor). */
  retainMs?: number;
  /** How often automatic compaction runs (default 60 s; 0 disables it). */
  compactIntervalMs?: number;
  /** Upper bound on writes per transaction (default 1,000). */
  maxBatch?: number;
  /** Rows per page when a watcher catches up from the log (default 1,000). */
  catchUpPage?: number;
}

type WriteOp =
  | { kind: 'create'; key: string; value: string }
  | { kind: 'update'; key: string; value: string; expected: number }
  | { kind: 'delete'; key: string; expected?: number };

interface Pending {
  op: WriteOp;
  resolve(result: WriteResult): void;
  reject(err: Error): void;
}

type WriteResult = { kv: KeyValue; prev?: KeyValue };

interface LogRow {
  revision: number;
  key: string;
  value: string;
  create_revision: number;
  prev_revision: number;
  deleted: number;
  prev_value: string | null;
  prev_create: number | null;
}

interface CurrentRow {
  key: string;
  value: string;
  create_revision: number;
  revision: number;
}

interface LiveWatch {
  lo: string;
  hi: string;
  sink: WatchSink;
  /** Set while the watcher still reads history from the log; live events are ignored until then. */
  catchingUp: boolean;
}

const COMPACT_CHUNK = 5_000;

export class SqliteStore implements Store {
  readonly name = 'sqlite';
  private readonly db: Database.Database;
  private rev: number;
  private compacted: number;
  /** Rows at or below this revision have already been physically compacted (lower bound of the next sweep). */
  private swept = 0;
  private queue: Pending[] = [];
  private flushScheduled = false;
  private readonly watches = new Set<LiveWatch>();
  private closed = false;
  private compactTimer: NodeJS.Timeout | undefined;
  private compacting: Promise<void> | null = null;
  private readonly samples: Array<{ at: number; revision: number }> = [];
  private readonly retainRevisions: number;
  private readonly retainMs: number;
  private readonly maxBatch: number;
  private readonly catchUpPage: number;
  private readonly stmt: ReturnType<SqliteStore['prepare']>;

  constructor(path: string, opts: SqliteStoreOptions = {}) {
    this.retainRevisions = opts.retainRevisions ?? 10_000;
    this.retainMs = opts.retainMs ?? 5 * 60_000;
    this.maxBatch = opts.maxBatch ?? 1_000;
    this.catchUpPage = opts.catchUpPage ?? 1_000;
    // No waiting on the file lock: its holder is another kite process, which will not let go.
    this.db = new Database(path, { timeout: 0 });
    try {
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('journal_mode = WAL');
      // FULL: the WAL is fsynced at every commit, so an acknowledged write survives power loss.
      this.db.pragma('synchronous = FULL');
      // Takes the exclusive lock now, so a second process fails at open rather than at its first write.
      this.db.exec('BEGIN EXCLUSIVE; COMMIT;');
      migrate(this.db);
      this.stmt = this.prepare();
      this.rev = this.stmt.getMeta.get('revision') as number;
      this.compacted = this.stmt.getMeta.get('compacted') as number;
    } catch (err) {
      this.db.close();
      throw err;
    }
    const interval = opts.compactIntervalMs ?? 60_000;
    if (interval > 0 && (this.retainRevisions > 0 || this.retainMs > 0)) {
      this.compactTimer = setInterval(() => this.autoCompact(), interval);
      this.compactTimer.unref();
    }
  }

  private prepare() {
    const db = this.db;
    const kvCols = `k.key AS key, k.value AS value, k.create_revision AS create_revision, k.revision AS revision`;
    return {
      getMeta: db.prepare(`SELECT value FROM meta WHERE name = ?`).pluck(),
      setMeta: db.prepare(`UPDATE meta SET value = ? WHERE name = ?`),
      getCurrent: db.prepare(`SELECT ${kvCols} FROM current c JOIN kv k ON k.revision = c.revision WHERE c.key = ?`),
      insertLog: db.prepare(
        `INSERT INTO kv (revision, key, value, create_revision, prev_revision, deleted) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      putCurrent: db.prepare(
        `INSERT INTO current (key, revision) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET revision = excluded.revision`,
      ),
      deleteCurrent: db.prepare(`DELETE FROM current WHERE key = ?`),
      listLatest: db.prepare(
        `SELECT ${kvCols} FROM current c JOIN kv k ON k.revision = c.revision
         WHERE c.key >= ? AND c.key < ? ORDER BY c.key LIMIT ?`,
      ),
      // The newest row per key at or below the revision; tombstones filtered after grouping. SQLite takes the
      // bare columns from the row that supplied MAX().
      listAt: db.prepare(
        `SELECT key, value, create_revision, revision FROM (
           SELECT key, value, create_revision, MAX(revision) AS revision, deleted FROM kv
           WHERE key >= ? AND key < ? AND revision <= ? GROUP BY key
         ) WHERE deleted = 0 ORDER BY key LIMIT ?`,
      ),
      count: db.prepare(`SELECT count(*) FROM current WHERE key >= ? AND key < ?`).pluck(),
      log: db.prepare(
        `SELECT k.revision AS revision, k.key AS key, k.value AS value, k.create_revision AS create_revision,
                k.prev_revision AS prev_revision, k.deleted AS deleted,
                p.value AS prev_value, p.create_revision AS prev_create
         FROM kv k LEFT JOIN kv p ON p.revision = k.prev_revision AND k.prev_revision > 0
         WHERE k.revision > ? AND k.revision <= ? AND k.key >= ? AND k.key < ?
         ORDER BY k.revision LIMIT ?`,
      ),
      sweep: db.prepare(
        `DELETE FROM kv WHERE revision > ? AND revision <= ? AND (deleted = 1 OR EXISTS (
           SELECT 1 FROM kv n WHERE n.key = kv.key AND n.revision > kv.revision AND n.revision <= ?))`,
      ),
    };
  }

  // ---- reads: synchronous SQLite reads always see exactly the committed revision `this.rev`.

  async get(key: string): Promise<KeyValue | null> {
    this.assertOpen();
    const row = this.stmt.getCurrent.get(key) as CurrentRow | undefined;
    return row ? toKeyValue(row) : null;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.assertOpen();
    const revision = opts.revision ?? 0;
    if (revision > this.rev) throw new FutureRevisionError(revision, this.rev);
    if (revision > 0 && revision < this.compacted) throw new CompactedError(revision, this.compacted);
    const hi = prefix === '' ? MAX_KEY : prefixEnd(prefix);
    let lo = prefix;
    if (opts.after !== undefined && opts.after + '\0' > lo) lo = opts.after + '\0';
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    // One extra row tells whether the limit cut the result short.
    const sqlLimit = limit > 0 ? limit + 1 : -1;
    const rows = (
      revision === 0 || revision === this.rev
        ? this.stmt.listLatest.all(lo, hi, sqlLimit)
        : this.stmt.listAt.all(lo, hi, revision, sqlLimit)
    ) as CurrentRow[];
    const more = limit > 0 && rows.length > limit;
    if (more) rows.length = limit;
    return { kvs: rows.map(toKeyValue), revision: revision || this.rev, more };
  }

  async count(prefix: string): Promise<number> {
    this.assertOpen();
    return this.stmt.count.get(prefix, prefix === '' ? MAX_KEY : prefixEnd(prefix)) as number;
  }

  async currentRevision(): Promise<number> {
    this.assertOpen();
    return this.rev;
  }

  async compactedRevision(): Promise<number> {
    this.assertOpen();
    return this.compacted;
  }

  // ---- writes

  async create(key: string, value: string): Promise<KeyValue> {
    return (await this.enqueue({ kind: 'create', key, value })).kv;
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return (await this.enqueue({ kind: 'update', key, value, expected: expectedModRevision })).kv;
  }

  async delete(key: string, expectedModRevision?: number): Promise<{ revision: number; prev: KeyValue }> {
    const { kv, prev } = await this.enqueue({ kind: 'delete', key, expected: expectedModRevision });
    return { revision: kv.modRevision, prev: prev as KeyValue };
  }

  private enqueue(op: WriteOp): Promise<WriteResult> {
    if (this.closed) return Promise.reject(new Error('sqlite store is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // setImmediate, not a microtask: lets every request already waiting in the event loop join the batch.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue.splice(0, this.maxBatch);
    if (this.queue.length > 0) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    if (batch.length === 0) return;
    const outcomes: Array<WriteResult | Error> = [];
    const events: WatchEvent[] = [];
    let rev = this.rev;
    const s = this.stmt;
    const apply = this.db.transaction(() => {
      for (const { op } of batch) {
        const row = s.getCurrent.get(op.key) as CurrentRow | undefined;
        const cur = row ? toKeyValue(row) : null;
        if (op.kind === 'create') {
          if (cur) {
            outcomes.push(new KeyExistsError(op.key));
            continue;
          }
          rev++;
          s.insertLog.run(rev, op.key, op.value, rev, 0, 0);
          s.putCurrent.run(op.key, rev);
          const kv = { key: op.key, value: op.value, createRevision: rev, modRevision: rev };
          outcomes.push({ kv });
          events.push({ type: 'put', kv, created: true });
          continue;
        }
        if (!cur) {
          outcomes.push(new KeyNotFoundError(op.key));
          continue;
        }
        if (op.expected !== undefined && cur.modRevision !== op.expected) {
          outcomes.push(new RevisionMismatchError(op.key, cur));
          continue;
        }
        rev++;
        if (op.kind === 'update') {
          s.insertLog.run(rev, op.key, op.value, cur.createRevision, cur.modRevision, 0);
          s.putCurrent.run(op.key, rev);
          const kv = { key: op.key, value: op.value, createRevision: cur.createRevision, modRevision: rev };
          outcomes.push({ kv, prev: cur });
          events.push({ type: 'put', kv, prevKv: cur, created: false });
        } else {
          // The tombstone keeps the last value so a delete event can carry it without a join.
          s.insertLog.run(rev, op.key, cur.value, cur.createRevision, cur.modRevision, 1);
          s.deleteCurrent.run(op.key);
          const kv = { key: op.key, value: cur.value, createRevision: cur.createRevision, modRevision: rev };
          outcomes.push({ kv, prev: cur });
          events.push({ type: 'delete', kv, prevKv: cur, created: false });
        }
      }
      if (rev !== this.rev) s.setMeta.run(rev, 'revision');
    });
    try {
      apply.immediate();
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      for (const p of batch) p.reject(e);
      return;
    }
    this.rev = rev;
    batch.forEach((p, i) => {
      const o = outcomes[i];
      if (o instanceof Error) p.reject(o);
      else p.resolve(o as WriteResult);
    });
    if (events.length > 0) this.fanOut(events);
  }

  private fanOut(events: WatchEvent[]): void {
    for (const w of this.watches) {
      if (w.catchingUp) continue;
      const mine = events.filter((ev) => ev.kv.key >= w.lo && ev.kv.key < w.hi);
      if (mine.length > 0) w.sink.push(mine);
    }
  }

  // ---- watch

  watch(prefix: string, afterRevision: number, cb: WatchCallbacks): Watcher {
    const w: LiveWatch = {
      lo: prefix,
      hi: prefix === '' ? MAX_KEY : prefixEnd(prefix),
      sink: new WatchSink(cb, afterRevision, () => this.watches.delete(w)),
      catchingUp: true,
    };
    if (this.closed) {
      w.sink.fail(new Error('sqlite store is closed'));
      return w.sink;
    }
    this.watches.add(w);
    this.catchUp(w);
    return w.sink;
  }

  /** Reads one page of history for the watcher; when it reaches the committed revision it goes live in the
   *  same synchronous step, so no commit can fall between the last page and the first live event. */
  private catchUp(w: LiveWatch): void {
    if (w.sink.closed) return;
    const from = w.sink.lastRevision;
    if (from < this.compacted) {
      w.sink.fail(new CompactedError(from, this.compacted));
      return;
    }
    if (from >= this.rev) {
      w.catchingUp = false;
      return;
    }
    const rows = this.stmt.log.all(from, this.rev, w.lo, w.hi, this.catchUpPage) as LogRow[];
    w.sink.push(rows.map(toEvent));
    if (rows.length < this.catchUpPage) {
      // Everything up to this.rev has been read; even revisions outside the prefix count as seen.
      w.sink.lastRevision = Math.max(w.sink.lastRevision, this.rev);
      w.catchingUp = false;
      return;
    }
    setImmediate(() => this.catchUp(w));
  }

  // ---- compaction

  async compact(revision: number): Promise<void> {
    this.assertOpen();
    if (revision > this.rev) throw new FutureRevisionError(revision, this.rev);
    if (revision <= this.compacted) return;
    // The mark is durable before any row goes: from here on, reads below it are refused.
    this.stmt.setMeta.run(revision, 'compacted');
    this.compacted = revision;
    const run = async (): Promise<void> => {
      if (this.compacting) await this.compacting.catch(() => undefined);
      await this.sweep(revision);
    };
    const p = run();
    this.compacting = p;
    try {
      await p;
    } finally {
      if (this.compacting === p) this.compacting = null;
    }
  }

  /** Deletes superseded rows and tombstones at or below `upTo`, in chunks so writes interleave. */
  private async sweep(upTo: number): Promise<void> {
    let lo = this.swept;
    while (lo < upTo && !this.closed) {
      const hi = Math.min(lo + COMPACT_CHUNK, upTo);
      this.stmt.sweep.run(lo, hi, upTo);
      lo = hi;
      this.swept = Math.max(this.swept, lo);
      if (lo < upTo) await new Promise((r) => setImmediate(r));
    }
  }

  private autoCompact(): void {
    if (this.closed || this.compacting) return;
    const now = Date.now();
    this.samples.push({ at: now, revision: this.rev });
    // The newest sample old enough to fall outside the time window bounds compaction; older ones are done.
    let boundary = -1;
    for (let i = 0; i < this.samples.length && this.samples[i].at <= now - this.retainMs; i++) boundary = i;
    const byTime = boundary >= 0 ? this.samples[boundary].revision : 0;
    if (boundary > 0) this.samples.splice(0, boundary);
    const target = Math.min(byTime, this.rev - this.retainRevisions);
    if (target > this.compacted) {
      this.compact(target).catch((err: unknown) => {
        if (!this.closed) process.emitWarning(`sqlite store: automatic compaction failed: ${String(err)}`);
      });
    }
  }

  // ---- lifecycle

  async close(): Promise<void> {
    if (this.closed) return;
    // Writes already accepted are committed before the file closes.
    while (this.queue.length > 0) this.flush();
    this.closed = true;
    if (this.compactTimer) clearInterval(this.compactTimer);
    for (const w of [...this.watches]) w.sink.fail(new Error('sqlite store closed'));
    this.watches.clear();
    if (this.compacting) await this.compacting.catch(() => undefined);
    this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('sqlite store is closed');
  }
}

/** Opens (creating if needed) the database file synchronously; the store is usable on return. */
export function openSqliteStore(path: string, opts?: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(path, opts);
}

function toKeyValue(row: CurrentRow): KeyValue {
  return { key: row.key, value: row.value, createRevision: row.create_revision, modRevision: row.revision };
}

function toEvent(row: LogRow): WatchEvent {
  const kv = { key: row.key, value: row.value, createRevision: row.create_revision, modRevision: row.revision };
  const prevKv =
    row.prev_value !== null && row.prev_create !== null
      ? { key: row.key, value: row.prev_value, createRevision: row.prev_create, modRevision: row.prev_revision }
      : undefined;
  if (row.deleted) return { type: 'delete', kv, prevKv, created: false };
  return { type: 'put', kv, prevKv, created: row.prev_revision === 0 };
}
