import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../../api/object.js';
import { isPlainObject } from '../../api/object.js';
import { copyJson as clone } from './copy.js';
import type { ResourceInfo } from '../../api/resources.js';
import { apiVersionOf } from '../../api/resources.js';
import { StatusError, alreadyExists, conflict, gone, invalid, notFound, type StatusCause } from '../../api/errors.js';
import {
  CompactedError,
  FutureRevisionError,
  KeyExistsError,
  KeyNotFoundError,
  RevisionMismatchError,
  type KeyValue,
  type Store,
  type WatchEvent,
} from '../../storage/interface.js';
import { listPrefix, objectKey } from './keys.js';
import { decodeKv, decodeStored, encodeStored, storedJson } from './stored.js';
import { hasStatusSubresource, stableEqual } from './strategy.js';

// The one generic registry every resource goes through (kube-apiserver's genericregistry.Store): system
// metadata, optimistic concurrency, generation, status split, graceful deletion and finalizers. Kind-specific
// behaviour arrives through Strategy (what the kind is) and Admission (defaulting, validation, allocation).

export type Operation = 'create' | 'update' | 'delete';

export interface Admission {
  /** Defaulting, strategy and allocation; may throw StatusError. `old` is set on update; `subresource` names
   *  the subresource written (status writes skip what only the main resource does). */
  mutate(op: Operation, info: ResourceInfo, obj: KubeObject, old: KubeObject | undefined, dryRun: boolean, subresource?: string): Promise<void>;
  /** Validation: causes for a 422. */
  validate(op: Operation, info: ResourceInfo, obj: KubeObject, old: KubeObject | undefined, subresource?: string): StatusCause[];
  /** Called after a successful delete (release allocations). */
  released?(info: ResourceInfo, obj: KubeObject): void;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  /** Subresource being written (status, scale, ...), for managedFields and the status split. */
  subresource?: string;
  /** Server-side apply already recorded the manager's fields: do not track this write as an Update. */
  applied?: boolean;
}

export interface DeleteOptions {
  dryRun?: boolean;
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** Mutates a live object for update or patch: returns the desired object. It is handed a private copy of the
 *  live object; returning that copy passes it back to the registry, which then changes it in place, so it must
 *  not hold anything the caller keeps using (across retries, say). */
export type UpdateFn = (current: KubeObject) => Promise<KubeObject> | KubeObject;

/** A storage event as watchers see it. Its states are decoded on first use, and its JSON is built from the
 *  stored text: a watcher that forwards events without selecting or converting them never parses one. */
export interface WatchedEvent {
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: KubeObject;
  /** JSON text of `object`. */
  readonly json: string;
  /** The previous state, for selector transitions. */
  readonly prev?: KubeObject;
  /** Whether the event carries the previous state (without decoding it). */
  readonly hasPrev: boolean;
  readonly revision: number;
}

export interface Hooks {
  /** Manage managedFields on a non-apply write. */
  trackManagedFields?(info: ResourceInfo, old: KubeObject | undefined, obj: KubeObject, manager: string, subresource: string | undefined): void;
}

/**
 * The object as stored at `kv`, from the object just encoded into it rather than by parsing the text back:
 * the same JSON, once the values JSON cannot hold (undefined) are gone. Objects from decoded requests and
 * stored text hold none, so the common case only sets the resourceVersion.
 */
function storedState(written: KubeObject, kv: KeyValue): KubeObject {
  const obj = pureJson(written) ? written : decodeKv(kv);
  obj.metadata.resourceVersion = String(kv.modRevision);
  return obj;
}

/** No undefined, function, non-finite number or non-plain object anywhere: JSON.parse(JSON.stringify(v)) equals v. */
function pureJson(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0);
    case 'object': {
      if (v === null) return true;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!pureJson(v[i])) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) return false;
      for (const k in v as Record<string, unknown>) if (!pureJson((v as Record<string, unknown>)[k])) return false;
      return true;
    }
    default:
      return false;
  }
}

/** etcd's default request limit: larger objects are refused, whatever the backend. */
const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

function encode(obj: KubeObject): string {
  const text = encodeStored(obj);
  // UTF-8 takes at most three bytes per UTF-16 unit: only long texts need counting.
  if (text.length * 3 > MAX_OBJECT_BYTES && Buffer.byteLength(text) > MAX_OBJECT_BYTES) throw new StatusError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 1572864 bytes for a stored object');
  return text;
}

export class GenericRegistry {
  private readonly hasStatus: boolean;

  constructor(
    readonly info: ResourceInfo,
    private readonly store: Store,
    private readonly admission: Admission,
    private readonly hooks: Hooks = {},
  ) {
    this.hasStatus = hasStatusSubresource(info);
  }

  private key(namespace: string | undefined, name: string): string {
    return objectKey(this.info, namespace, name);
  }

  async get(namespace: string | undefined, name: string): Promise<KubeObject> {
    const kv = await this.store.get(this.key(namespace, name));
    if (!kv) throw notFound(this.info.resource, this.info.group, name);
    return decodeKv(kv);
  }

  async tryGet(namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const kv = await this.store.get(this.key(namespace, name));
    return kv ? decodeKv(kv) : undefined;
  }

  /** `cached`: any recent state will do (resourceVersion=0), so the watch cache may answer from memory. */
  async list(namespace: string | undefined, opts: { revision?: number; limit?: number; after?: string; filter?: (o: KubeObject) => boolean; cached?: boolean }) {
    const prefix = listPrefix(this.info, namespace);
    const items: KubeObject[] = [];
    let after = opts.after;
    let revision = opts.revision;
    let more = false;
    let lastKey: string | undefined;
    // Selectors filter after the store pages, so keep paging until the page is full or the keys run out.
    for (;;) {
      const want = opts.limit ? opts.limit - items.length : 0;
      let res;
      try {
        const page = { revision, limit: want ? Math.max(want, 50) : 0, after };
        res = opts.cached && this.store.listCached && revision === undefined ? await this.store.listCached(prefix, page) : await this.store.list(prefix, page);
      } catch (e) {
        if (e instanceof FutureRevisionError) throw new StatusError(504, 'Timeout', `Too large resource version: ${e.requested}, current: ${e.current}`, { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 });
        if (e instanceof CompactedError) throw gone(`The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.`);
        throw e;
      }
      revision = res.revision;
      for (let i = 0; i < res.kvs.length; i++) {
        const kv = res.kvs[i]!;
        lastKey = kv.key;
        const obj = decodeKv(kv);
        if (!opts.filter || opts.filter(obj)) items.push(obj);
        if (opts.limit && items.length >= opts.limit) {
          more = i < res.kvs.length - 1 || res.more;
          return { items, revision, more, lastKey };
        }
      }
      if (!res.more) break;
      after = lastKey;
    }
    return { items, revision: revision ?? 0, more, lastKey };
  }

  async create(obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const info = this.info;
    const meta = obj.metadata;
    obj.apiVersion = apiVersionOf(info);
    obj.kind = info.kind;
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomSuffix()}`;
    if (!meta.name) throw invalid(info.kind, info.group, '', [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }]);
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    meta.uid = randomUUID();
    meta.creationTimestamp = nowRfc3339();
    delete meta.generation;
    await this.admission.mutate('create', info, obj, undefined, !!opts.dryRun);
    const causes = this.admission.validate('create', info, obj, undefined);
    if (causes.length) throw invalid(info.kind, info.group, meta.name, causes);
    if (!opts.applied) this.hooks.trackManagedFields?.(info, undefined, obj, opts.fieldManager ?? 'unknown', undefined);
    if (opts.dryRun) return obj;
    try {
      const kv = await this.store.create(this.key(meta.namespace, meta.name), encode(obj));
      return storedState(obj, kv);
    } catch (e) {
      if (e instanceof KeyExistsError) {
        this.admission.released?.(info, obj);
        throw alreadyExists(info.resource, info.group, meta.name);
      }
      throw e;
    }
  }

  /**
   * Read-modify-write with optimistic concurrency. `change` is the desired object (a replacement, which the
   * registry takes over and may change), or a function of the live object returning it. When the desired object
   * carries a resourceVersion, it must match (409 otherwise); when it does not, a lost race is retried against
   * the new live object, as kube-apiserver's GuaranteedUpdate does.
   */
  async update(
    namespace: string | undefined,
    name: string,
    change: UpdateFn | KubeObject,
    opts: WriteOptions & { createIfMissing?: (desired?: KubeObject) => Promise<KubeObject> } = {},
  ): Promise<{ object: KubeObject; created: boolean }> {
    const info = this.info;
    for (let attempt = 0; attempt < 16; attempt++) {
      const kv = await this.store.get(this.key(namespace, name));
      if (!kv) {
        if (opts.createIfMissing) return { object: await opts.createIfMissing(), created: true };
        throw notFound(info.resource, info.group, name);
      }
      const current = decodeKv(kv);
      // A second decode of the stored text is a cheaper private copy for `change` than cloning `current`.
      const given = typeof change === 'function' ? decodeKv(kv) : undefined;
      const desired = given ? await (change as UpdateFn)(given) : (change as KubeObject);
      const wantRv = desired.metadata?.resourceVersion;
      if (wantRv && wantRv !== current.metadata.resourceVersion) throw conflict(info.resource, info.group, name);
      // The desired object is changed in place below. A replacement that names a resourceVersion has only
      // this attempt (a lost race is a 409), so it is changed as it is; any other desired object may be needed
      // again on a retry (a replacement, or what a function keeps), except the private copy a function was
      // handed, changed and returned.
      const own = desired === given || (!given && !!wantRv);
      const next = this.prepareUpdate(own ? desired : clone(desired), current, opts.subresource);
      await this.admission.mutate('update', info, next, current, !!opts.dryRun, opts.subresource);
      const causes = this.admission.validate('update', info, next, current, opts.subresource);
      if (causes.length) throw invalid(info.kind, info.group, name, causes);
      // A binding is no field manager's write: kube-apiserver assigns the pod to its node straight in storage,
      // and the pod's managedFields stay as they were.
      if (!opts.applied && opts.subresource !== 'binding') this.hooks.trackManagedFields?.(info, current, next, opts.fieldManager ?? 'unknown', opts.subresource);
      if (stableEqual(withoutRv(next), withoutRv(current))) return { object: current, created: false };
      if (opts.dryRun) return { object: next, created: false };
      // A finalizer removal on an object that is being deleted completes the deletion.
      if (next.metadata.deletionTimestamp && !holdsDeletion(next) && !next.metadata.deletionGracePeriodSeconds) {
        try {
          const res = await this.store.delete(kv.key, kv.modRevision);
          const gone = clone(next);
          gone.metadata.resourceVersion = String(res.revision);
          this.admission.released?.(info, gone);
          return { object: gone, created: false };
        } catch (e) {
          if (e instanceof RevisionMismatchError) {
            if (wantRv) throw conflict(info.resource, info.group, name);
            continue;
          }
          throw e;
        }
      }
      try {
        const res = await this.store.update(kv.key, encode(next), kv.modRevision);
        return { object: storedState(next, res), created: false };
      } catch (e) {
        if (e instanceof RevisionMismatchError) {
          if (wantRv) throw conflict(info.resource, info.group, name);
          continue;
        }
        if (e instanceof KeyNotFoundError) throw notFound(info.resource, info.group, name);
        throw e;
      }
    }
    throw conflict(info.resource, info.group, name, 'too many concurrent updates; please retry');
  }

  /** System metadata the client may not change, the status split and generation. `next` is changed in place. */
  private prepareUpdate(next: KubeObject, current: KubeObject, subresource: string | undefined): KubeObject {
    if (!isPlainObject(next.metadata)) next.metadata = {};
    const m = next.metadata;
    const c = current.metadata;
    next.apiVersion = current.apiVersion;
    next.kind = current.kind;
    m.name = c.name;
    if (c.namespace !== undefined) m.namespace = c.namespace;
    else delete m.namespace;
    m.uid = c.uid;
    m.creationTimestamp = c.creationTimestamp;
    // The precondition was checked by the caller; what is written is always based on the live revision.
    m.resourceVersion = c.resourceVersion;
    if (c.deletionTimestamp) {
      m.deletionTimestamp = c.deletionTimestamp;
      if (c.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = c.deletionGracePeriodSeconds;
    } else {
      delete m.deletionTimestamp;
      delete m.deletionGracePeriodSeconds;
    }
    if (c.generateName !== undefined) m.generateName = c.generateName;
    if (this.hasStatus && subresource === 'status') {
      // A status write changes status only; labels, annotations and spec stay as they were.
      const keep = clone(current);
      if (next.status === undefined) delete keep.status;
      else keep.status = next.status;
      keep.metadata.managedFields = m.managedFields;
      return keep;
    }
    // Generation is the strategy's to bump (admission); a kind that does not track it keeps what it had.
    if (c.generation !== undefined) m.generation = c.generation;
    else delete m.generation;
    return next;
  }

  async delete(namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<{ object: KubeObject; deleted: boolean }> {
    const info = this.info;
    for (let attempt = 0; attempt < 16; attempt++) {
      const kv = await this.store.get(this.key(namespace, name));
      if (!kv) throw notFound(info.resource, info.group, name);
      const current = decodeKv(kv);
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== current.metadata.uid) {
        throw new StatusError(409, 'Conflict', `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`, { name, group: info.group || undefined, kind: info.resource });
      }
      if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
        throw new StatusError(409, 'Conflict', `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`, { name, group: info.group || undefined, kind: info.resource });
      }
      const next = this.deletionState(current, opts);
      if (next) {
        if (opts.dryRun) return { object: next, deleted: false };
        if (stableEqual(next, current)) return { object: current, deleted: false };
        try {
          const res = await this.store.update(kv.key, encode(next), kv.modRevision);
          return { object: decodeKv(res), deleted: false };
        } catch (e) {
          if (e instanceof RevisionMismatchError) continue;
          throw e;
        }
      }
      if (opts.dryRun) return { object: current, deleted: true };
      try {
        const res = await this.store.delete(kv.key, kv.modRevision);
        const last = decodeKv(res.prev);
        this.admission.released?.(info, last);
        return { object: last, deleted: true };
      } catch (e) {
        if (e instanceof RevisionMismatchError) continue;
        if (e instanceof KeyNotFoundError) throw notFound(info.resource, info.group, name);
        throw e;
      }
    }
    throw conflict(info.resource, info.group, name, 'too many concurrent updates; please retry');
  }

  /**
   * The object as it should be stored while deletion is pending, or undefined to delete it now: graceful
   * deletion of pods on a node, finalizers, and the orphan/foreground propagation finalizers.
   */
  private deletionState(current: KubeObject, opts: DeleteOptions): KubeObject | undefined {
    const next = clone(current);
    const m = next.metadata;
    const finalizers = new Set(m.finalizers ?? []);
    if (opts.propagationPolicy === 'Orphan') finalizers.add('orphan');
    if (opts.propagationPolicy === 'Foreground') finalizers.add('foregroundDeletion');
    let graceful = false;
    if (this.info.kind === 'Pod' && !this.info.group) {
      const spec = (next.spec ?? {}) as { nodeName?: string; terminationGracePeriodSeconds?: number };
      const phase = (next.status as { phase?: string } | undefined)?.phase;
      const grace = opts.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30;
      // A pod that never reached a node, or has finished, has nothing to stop: it goes at once.
      if (spec.nodeName && grace > 0 && phase !== 'Succeeded' && phase !== 'Failed') {
        if (m.deletionTimestamp === undefined || (m.deletionGracePeriodSeconds ?? Infinity) > grace) {
          m.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
          m.deletionGracePeriodSeconds = grace;
        }
        graceful = true;
      }
    }
    const namespaceHeld = this.info.kind === 'Namespace' && !this.info.group && !!((next.spec as { finalizers?: string[] } | undefined)?.finalizers?.length);
    if (finalizers.size === 0 && !graceful && !namespaceHeld) return undefined;
    if (m.deletionTimestamp === undefined) {
      m.deletionTimestamp = nowRfc3339();
      m.deletionGracePeriodSeconds = 0;
    } else if (!graceful) {
      // A forced delete of an object held by finalizers: removing the last finalizer completes it.
      m.deletionGracePeriodSeconds = 0;
    }
    if (finalizers.size) m.finalizers = [...finalizers];
    if (this.info.kind === 'Namespace' && !this.info.group) {
      next.status = { ...((next.status as Record<string, unknown> | undefined) ?? {}), phase: 'Terminating' };
    }
    return next;
  }

  /** Watch from `afterRevision`; events decoded. Throws 410 when the history is gone. */
  watch(namespace: string | undefined, afterRevision: number, onEvents: (evs: WatchedEvent[]) => void, onError: (e: StatusError) => void): { cancel(): void } {
    try {
      return this.store.watch(listPrefix(this.info, namespace), afterRevision, {
        onEvents: (evs) => onEvents(evs.map(decodedEvent)),
        onError: (e) => onError(e instanceof CompactedError ? gone(`too old resource version: ${afterRevision} (${e.compacted + 1})`) : new StatusError(500, 'InternalError', e.message)),
      });
    } catch (e) {
      if (e instanceof CompactedError) throw gone(`too old resource version: ${afterRevision} (${e.compacted + 1})`);
      throw e;
    }
  }

  async currentRevision(): Promise<number> {
    return this.store.currentRevision();
  }
}

/**
 * Decoded storage events, shared by every watcher of the event: the watch cache hands the same event to all
 * of them in one turn of the event loop, so each stored object is parsed once per change rather than once
 * per watcher. Watchers only read what they get (they encode it for their clients). The memo is dropped at
 * the next turn: the watch cache's history keeps its events, and must not keep their decoded copies too.
 */
let decodedEvents = new Map<WatchEvent, WatchedEvent>();
let forgetScheduled = false;

function decodedEvent(ev: WatchEvent): WatchedEvent {
  let out = decodedEvents.get(ev);
  if (out) return out;
  if (!forgetScheduled) {
    forgetScheduled = true;
    setImmediate(() => {
      decodedEvents = new Map();
      forgetScheduled = false;
    });
  }
  // A deletion shows the last state at the deletion's revision.
  out = ev.type === 'delete' ? new StoredEvent('DELETED', (ev.prevKv ?? ev.kv).value, ev.kv.modRevision, undefined) : new StoredEvent(ev.created ? 'ADDED' : 'MODIFIED', ev.kv.value, ev.kv.modRevision, ev.prevKv);
  decodedEvents.set(ev, out);
  return out;
}

class StoredEvent implements WatchedEvent {
  private decoded: KubeObject | undefined;
  private text: string | undefined;
  private decodedPrev: KubeObject | undefined;

  constructor(
    readonly type: WatchedEvent['type'],
    private readonly stored: string,
    readonly revision: number,
    private readonly prevKv: KeyValue | undefined,
  ) {}

  get object(): KubeObject {
    return (this.decoded ??= decodeStored(this.stored, this.revision));
  }

  get json(): string {
    return (this.text ??= storedJson(this.stored, this.revision));
  }

  get prev(): KubeObject | undefined {
    return this.prevKv && (this.decodedPrev ??= decodeKv(this.prevKv));
  }

  get hasPrev(): boolean {
    return this.prevKv !== undefined;
  }
}

/** Finalizers that keep an object whose deletion was requested (namespaces also wait on spec.finalizers). */
function holdsDeletion(o: KubeObject): boolean {
  if (o.metadata.finalizers?.length) return true;
  return o.kind === 'Namespace' && !!((o.spec as { finalizers?: string[] } | undefined)?.finalizers?.length);
}

function withoutRv(o: KubeObject): KubeObject {
  const c = { ...o, metadata: { ...o.metadata } };
  delete c.metadata.resourceVersion;
  delete c.metadata.managedFields;
  return c;
}

let nowSecond = -1;
let nowText = '';

/** The current time to the second, as metadata timestamps carry it (formatted once a second: every write asks). */
export function nowRfc3339(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== nowSecond) {
    nowSecond = second;
    nowText = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return nowText;
}

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';
function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += ALPHANUMS[Math.floor(Math.random() * ALPHANUMS.length)];
  return s;
}

