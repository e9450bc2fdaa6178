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
  const write = (type: string, object: object, live = true) => {
    // Objects shared by every watcher of the event are serialised once for all of them; tables are per watcher.
    writeJson(type, asTable ? JSON.stringify(object) : sharedJson(object), live);
  };
  const writeJson = (type: string, json: string, live = true) => {
    if (closed) return;
    res.write(`{"type":"${type}","object":${json}}\n`);
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
  const encode = (o: KubeObject): object => {
    const out = registries.convert(o, rr.info);
    if (!asTable) return out;
    const t = tableFor(rr.info, [out], { now: Date.now(), includeObject: tableOpts.includeObject, noHeaders: sentColumns });
    sentColumns = true;
    t.metadata = { resourceVersion: out.metadata.resourceVersion };
    return t;
  };
  // Stored objects go out as stored unless converted or printed: their JSON is the event's own.
  const asStored = !asTable && !registries.converts(rr.info);
  const emit = (type: WatchedEvent['type'], ev: WatchedEvent) => {
    if (asStored) writeJson(type, ev.json);
    else write(type, encode(ev.object));
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
      // Without a selector every state matches: neither needs decoding to know it does.
      const now = !filter || filter(ev.object);
      const before = ev.hasPrev && (!filter || filter(ev.prev!));
      lastRv = String(ev.revision);
      if (ev.type === 'MODIFIED') {
        if (now && before) emit('MODIFIED', ev);
        else if (now) emit('ADDED', ev);
        else if (before) emit('DELETED', ev);
      } else if (now) {
        emit(ev.type, ev);
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
