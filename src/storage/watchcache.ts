// A Store decorator that makes watching cheap. For each resource (by default the first three key segments,
// e.g. /registry/apps/deployments/) it keeps, from ONE backend list + ONE backend watch:
//   - the current value of every key, so lists that accept "any recent" state (resourceVersion=0) are served
//     from memory by listCached();
//   - a ring of the most recent events, so a watcher starting from any revision inside the window gets the
//     missed events replayed before live ones, and a watcher starting before the window gets CompactedError
//     (the API server's 410 "too old resource version").
// Writes, consistent lists and everything else pass straight through to the backend.
//
// Ordering: applying a backend batch (state, ring, fan-out) and registering a watcher (ring replay, joining
// the fan-out set) are each synchronous, so a watcher sees every event exactly once whichever comes first;
// the sink additionally drops anything at or below the last revision it passed on.

import {
  CompactedError,
  FutureRevisionError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  type WatchCallbacks,
  type WatchEvent,
  type Watcher,
} from './interface.js';
import { WatchSink } from './sink.js';

export interface WatchCacheOptions {
  /** Events remembered per resource (default 10,000). */
  capacity?: number;
  /** How many key segments name a resource (default 3: /registry/<group>/<resource>/). */
  resourceDepth?: number;
}

export interface CachedListOptions {
  limit?: number;
  after?: string;
}

export class WatchCache implements Store {
  readonly name: string;
  private readonly capacity: number;
  private readonly depth: number;
  private readonly resources = new Map<string, ResourceCache>();
  private closed = false;

  constructor(private readonly backend: Store, opts: WatchCacheOptions = {}) {
    this.name = `${backend.name}+watchcache`;
    this.capacity = Math.max(1, opts.capacity ?? 10_000);
    this.depth = Math.max(1, opts.resourceDepth ?? 3);
  }

  /** The resource prefix (ending in '/') that a prefix falls in, or null when it spans several resources. */
  resourceOf(prefix: string): string | null {
    if (!prefix.startsWith('/')) return null;
    let idx = 0;
    for (let i = 0; i < this.depth; i++) {
      const next = prefix.indexOf('/', idx + 1);
      if (next < 0 || next === idx + 1) return null;
      idx = next;
    }
    return prefix.slice(0, idx + 1);
  }

  /** Starts caching the resource holding `prefix` now, rather than on first use (e.g. at server start, so
   *  the first watchers are not "too old"). Resolves when the cache is filled. */
  async prime(prefix: string): Promise<void> {
    const resource = this.resourceOf(prefix);
    if (resource === null) throw new Error(`watch cache: ${prefix} is not inside one resource`);
    await this.cacheFor(resource).ready;
  }

  /** Current state of the keys under `prefix` as the cache knows it, at the cache's revision for the
   *  resource: possibly behind the backend, never inconsistent. Prefixes spanning resources go to the backend. */
  async listCached(prefix: string, opts: CachedListOptions = {}): Promise<ListResult> {
    const resource = this.resourceOf(prefix);
    if (resource === null) return this.backend.list(prefix, opts);
    const cache = this.cacheFor(resource);
    await cache.ready;
    return cache.list(prefix, opts);
  }

  watch(prefix: string, afterRevision: number, cb: WatchCallbacks): Watcher {
    const resource = this.resourceOf(prefix);
    if (resource === null || this.closed) return this.backend.watch(prefix, afterRevision, cb);
    return this.cacheFor(resource, afterRevision).addWatcher(prefix, afterRevision, cb);
  }

  get(key: string): Promise<KeyValue | null> {
    return this.backend.get(key);
  }

  list(prefix: string, opts?: ListOptions): Promise<ListResult> {
    return this.backend.list(prefix, opts);
  }

  count(prefix: string): Promise<number> {
    return this.backend.count(prefix);
  }

  create(key: string, value: string): Promise<KeyValue> {
    return this.backend.create(key, value);
  }

  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return this.backend.update(key, value, expectedModRevision);
  }

  delete(key: string, expectedModRevision?: number): Promise<{ revision: number; prev: KeyValue }> {
    return this.backend.delete(key, expectedModRevision);
  }

  currentRevision(): Promise<number> {
    return this.backend.currentRevision();
  }

  /** Compacting storage shrinks every cache's window too: history the store no longer has is not served. */
  async compact(revision: number): Promise<void> {
    await this.backend.compact(revision);
    for (const cache of this.resources.values()) cache.forgetThrough(revision);
  }

  compactedRevision(): Promise<number> {
    return this.backend.compactedRevision();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const cache of this.resources.values()) cache.stop(new Error('watch cache closed'));
    this.resources.clear();
    await this.backend.close();
  }

  private cacheFor(resource: string, startHint?: number): ResourceCache {
    let cache = this.resources.get(resource);
    if (!cache) {
      const created = new ResourceCache(this.backend, resource, this.capacity, startHint, () => {
        if (this.resources.get(resource) === created) this.resources.delete(resource);
      });
      cache = created;
      this.resources.set(resource, cache);
    }
    return cache;
  }
}

interface CacheWatcher {
  prefix: string;
  sink: WatchSink;
}

/** Fixed-capacity FIFO of events in revision order. */
class Ring {
  private readonly buf: Array<WatchEvent | undefined>;
  private head = 0;
  size = 0;

  constructor(readonly capacity: number) {
    this.buf = new Array<WatchEvent | undefined>(capacity);
  }

  /** Appends; returns the evicted event when full. */
  push(ev: WatchEvent): WatchEvent | undefined {
    if (this.size < this.capacity) {
      this.buf[(this.head + this.size++) % this.capacity] = ev;
      return undefined;
    }
    const evicted = this.buf[this.head];
    this.buf[this.head] = ev;
    this.head = (this.head + 1) % this.capacity;
    return evicted;
  }

  at(i: number): WatchEvent {
    return this.buf[(this.head + i) % this.capacity] as WatchEvent;
  }

  /** Events with a revision above `revision`, oldest first. */
  after(revision: number): WatchEvent[] {
    let lo = 0;
    let hi = this.size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).kv.modRevision <= revision) lo = mid + 1;
      else hi = mid;
    }
    const out: WatchEvent[] = [];
    for (let i = lo; i < this.size; i++) out.push(this.at(i));
    return out;
  }
}

class ResourceCache {
  readonly ready: Promise<void>;
  private state: 'starting' | 'ready' | 'stopped' = 'starting';
  private readonly items = new Map<string, KeyValue>();
  /** Keys of `items`, kept sorted for prefix and paginated lists. */
  private readonly sorted: string[] = [];
  private readonly ring: Ring;
  /** Every event above this revision is in the ring. */
  private windowStart = 0;
  /** The state reflects every event up to this revision. */
  private revision = 0;
  private readonly watchers = new Set<CacheWatcher>();
  private readonly waiting: CacheWatcher[] = [];
  private backendWatch: Watcher | null = null;

  constructor(
    private readonly backend: Store,
    private readonly resource: string,
    capacity: number,
    startHint: number | undefined,
    private readonly onStopped: () => void,
  ) {
    this.ring = new Ring(capacity);
    this.ready = this.start(startHint);
    // Failures reach callers through `ready` or their watchers; never as an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  /** One list, then one watch from the list's revision. Starting at the first watcher's revision (when the
   *  backend still has it) puts that watcher inside the window instead of making it "too old". */
  private async start(hint: number | undefined): Promise<void> {
    try {
      let listed: ListResult | null = null;
      if (hint === 0 && (await this.backend.compactedRevision()) === 0) {
        // "From the very beginning": the state before the first write is empty.
        listed = { kvs: [], revision: 0, more: false };
      } else if (hint !== undefined && hint > 0) {
        try {
          listed = await this.backend.list(this.resource, { revision: hint });
        } catch (err) {
          if (!(err instanceof CompactedError) && !(err instanceof FutureRevisionError)) throw err;
        }
      }
      listed ??= await this.backend.list(this.resource);
      if (this.state === 'stopped') return;
      for (const kv of listed.kvs) {
        this.items.set(kv.key, kv);
        this.sorted.push(kv.key);
      }
      this.sorted.sort(compareKeys);
      this.revision = this.windowStart = listed.revision;
      this.backendWatch = this.backend.watch(this.resource, listed.revision, {
        onEvents: (events) => this.apply(events),
        onError: (err) => this.stop(err),
      });
      this.state = 'ready';
      for (const w of this.waiting.splice(0)) this.join(w);
    } catch (err) {
      this.stop(err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  }

  forgetThrough(revision: number): void {
    if (revision > this.windowStart && revision <= this.revision) this.windowStart = revision;
  }

  addWatcher(prefix: string, afterRevision: number, cb: WatchCallbacks): Watcher {
    const w: CacheWatcher = {
      prefix,
      sink: new WatchSink(cb, afterRevision, () => {
        this.watchers.delete(w);
        const i = this.waiting.indexOf(w);
        if (i >= 0) this.waiting.splice(i, 1);
      }),
    };
    if (this.state === 'stopped') w.sink.fail(new Error('watch cache stopped'));
    else if (this.state === 'starting') this.waiting.push(w);
    else this.join(w);
    return w.sink;
  }

  private join(w: CacheWatcher): void {
    if (w.sink.closed) return;
    const after = w.sink.lastRevision;
    if (after < this.windowStart) {
      w.sink.fail(new CompactedError(after, this.windowStart));
      return;
    }
    const replay = this.ring.after(after).filter((ev) => ev.kv.key.startsWith(w.prefix));
    if (replay.length > 0) w.sink.push(replay);
    this.watchers.add(w);
  }

  private apply(events: WatchEvent[]): void {
    if (this.state !== 'ready') return;
    const fresh: WatchEvent[] = [];
    const floor = this.revision;
    for (const ev of events) {
      const rev = ev.kv.modRevision;
      if (rev <= floor) continue;
      this.revision = Math.max(this.revision, rev);
      const key = ev.kv.key;
      // The previous value is the one cached (read back from the backend as a separate copy): keep one copy
      // of it, so the history does not hold every object twice.
      const cached = this.items.get(key);
      if (cached && ev.prevKv && cached !== ev.prevKv && cached.modRevision === ev.prevKv.modRevision && cached.value === ev.prevKv.value) ev.prevKv = cached;
      if (ev.type === 'put') {
        if (!this.items.has(key)) this.sorted.splice(lowerBound(this.sorted, key), 0, key);
        this.items.set(key, ev.kv);
      } else if (this.items.delete(key)) {
        this.sorted.splice(lowerBound(this.sorted, key), 1);
      }
      const evicted = this.ring.push(ev);
      if (evicted) this.windowStart = evicted.kv.modRevision;
      fresh.push(ev);
    }
    if (fresh.length === 0) return;
    for (const w of this.watchers) {
      const mine = fresh.filter((ev) => ev.kv.key.startsWith(w.prefix));
      if (mine.length > 0) w.sink.push(mine);
    }
  }

  list(prefix: string, opts: CachedListOptions): ListResult {
    let from = prefix;
    if (opts.after !== undefined && compareKeys(opts.after + '\0', from) > 0) from = opts.after + '\0';
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    const kvs: KeyValue[] = [];
    let more = false;
    for (let i = lowerBound(this.sorted, from); i < this.sorted.length; i++) {
      const key = this.sorted[i];
      if (!key.startsWith(prefix)) break;
      if (kvs.length >= limit) {
        more = true;
        break;
      }
      kvs.push(this.items.get(key) as KeyValue);
    }
    return { kvs, revision: this.revision, more };
  }

  /** Ends the cache: its watchers get `err`, and the next user starts a fresh cache. */
  stop(err: Error): void {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.backendWatch?.cancel();
    this.backendWatch = null;
    for (const w of [...this.watchers, ...this.waiting]) w.sink.fail(err);
    this.watchers.clear();
    this.waiting.length = 0;
    this.onStopped();
  }
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function lowerBound(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
