// The storage contract: etcd v3's model, reduced to what the API server needs. One key space, one global
// revision that every write advances by exactly one, compare-and-swap writes, and watch from any retained
// revision. Backends: sqlite/ (embedded, the default) and etcd/. Everything above this file is backend-blind.

export interface KeyValue {
  key: string;
  /** Serialized object (JSON text). The API server owns the encoding. */
  value: string;
  /** Revision of the write that created the key (unchanged by updates). */
  createRevision: number;
  /** Revision of the last write to the key. Becomes metadata.resourceVersion. */
  modRevision: number;
}

export interface ListOptions {
  /** List as of this revision (0 or undefined = latest). Older than the compacted revision → CompactedError
   *  (the compacted revision itself is still a complete snapshot); newer than the current one →
   *  FutureRevisionError. */
  revision?: number;
  /** At most this many keys (0 or undefined = no limit). */
  limit?: number;
  /** Only keys strictly greater than this one (for pagination). */
  after?: string;
}

export interface ListResult {
  kvs: KeyValue[];
  /** The revision the list was served at (the store's current revision when none was asked for). */
  revision: number;
  /** True when `limit` cut the result short. */
  more: boolean;
}

export type WatchEventType = 'put' | 'delete';

export interface WatchEvent {
  type: WatchEventType;
  /** For put: the new value. For delete: key with the deletion's revision as modRevision and the last value. */
  kv: KeyValue;
  /** The value before this event, when there was one. */
  prevKv?: KeyValue;
  /** True when a put created the key. */
  created: boolean;
}

export interface Watcher {
  /** Stop delivering events. Idempotent. */
  cancel(): void;
}

export interface WatchCallbacks {
  /** Events arrive in revision order, without gaps or duplicates, each batch for one or more revisions. */
  onEvents(events: WatchEvent[]): void;
  /** The watch ended abnormally (compacted history, backend lost). No further events will arrive. */
  onError(err: Error): void;
}

export class KeyExistsError extends Error {
  constructor(readonly key: string) {
    super(`key exists: ${key}`);
  }
}

export class KeyNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`key not found: ${key}`);
  }
}

/** A compare-and-swap lost: the key's modRevision was not the expected one. Carries the current value. */
export class RevisionMismatchError extends Error {
  constructor(readonly key: string, readonly current: KeyValue | null) {
    super(`revision mismatch on ${key}`);
  }
}

/** A list or watch asked for history older than the compaction window. Maps to 410 Gone / Expired. */
export class CompactedError extends Error {
  constructor(readonly requested: number, readonly compacted: number) {
    super(`required revision ${requested} has been compacted (oldest retained ${compacted + 1})`);
  }
}

export interface Store {
  /** Open or create the backing store; resolves when reads and writes can be served. */
  readonly name: string;
  get(key: string): Promise<KeyValue | null>;
  /** Keys with the given prefix, in key order. */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** Number of keys with the given prefix at the latest revision. */
  count(prefix: string): Promise<number>;
  /** Create the key; KeyExistsError when present. Resolves with the new revision once durable. */
  create(key: string, value: string): Promise<KeyValue>;
  /** Replace the key's value iff its modRevision equals `expectedModRevision`; else RevisionMismatchError
   *  (KeyNotFoundError when gone). Resolves once durable. */
  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue>;
  /** Delete the key (iff its modRevision equals `expectedModRevision` when given). Resolves with the last
   *  value and the deletion's revision once durable. */
  delete(key: string, expectedModRevision?: number): Promise<{ revision: number; prev: KeyValue }>;
  /** Watch every key under the prefix for changes with revision > `afterRevision` (0 = all retained history;
   *  pass the revision of a list to continue from it). CompactedError (through onError, or thrown) when
   *  `afterRevision` is below compactedRevision(). The backends here never throw and never call back before
   *  watch() has returned. An exact key works as a prefix too; callers filter out longer keys. */
  watch(prefix: string, afterRevision: number, cb: WatchCallbacks): Watcher;
  /** The latest revision. */
  currentRevision(): Promise<number>;
  /** Drop history at and below `revision` (current values are kept). */
  compact(revision: number): Promise<void>;
  /** The revision at and below which history is gone (0 = nothing compacted). */
  compactedRevision(): Promise<number>;
  /** Optional: serve a list from memory ("any recent state", resourceVersion=0), as the watch cache does. */
  listCached?(prefix: string, opts?: { limit?: number; after?: string }): Promise<ListResult>;
  close(): Promise<void>;
}

/** A list asked for a revision the store has not reached yet. kube-apiserver answers "Too large resource version". */
export class FutureRevisionError extends Error {
  constructor(readonly requested: number, readonly current: number) {
    super(`required revision ${requested} is a future revision (current ${current})`);
  }
}
