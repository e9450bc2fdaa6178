// All of a store's watches multiplexed on one etcd gRPC watch stream, with our own bookkeeping instead of
// etcd3's WatchBuilder: that one hides `compact_revision` (which must become CompactedError) and resumes
// after a reconnect from a header revision that can run ahead of the events it has delivered.
//
// Watch ids are chosen here (etcd >= 3.4 accepts client-assigned ids), so creates can be pipelined and
// responses routed without relying on their order. After a stream breaks, every watch is re-created from
// the revision after the last one it delivered, so consumers see no gap and no duplicate.

import type { Etcd3, IDuplexStream, IEvent, IWatchRequest, IWatchResponse } from 'etcd3';
import { CompactedError, type WatchCallbacks, type WatchEvent, type Watcher } from '../interface.js';
import { WatchSink } from '../sink.js';
import type { KeySpace } from './keys.js';

interface HubWatch {
  id: number;
  start: Buffer;
  end: Buffer;
  sink: WatchSink;
  /** The watch has been sent on the current stream. */
  attached: boolean;
}

export interface WatchHubOptions {
  /** Give up on a broken stream (failing every watch) after this long without reconnecting. Default 60 s. */
  reconnectTimeoutMs?: number;
}

type Stream = IDuplexStream<IWatchRequest, IWatchResponse>;

export class WatchHub {
  private stream: Stream | null = null;
  private connecting = false;
  private nextId = 1;
  private readonly watches = new Map<number, HubWatch>();
  private closed = false;
  private brokenSince = 0;
  private backoffMs = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly reconnectTimeoutMs: number;

  constructor(
    private readonly client: Etcd3,
    private readonly keys: KeySpace,
    /** Told about every compaction etcd reports, so the store's compactedRevision() stays current. */
    private readonly onCompacted: (revision: number) => void,
    /** The store's own view of compaction, checked before asking etcd. */
    private readonly knownCompacted: () => number,
    opts: WatchHubOptions = {},
  ) {
    this.reconnectTimeoutMs = opts.reconnectTimeoutMs ?? 60_000;
  }

  watch(prefix: string, afterRevision: number, cb: WatchCallbacks): Watcher {
    const { start, end } = this.keys.range(prefix);
    const id = this.nextId++;
    const w: HubWatch = {
      id,
      start,
      end,
      attached: false,
      sink: new WatchSink(cb, afterRevision, () => this.detach(w)),
    };
    if (this.closed) {
      w.sink.fail(new Error('etcd store is closed'));
      return w.sink;
    }
    // etcd still serves the compacted revision itself; refuse it too, so both backends agree.
    const compacted = this.knownCompacted();
    if (afterRevision < compacted) {
      w.sink.fail(new CompactedError(afterRevision, compacted));
      return w.sink;
    }
    this.watches.set(id, w);
    if (this.stream) this.attach(w);
    else this.connect();
    return w.sink;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    for (const w of [...this.watches.values()]) w.sink.fail(new Error('etcd store closed'));
    this.watches.clear();
    this.dropStream();
  }

  private attach(w: HubWatch): void {
    if (!this.stream || w.attached) return;
    w.attached = true;
    this.stream.write({
      create_request: {
        key: w.start,
        range_end: w.end,
        start_revision: w.sink.lastRevision + 1,
        prev_kv: true,
        progress_notify: true,
        watch_id: w.id,
      },
    });
  }

  private detach(w: HubWatch): void {
    this.watches.delete(w.id);
    if (this.stream && w.attached) this.stream.write({ cancel_request: { watch_id: w.id } });
    if (this.watches.size === 0) this.dropStream();
  }

  private connect(): void {
    if (this.connecting || this.stream || this.closed) return;
    this.connecting = true;
    this.client.watchClient
      .watch()
      .then((stream) => {
        this.connecting = false;
        if (this.closed || this.watches.size === 0) {
          stream.cancel();
          return;
        }
        this.stream = stream;
        stream.on('data', (res) => this.onResponse(stream, res));
        stream.on('error', (err) => this.onBroken(stream, err));
        stream.on('end', () => this.onBroken(stream, new Error('etcd watch stream ended')));
        for (const w of this.watches.values()) this.attach(w);
      })
      .catch((err: unknown) => {
        this.connecting = false;
        this.onBroken(null, err instanceof Error ? err : new Error(String(err)));
      });
  }

  private dropStream(): void {
    const s = this.stream;
    this.stream = null;
    for (const w of this.watches.values()) w.attached = false;
    if (s) {
      try {
        s.cancel();
      } catch {
        // Already torn down.
      }
    }
  }

  private onBroken(stream: Stream | null, err: Error): void {
    if (stream !== null && stream !== this.stream) return;
    this.dropStream();
    if (this.closed || this.watches.size === 0) return;
    const now = Date.now();
    if (this.brokenSince === 0) this.brokenSince = now;
    if (now - this.brokenSince > this.reconnectTimeoutMs) {
      for (const w of [...this.watches.values()]) w.sink.fail(new Error(`etcd watch lost: ${err.message}`));
      this.watches.clear();
      this.brokenSince = 0;
      return;
    }
    this.backoffMs = Math.min(Math.max(this.backoffMs * 2, 100), 5_000);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), this.backoffMs);
    this.retryTimer.unref();
  }

  private onResponse(stream: Stream, res: IWatchResponse): void {
    if (stream !== this.stream) return;
    this.brokenSince = 0;
    this.backoffMs = 0;
    const w = this.watches.get(Number(res.watch_id));
    if (!w) return; // canceled by us; etcd may still be flushing it
    const compactRevision = Number(res.compact_revision ?? 0);
    if (res.canceled) {
      this.watches.delete(w.id);
      if (compactRevision > 0) {
        this.onCompacted(compactRevision);
        w.sink.fail(new CompactedError(w.sink.lastRevision, compactRevision));
      } else {
        w.sink.fail(new Error(`etcd canceled the watch: ${res.cancel_reason || 'no reason given'}`));
      }
      return;
    }
    if (res.events && res.events.length > 0) {
      w.sink.push(res.events.map((ev) => this.toEvent(ev)));
    } else if (!res.created && !res.fragment) {
      // A progress notification: etcd sends these only to watchers that have been sent every event up to
      // the header revision, so resuming after it is safe.
      w.sink.lastRevision = Math.max(w.sink.lastRevision, Number(res.header.revision));
    }
  }

  private toEvent(ev: IEvent): WatchEvent {
    const prevKv = ev.prev_kv ? this.keys.kv(ev.prev_kv) : undefined;
    if (ev.type === 'Delete') {
      const revision = Number(ev.kv.mod_revision);
      const kv = prevKv
        ? { ...prevKv, modRevision: revision }
        : { key: this.keys.strip(ev.kv.key), value: '', createRevision: 0, modRevision: revision };
      return { type: 'delete', kv, prevKv, created: false };
    }
    const kv = this.keys.kv(ev.kv);
    return { type: 'put', kv, prevKv, created: kv.createRevision === kv.modRevision };
  }
}
