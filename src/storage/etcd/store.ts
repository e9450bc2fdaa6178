// The etcd v3 backend. Every write is one transaction whose compare is the store contract's precondition
// (create: the key has never been created; update/delete: its mod revision is the expected one), so the
// revision etcd assigns is the write's revision and nothing is read-modify-written on this side.
//
// Talks to etcd through etcd3's raw gRPC clients (kv, watchClient) rather than its builders, to keep
// control of revisions, prev_kv and compaction errors.

import {
  Etcd3,
  type ICompare,
  type IKeyValue,
  type IOptions,
  type IRangeRequest,
  type IRequestOp,
  type ITxnResponse,
} from 'etcd3';
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
  type Watcher,
} from '../interface.js';
import { KeySpace } from './keys.js';
import { WatchHub } from './watch.js';

export interface EtcdStoreOptions {
  /** Prepended to every key in etcd, to share one etcd between clusters or tests. Default '' (the API
   *  server's keys already begin with /registry/). */
  prefix?: string;
  /** Extra etcd3 client options (TLS credentials, auth, timeouts). */
  client?: Partial<IOptions>;
  /** How long a broken watch stream may keep reconnecting before its watches fail. Default 60 s. */
  watchReconnectTimeoutMs?: number;
}

const COMPACTED = 'required revision has been compacted';
const FUTURE = 'required revision is a future revision';

export class EtcdStore implements Store {
  readonly name = 'etcd';
  private readonly client: Etcd3;
  private readonly keys: KeySpace;
  private readonly hub: WatchHub;
  /** Highest compacted revision etcd has told us about; compaction never goes backwards. */
  private compacted = 0;
  private closed = false;

  constructor(endpoints: string[], opts: EtcdStoreOptions = {}) {
    this.client = new Etcd3({
      ...opts.client,
      hosts: endpoints,
      grpcOptions: {
        // A large list can exceed gRPC's 4 MiB default; etcd itself bounds responses.
        'grpc.max_receive_message_length': -1,
        ...opts.client?.grpcOptions,
      },
    });
    this.keys = new KeySpace(opts.prefix ?? '');
    this.hub = new WatchHub(
      this.client,
      this.keys,
      (rev) => this.noteCompacted(rev),
      () => this.compacted,
      { reconnectTimeoutMs: opts.watchReconnectTimeoutMs },
    );
  }

  /** Resolves once etcd answers, and learns how far it has been compacted. */
  async ready(): Promise<void> {
    await this.currentRevision();
    await this.compactedRevision();
  }

  async get(key: string): Promise<KeyValue | null> {
    const res = await this.range({ key: this.keys.key(key) });
    return res.kvs.length > 0 ? this.keys.kv(res.kvs[0]) : null;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const { start, end } = this.keys.range(prefix);
    let from = start;
    if (opts.after !== undefined) {
      const after = Buffer.concat([this.keys.key(opts.after), Buffer.from([0])]);
      if (Buffer.compare(after, from) > 0) from = after;
    }
    const revision = opts.revision ?? 0;
    if (revision > 0 && revision < this.compacted) throw new CompactedError(revision, this.compacted);
    const res = await this.range(
      { key: from, range_end: end, revision, limit: opts.limit && opts.limit > 0 ? opts.limit : 0 },
      revision,
    );
    return {
      kvs: res.kvs.map((kv) => this.keys.kv(kv)),
      revision: revision || Number(res.header.revision),
      more: res.more,
    };
  }

  async count(prefix: string): Promise<number> {
    const { start, end } = this.keys.range(prefix);
    const res = await this.range({ key: start, range_end: end, count_only: true });
    return Number(res.count);
  }

  async create(key: string, value: string): Promise<KeyValue> {
    const k = this.keys.key(key);
    const res = await this.txn(
      [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
      { request_put: { key: k, value: Buffer.from(value, 'utf8') } },
      k,
    );
    if (!res.succeeded) throw new KeyExistsError(key);
    const rev = Number(res.header.revision);
    return { key, value, createRevision: rev, modRevision: rev };
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    const k = this.keys.key(key);
    const res = await this.txn(
      [
        { key: k, target: 'Create', result: 'Greater', create_revision: 0 },
        { key: k, target: 'Mod', result: 'Equal', mod_revision: expectedModRevision },
      ],
      { request_put: { key: k, value: Buffer.from(value, 'utf8'), prev_kv: true } },
      k,
    );
    if (!res.succeeded) throw this.casFailure(key, res);
    const prev = res.responses[0].response_put.prev_kv;
    return { key, value, createRevision: Number(prev.create_revision), modRevision: Number(res.header.revision) };
  }

  async delete(key: string, expectedModRevision?: number): Promise<{ revision: number; prev: KeyValue }> {
    const k = this.keys.key(key);
    const compare: ICompare[] = [{ key: k, target: 'Create', result: 'Greater', create_revision: 0 }];
    if (expectedModRevision !== undefined) {
      compare.push({ key: k, target: 'Mod', result: 'Equal', mod_revision: expectedModRevision });
    }
    const res = await this.txn(compare, { request_delete_range: { key: k, prev_kv: true } }, k);
    if (!res.succeeded) throw this.casFailure(key, res);
    const prevKvs: IKeyValue[] = res.responses[0].response_delete_range.prev_kvs;
    return { revision: Number(res.header.revision), prev: this.keys.kv(prevKvs[0]) };
  }

  watch(prefix: string, afterRevision: number, cb: WatchCallbacks): Watcher {
    return this.hub.watch(prefix, afterRevision, cb);
  }

  async currentRevision(): Promise<number> {
    // A count over an empty range is the cheapest request that carries the header revision.
    const res = await this.range({ key: Buffer.from([0]), count_only: true });
    return Number(res.header.revision);
  }

  async compact(revision: number): Promise<void> {
    if (revision <= this.compacted) return;
    try {
      await this.client.kv.compact({ revision, physical: true });
    } catch (err) {
      const msg = errorMessage(err);
      if (msg.includes(COMPACTED)) {
        await this.compactedRevision();
        return;
      }
      if (msg.includes(FUTURE)) throw new FutureRevisionError(revision, await this.currentRevision());
      throw err;
    }
    this.noteCompacted(revision);
  }

  /** etcd has no call that reports its compacted revision, but a read at a revision fails exactly when that
   *  revision is below it: binary search between what we know and the current revision. */
  async compactedRevision(): Promise<number> {
    let lo = this.compacted; // known: reads below lo fail (or lo is 0)
    let hi = await this.currentRevision(); // reads at the current revision always succeed
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (mid < 1) {
        lo = 1;
        continue;
      }
      try {
        await this.client.kv.range({ key: Buffer.from([0]), revision: mid, count_only: true });
        hi = mid;
      } catch (err) {
        if (!errorMessage(err).includes(COMPACTED)) throw err;
        lo = mid + 1;
      }
    }
    // Readable from `lo` on; revision 1 readable means nothing (that matters) was compacted.
    this.noteCompacted(lo <= 1 ? 0 : lo);
    return this.compacted;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hub.close();
    this.client.close();
  }

  private noteCompacted(revision: number): void {
    if (revision > this.compacted) this.compacted = revision;
  }

  private async range(req: IRangeRequest, revision = 0) {
    try {
      return await this.client.kv.range(req);
    } catch (err) {
      const msg = errorMessage(err);
      if (msg.includes(COMPACTED)) {
        this.noteCompacted(revision + 1);
        throw new CompactedError(revision, await this.compactedRevision());
      }
      if (msg.includes(FUTURE)) throw new FutureRevisionError(revision, await this.currentRevision());
      throw err;
    }
  }

  /** One compare-and-put/delete; on failure the txn reads the key back, for the error's current value. */
  private txn(
compare: ICompare[], success: IRequestOp, key: Buffer,
  ): Promise<ITxnResponse> {
    return this.client.kv.txn({ compare, success: [success], failure: [{ request_range: { key } }] });
  }

  private casFailure(key: string, res: ITxnResponse): Error {
    const kvs = res.responses[0]?.response_range?.kvs ?? [];
    if (kvs.length === 0) return new KeyNotFoundError(key);
    return new RevisionMismatchError(key, this.keys.kv(kvs[0]));
  }
}

/** Connects and waits until etcd answers. */
export async function openEtcdStore(endpoints: string[], opts?: EtcdStoreOptions): Promise<EtcdStore> {
  const store = new EtcdStore(endpoints, opts);
  try {
    await store.ready();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
