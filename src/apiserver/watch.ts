import type { ServerResponse } from 'node:http';
import type { KubeObject } from '../api/object.js';
import { StatusError, badRequest } from '../api/errors.js';
import { apiVersionOf } from '../api/resources.js';
import { tableFor } from '../api/printers/index.js';
import type { Ctx } from './handler.js';
import { selectorFilter } from './handler.js';
import type { WatchedEvent } from './registry/generic.js';

// Watch streams (shared/kubectl-compat.md A7): one JSON event per line over a chunked response. An object
// that stops matching the selector is reported DELETED, one that starts matching ADDED, as kube-apiserver does.

const BOOKMARK_INTERVAL_MS = 60_000;
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
const INITIAL_CHUNK_BYTES = 1024 * 1024;

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/** JSON text of objects sent on watches, so an event reaching many watchers is stringified once. */
const jsonOf = new WeakMap<object, string>();

function sharedJson(object: object): string {
  let json = jsonOf.get(object);
  if (json === undefined) {
    json = JSON.stringify(object);
    jsonOf.set(object, json);
  }
  return json;
}

export async function serveWatch(ctx: Ctx): Promise<void> {
  const { req, res, url, rr, registries } = ctx;
  const q = url.searchParams;
  const reg = registries.get(rr.info);
  const filter = selectorFilter(rr.info, q);
  const matches = (o: KubeObject) => !filter || filter(o);
  const rvParam = q.get('resourceVersion') ?? '';
  if (rvParam !== '' && !/^\d+$/.test(rvParam)) throw badRequest(`resourceVersion: Invalid value: "${rvParam}": must be a non-negative integer`);
  const timeoutSeconds = Number(q.get('timeoutSeconds') ?? 0) || 0;
  const bookmarks = q.get('allowWatchBookmarks') === 'true';
  const asTable = /as=Table/.test(String(req.headers.accept ?? ''));
  const io = q.get('includeObject');
  const tableOpts = { includeObject: (io === 'Object' || io === 'None' ? io : 'Metadata') as 'Object' | 'None' | 'Metadata' };
  // A watch on one object by name narrows the storage prefix no further; the field selector filters.
  const namespace = rr.namespace;

  let closed = false;
  let sentColumns = false;
  let lastRv = rvParam;
  let timer: NodeJS.Timeout | undefined;
  let bookmarkTimer: NodeJS.Timeout | undefined;
  let cancel: (() => void) | undefined;

  const finish = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    clearInterval(bookmarkTimer);
    cancel?.();
    res.end();
  };
  res.on('close', finish);

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();

  /** `live`: events after the initial state, whose client is dropped when it falls too far behind. */
  const write = (type: string, object: unknown, live = true) => {
    if (closed) return;
    // Objects shared by every watcher of the event (see decodedEvent) are serialised once for all of them.
    const json = !asTable && typeof object === 'object' && object !== null ? sharedJson(object) : undefined;
    res.write(json !== undefined ? `{"type":${JSON.stringify(type)},"object":${json}}\n` : JSON.stringify({ type, object }) + '\n');
    // A client that stops reading is dropped, as kube-apiserver drops a watcher whose buffer fills: it
    // re-watches from its last resourceVersion, and the server's memory stays bounded.
    if (live && res.writableLength > MAX_BUFFERED_BYTES) {
      closed = true;
      clearTimeout(timer);
      clearInterval(bookmarkTimer);
      cancel?.();
      res.destroy();
    }
  };
  const encode = (o: KubeObject): unknown => {
    const out = registries.convert(o, rr.info);
    if (!asTable) return out;
    const t = tableFor(rr.info, [out], { now: Date.now(), includeObject: tableOpts.includeObject, noHeaders: sentColumns });
    sentColumns = true;
    t.metadata = { resourceVersion: out.metadata.resourceVersion };
    return t;
  };
  const send = (evs: WatchedEvent[]) => {
    // One write to the socket (one TLS record) for the whole batch rather than one per event.
    const corked = evs.length > 1 && !closed;
    if (corked) res.cork();
    try {
      sendEach(evs);
    } finally {
      if (corked) res.uncork();
    }
  };
  const sendEach = (evs: WatchedEvent[]) => {
    for (const ev of evs) {
      const now = matches(ev.object);
      // Without a selector every state matches: the previous one need not be decoded to know it did.
      const before = ev.hasPrev && (!filter || matches(ev.prev!));
      lastRv = String(ev.revision);
      if (ev.type === 'MODIFIED') {
        if (now && before) write('MODIFIED', encode(ev.object));
        else if (now) write('ADDED', encode(ev.object));
        else if (before) write('DELETED', encode(ev.object));
      } else if (now) {
        write(ev.type, encode(ev.object));
      }
    }
  };
  const fail = (e: StatusError) => {
    write('ERROR', e.toStatus());
    finish();
  };

  try {
    let from: number;
    if (rvParam === '' || rvParam === '0') {
      // Start with the state as it is: synthetic ADDED events, then changes after the list's revision.
      // The state may be far larger than a live watcher's buffer: it goes out at the pace the client reads,
      // and the changes since are replayed from the watch cache afterwards.
      const list = await reg.list(namespace, { filter });
      res.cork();
      for (const o of list.items) {
        write('ADDED', encode(o), false);
        if (res.writableLength > INITIAL_CHUNK_BYTES) {
          res.uncork();
          if (res.writableNeedDrain) await drainedOrClosed(res);
          if (closed) return;
          res.cork();
        }
      }
      res.uncork();
      from = list.revision;
      lastRv = String(from);
    } else {
      from = Number(rvParam);
    }
    if (closed) return;
    const w = reg.watch(namespace, from, send, fail);
    cancel = () => w.cancel();
  } catch (e) {
    if (e instanceof StatusError) {
      fail(e);
      return;
    }
    throw e;
  }

  if (timeoutSeconds > 0) timer = setTimeout(finish, timeoutSeconds * 1000);
  if (bookmarks) {
    bookmarkTimer = setInterval(() => {
      write('BOOKMARK', { kind: rr.info.kind, apiVersion: apiVersionOf(rr.info), metadata: { resourceVersion: lastRv } });
    }, BOOKMARK_INTERVAL_MS);
  }
}
