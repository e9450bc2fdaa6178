import type { KubeObject } from '../api/object.js';
import type { ResourceInfo } from '../api/resources.js';
import { StatusError } from '../api/errors.js';
import type { RestClient, WatchHandle } from './rest.js';

// A shared informer, as client-go's reflector + indexer: list, then watch from the list's resourceVersion;
// on a dropped watch resume from the last seen revision, on 410 re-list and report the difference as
// events. Handlers see adds, updates and deletes in order; the local cache answers reads.

export interface InformerHandlers {
  add?(obj: KubeObject): void;
  update?(oldObj: KubeObject, newObj: KubeObject): void;
  delete?(obj: KubeObject): void;
}

export function objectKey(obj: KubeObject): string {
  const m = obj.metadata;
  return m.namespace ? `${m.namespace}/${m.name}` : (m.name ?? '');
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export type IndexFunc = (obj: KubeObject) => string[];

const NONE: readonly string[] = [];

export class Informer {
  private readonly items = new Map<string, KubeObject>();
  private readonly handlers: InformerHandlers[] = [];
  private readonly indexers = new Map<string, IndexFunc>();
  private readonly indices = new Map<string, Map<string, Set<string>>>();
  private resourceVersion = '';
  private watch: WatchHandle | undefined;
  private stopped = false;
  /** Ends the back-off wait between watch attempts early, so stop() need not wait it out. */
  private wakeFromBackoff: (() => void) | undefined;
  private synced = false;
  private readonly syncWaiters: Array<() => void> = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly client: RestClient,
    readonly info: ResourceInfo,
    private readonly opts: {
      namespace?: string;
      labelSelector?: string;
      fieldSelector?: string;
      log?: (msg: string) => void;
      /** Applied to every object before it is cached or handed to handlers (client-go's TransformFunc). */
      transform?: (obj: KubeObject) => KubeObject;
    } = {},
  ) {
    this.addIndexer('namespace', (o) => (o.metadata.namespace ? [o.metadata.namespace] : []));
  }

  addHandlers(h: InformerHandlers): void {
    this.handlers.push(h);
    // A handler added late still hears about what is already known, as client-go does.
    if (this.synced) for (const o of this.items.values()) h.add?.(o);
  }

  addIndexer(name: string, fn: IndexFunc): void {
    this.indexers.set(name, fn);
    const idx = new Map<string, Set<string>>();
    this.indices.set(name, idx);
    for (const [k, o] of this.items) for (const v of fn(o)) this.indexAdd(idx, v, k);
  }

  get(key: string): KubeObject | undefined {
    return this.items.get(key);
  }

  list(): KubeObject[] {
    return [...this.items.values()];
  }

  byIndex(name: string, value: string): KubeObject[] {
    const keys = this.indices.get(name)?.get(value);
    if (!keys) return [];
    const out: KubeObject[] = [];
    for (const k of keys) {
      const o = this.items.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  /** Whether any cached object has `value` in index `name` (without building the list). */
  hasIndexed(name: string, value: string): boolean {
    return (this.indices.get(name)?.get(value)?.size ?? 0) > 0;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  start(): void {
    if (!this.running) this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watch?.stop();
    this.wakeFromBackoff?.();
    await this.running?.catch(() => undefined);
  }

  private log(msg: string): void {
    this.opts.log?.(`informer ${this.info.resource}: ${msg}`);
  }

  private async run(): Promise<void> {
    let backoff = 100;
    let needList = true;
    while (!this.stopped) {
      try {
        if (needList) {
          await this.relist();
          needList = false;
        }
        // stop() may have come during the relist: a watch opened now would never be stopped.
        if (this.stopped) return;
        const handle = this.client.watch(
          this.info,
          this.opts.namespace,
          { resourceVersion: this.resourceVersion, labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector, allowWatchBookmarks: true, timeoutSeconds: 300 + Math.floor(Math.random() * 300) },
          (ev) => {
            if (ev.type === 'ERROR') {
              const s = ev.object as unknown as { code?: number; message?: string };
              if (s.code === 410) needList = true;
              else this.log(`watch error: ${s.message ?? 'unknown'}`);
              return;
            }
            const rv = ev.object.metadata?.resourceVersion;
            if (rv) this.resourceVersion = rv;
            if (ev.type === 'BOOKMARK') return;
            this.apply(ev.type, this.opts.transform ? this.opts.transform(ev.object) : ev.object);
          },
        );
        this.watch = handle;
        if (this.stopped) handle.stop();
        await handle.done;
        backoff = 100;
      } catch (e) {
        if (this.stopped) return;
        if (e instanceof StatusError && e.code === 410) needList = true;
        else this.log(`${(e as Error).message}; retrying in ${backoff} ms`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, backoff);
          this.wakeFromBackoff = () => (clearTimeout(t), r());
        });
        this.wakeFromBackoff = undefined;
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  /** List everything and turn the difference from the cache into events. */
  private async relist(): Promise<void> {
    const seen = new Set<string>();
    let cont: string | undefined;
    let rv = '';
    const listed: KubeObject[] = [];
    do {
      const page = await this.client.list(this.info, this.opts.namespace, { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector, limit: 500, continue: cont });
      for (const o of page.items) listed.push(this.opts.transform ? this.opts.transform(o) : o);
      cont = page.metadata.continue;
      rv = page.metadata.resourceVersion ?? rv;
    } while (cont);
    for (const o of listed) {
      const k = objectKey(o);
      seen.add(k);
      const old = this.items.get(k);
      if (!old) this.apply('ADDED', o);
      else if (old.metadata.resourceVersion !== o.metadata.resourceVersion) this.apply('MODIFIED', o);
    }
    for (const [k, o] of [...this.items]) if (!seen.has(k)) this.apply('DELETED', o);
    this.resourceVersion = rv;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private indexAdd(idx: Map<string, Set<string>>, value: string, key: string): void {
    let s = idx.get(value);
    if (!s) idx.set(value, (s = new Set()));
    s.add(key);
  }

  private reindex(key: string, old: KubeObject | undefined, obj: KubeObject | undefined): void {
    for (const [name, fn] of this.indexers) {
      const idx = this.indices.get(name)!;
      const before = old ? fn(old) : NONE;
      const after = obj ? fn(obj) : NONE;
      // Most updates keep an object's index values (its namespace, owner, node): nothing to move.
      if (before.length === after.length && before.every((v, i) => v === after[i])) continue;
      for (const v of before) {
        const s = idx.get(v);
        if (s && s.delete(key) && s.size === 0) idx.delete(v);
      }
      for (const v of after) this.indexAdd(idx, v, key);
    }
  }

  private apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void {
    const key = objectKey(obj);
    const old = this.items.get(key);
    if (type === 'DELETED') {
      if (!old) return;
      this.items.delete(key);
      this.reindex(key, old, undefined);
      for (const h of this.handlers) h.delete?.(obj);
      return;
    }
    this.items.set(key, obj);
    this.reindex(key, old, obj);
    for (const h of this.handlers) {
      if (old) h.update?.(old, obj);
      else h.add?.(obj);
    }
  }
}

/**
 * Controllers and the scheduler never read managedFields, and they are a large part of every cached object:
 * drop them, as kube-scheduler and kube-controller-manager do with an informer transform. An update sent
 * from such an object carries no managedFields, which the API server treats as "keep the stored ones".
 */
export function stripManagedFields(obj: KubeObject): KubeObject {
  if (obj.metadata?.managedFields !== undefined) delete obj.metadata.managedFields;
  return obj;
}

/** One informer per resource, shared by every controller in a process. */
export class InformerFactory {
  private readonly informers = new Map<string, Informer>();

  constructor(
    private readonly client: RestClient,
    private readonly log?: (msg: string) => void,
  ) {}

  for(info: ResourceInfo): Informer {
    const k = `${info.group}/${info.version}/${info.resource}`;
    let inf = this.informers.get(k);
    if (!inf) {
      inf = new Informer(this.client, info, { log: this.log, transform: stripManagedFields });
      this.informers.set(k, inf);
    }
    return inf;
  }

  start(): void {
    for (const i of this.informers.values()) i.start();
  }

  async waitForSync(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}
