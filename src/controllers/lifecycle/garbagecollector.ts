import type { KubeObject, OwnerReference } from '../../api/object.js';
import { StatusError } from '../../api/errors.js';
import { RESOURCES, apiVersionOf, findKind, type ResourceInfo } from '../../api/resources.js';
import type { Informer } from '../../client/informer.js';
import type { EventRecorder } from '../../client/events.js';
import { WorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../runtime.js';
import { errorMessage, forEachLimit } from './base.js';
import {
  AbsentOwnerCache,
  FOREGROUND_FINALIZER,
  ORPHAN_FINALIZER,
  OwnershipGraph,
  groupOf,
  type GraphNode,
  type ObjectIdentity,
  type ObservedObject,
} from './gcgraph.js';

// kube-controller-manager's garbage collector: watches every listable kind, keeps the ownership graph, and
// deletes objects whose owners are all gone (Background), deletes dependents before their owner (Foreground,
// `foregroundDeletion` finalizer) or releases them (Orphan, `orphan` finalizer). Every decision is checked
// against a live GET, as the informer caches may lag behind.

/** Kinds the collector never tracks: events are too many and never own anything. */
const IGNORED = new Set(['/events', 'events.k8s.io/events']);

/** The resources the collector watches: one version of each listable, watchable resource. */
export function collectedResources(): ResourceInfo[] {
  const seen = new Set<string>();
  const out: ResourceInfo[] = [];
  for (const r of RESOURCES) {
    const k = `${r.group}/${r.resource}`;
    if (seen.has(k) || IGNORED.has(k) || !r.verbs.includes('list') || !r.verbs.includes('watch')) continue;
    seen.add(k);
    out.push(r);
  }
  return out;
}

/** The resource an ownerReference's apiVersion and kind name, any served version of the group. */
export function resolveKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  const group = groupOf(apiVersion);
  const version = apiVersion.slice(apiVersion.indexOf('/') + 1);
  return findKind(group, version, kind) ?? RESOURCES.find((r) => r.group === group && r.kind === kind);
}

function isNotFound(e: unknown): boolean {
  return e instanceof StatusError && e.code === 404;
}

function isConflict(e: unknown): boolean {
  return e instanceof StatusError && e.code === 409;
}

function observed(info: ResourceInfo, o: KubeObject): ObservedObject {
  const m = o.metadata;
  return {
    identity: { apiVersion: apiVersionOf(info), kind: info.kind, namespace: m.namespace ?? '', name: m.name ?? '', uid: m.uid ?? '' },
    ownerReferences: m.ownerReferences ?? [],
    deleting: !!m.deletionTimestamp,
    finalizers: m.finalizers ?? [],
  };
}

function describeRef(ref: OwnerReference, namespace: string): string {
  return `[${ref.apiVersion}/${ref.kind}, namespace: ${namespace}, name: ${ref.name}, uid: ${ref.uid}]`;
}

type Outcome = 'done' | 'requeue';

/** The owner lookup found the reference unusable (a cluster-scoped dependent naming a namespaced owner). */
class UnresolvableOwner extends Error {}

export class GarbageCollector implements Controller {
  readonly name = 'garbagecollector';
  private ctx!: ControllerContext;
  private recorder!: EventRecorder;
  private readonly graph: OwnershipGraph;
  private readonly absent = new AbsentOwnerCache();
  private readonly deleteQueue = new WorkQueue();
  private readonly orphanQueue = new WorkQueue();
  private informers: Informer[] = [];

  constructor(private readonly opts: { deleteWorkers?: number; orphanWorkers?: number } = {}) {
    this.graph = new OwnershipGraph(
      {
        attemptToDelete: (n) => this.deleteQueue.add(n.identity.uid),
        attemptToOrphan: (n) => this.orphanQueue.add(n.identity.uid),
        invalidOwnerNamespace: (d, ref) => this.reportInvalidNamespace(d.identity, ref),
      },
      (apiVersion, kind) => resolveKind(apiVersion, kind)?.namespaced,
    );
  }

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.recorder = ctx.recorder('garbage-collector-controller');
    for (const info of collectedResources()) {
      const inf = ctx.informers.for(info);
      this.informers.push(inf);
      inf.addHandlers({
        add: (o) => this.graph.observe(observed(info, o)),
        update: (old, o) => this.graph.observe(observed(info, o), observed(info, old)),
        delete: (o) => {
          const n = this.graph.get(o.metadata.uid ?? '');
          if (n?.dependents.size) this.absent.add(o.metadata.namespace ?? '', o.metadata.uid ?? '');
          this.graph.observeDelete(o.metadata.uid ?? '');
        },
      });
    }
    // Collect nothing until every kind has been listed once: an unlisted owner would look absent.
    void Promise.all(this.informers.map((i) => i.waitForSync())).then(() => {
      ctx.log('garbagecollector: all resource monitors have synced; collecting garbage');
      void this.work(this.deleteQueue, this.opts.deleteWorkers ?? 8, (uid) => this.attemptToDelete(uid));
      void this.work(this.orphanQueue, this.opts.orphanWorkers ?? 4, (uid) => this.attemptToOrphan(uid));
    });
  }

  stop(): void {
    this.deleteQueue.shutdown();
    this.orphanQueue.shutdown();
  }

  /** The number of objects in the ownership graph (observed and virtual). */
  get graphSize(): number {
    return this.graph.size;
  }

  private async work(queue: WorkQueue, workers: number, fn: (uid: string) => Promise<Outcome>): Promise<void> {
    const loop = async () => {
      for (;;) {
        const key = await queue.get();
        if (key === undefined) return;
        try {
          if ((await fn(key)) === 'requeue') queue.addRateLimited(key);
          else queue.forget(key);
        } catch (e) {
          this.ctx.log(`garbagecollector: ${key}: ${errorMessage(e)}`);
          queue.addRateLimited(key);
        } finally {
          queue.done(key);
        }
      }
    };
    await Promise.all(Array.from({ length: workers }, loop));
  }

  private reportInvalidNamespace(dep: ObjectIdentity, ref: OwnerReference): void {
    const involved: KubeObject = { apiVersion: dep.apiVersion, kind: dep.kind, metadata: { name: dep.name, namespace: dep.namespace || undefined, uid: dep.uid } };
    this.recorder.event(involved, 'Warning', 'OwnerRefInvalidNamespace', `ownerRef ${describeRef(ref, dep.namespace)} does not exist in namespace ${JSON.stringify(dep.namespace)}`);
  }

  private async getLive(id: ObjectIdentity): Promise<{ info: ResourceInfo; obj: KubeObject | undefined } | undefined> {
    const info = resolveKind(id.apiVersion, id.kind);
    if (!info) return undefined;
    // A namespaced kind without a namespace (named by a cluster-scoped dependent) cannot exist.
    if (info.namespaced && !id.namespace) return { info, obj: undefined };
    try {
      const obj = await this.ctx.client.get(info, info.namespaced ? id.namespace : undefined, id.name);
      return { info, obj: obj.metadata.uid === id.uid ? obj : undefined };
    } catch (e) {
      if (isNotFound(e)) return { info, obj: undefined };
      throw e;
    }
  }

  private async attemptToDelete(uid: string): Promise<Outcome> {
    const n = this.graph.get(uid);
    if (!n) return 'done';
    // Being deleted is a one-way trip: wait for the object to go, then look at its dependents.
    if (n.beingDeleted && !n.deletingDependents) return 'done';
    const live = await this.getLive(n.identity);
    if (!live) {
      this.ctx.log(`garbagecollector: cannot resolve ${n.identity.apiVersion}/${n.identity.kind}; leaving ${n.identity.name} alone`);
      return 'done';
    }
    const latest = live.obj;
    if (!latest) {
      if (!n.observed || n.dependents.size) this.absent.add(live.info.namespaced ? n.identity.namespace : '', uid);
      this.graph.virtualDelete(uid);
      return 'done';
    }
    const outcome = await this.collect(n, live.info, latest);
    // A virtual node that exists is polled until its informer reports it.
    return !n.observed && outcome === 'done' ? 'requeue' : outcome;
  }

  private async collect(n: GraphNode, info: ResourceInfo, latest: KubeObject): Promise<Outcome> {
    if (n.deletingDependents) return this.processDeletingDependents(n);
    const refs = latest.metadata.ownerReferences ?? [];
    if (refs.length === 0) return 'done';
    let classified;
    try {
      classified = await this.classify(n, refs);
    } catch (e) {
      if (e instanceof UnresolvableOwner) return 'done';
      throw e;
    }
    const { solid, dangling, waiting } = classified;
    if (solid.length) {
      if (!dangling.length && !waiting.length) return 'done';
      // Still owned, but references to gone owners (and to owners waiting on us) must go, or a foreground
      // owner would wait for ever.
      const drop = new Set([...dangling, ...waiting].map((r) => r.uid));
      await this.patchOwnerReferences(info, latest, refs.filter((r) => !drop.has(r.uid)));
      return 'done';
    }
    if (waiting.length && n.dependents.size) {
      for (const d of n.dependents) {
        if (!d.deletingDependents) continue;
        // A dependent of ours is itself waiting: unblock our references so a cycle cannot deadlock.
        await this.patchOwnerReferences(info, latest, refs.map((r) => (r.blockOwnerDeletion ? { ...r, blockOwnerDeletion: false } : r)));
        break;
      }
      return this.deleteObject(n, info, latest, 'Foreground');
    }
    const fins = latest.metadata.finalizers ?? [];
    const policy = fins.includes(ORPHAN_FINALIZER) ? 'Orphan' : fins.includes(FOREGROUND_FINALIZER) ? 'Foreground' : 'Background';
    return this.deleteObject(n, info, latest, policy);
  }

  /** Sort references into owners that exist, owners that are gone, and owners deleting in the foreground. */
  private async classify(n: GraphNode, refs: OwnerReference[]) {
    const solid: OwnerReference[] = [];
    const dangling: OwnerReference[] = [];
    const waiting: OwnerReference[] = [];
    for (const ref of refs) {
      const info = resolveKind(ref.apiVersion, ref.kind);
      if (!info) {
        // An owner of a kind this server does not serve cannot be checked: never collect on its account.
        solid.push(ref);
        continue;
      }
      const ns = info.namespaced ? n.identity.namespace : '';
      if (info.namespaced && !n.identity.namespace) {
        this.reportInvalidNamespace(n.identity, ref);
        throw new UnresolvableOwner(`cluster-scoped ${n.identity.kind} ${n.identity.name} refers to namespaced owner ${ref.kind} ${ref.name}`);
      }
      if (this.absent.has(ns, ref.uid)) {
        dangling.push(ref);
        continue;
      }
      let owner: KubeObject | undefined;
      try {
        owner = await this.ctx.client.get(info, info.namespaced ? ns : undefined, ref.name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      if (!owner || owner.metadata.uid !== ref.uid) {
        this.absent.add(ns, ref.uid);
        dangling.push(ref);
      } else if (owner.metadata.deletionTimestamp && owner.metadata.finalizers?.includes(FOREGROUND_FINALIZER)) {
        waiting.push(ref);
      } else {
        solid.push(ref);
      }
    }
    return { solid, dangling, waiting };
  }

  private async deleteObject(n: GraphNode, info: ResourceInfo, latest: KubeObject, policy: 'Background' | 'Foreground' | 'Orphan'): Promise<Outcome> {
    const m = latest.metadata;
    this.ctx.log(`garbagecollector: deleting ${info.kind} ${m.namespace ? `${m.namespace}/` : ''}${m.name} (propagationPolicy ${policy})`);
    try {
      await this.ctx.client.delete(info, info.namespaced ? m.namespace : undefined, m.name!, { propagationPolicy: policy, preconditions: { uid: m.uid, resourceVersion: m.resourceVersion } });
    } catch (e) {
      if (isNotFound(e)) {
        this.graph.virtualDelete(n.identity.uid);
        return 'done';
      }
      // The object changed since we looked (owners may have been added): look again.
      if (isConflict(e)) return 'requeue';
      throw e;
    }
    return 'done';
  }

  private async patchOwnerReferences(info: ResourceInfo, latest: KubeObject, refs: OwnerReference[]): Promise<void> {
    const m = latest.metadata;
    await this.ctx.client.patch(info, info.namespaced ? m.namespace : undefined, m.name!, 'merge', {
      metadata: { resourceVersion: m.resourceVersion, ownerReferences: refs.length ? refs : null },
    });
  }

  private async processDeletingDependents(n: GraphNode): Promise<Outcome> {
    const blocking = n.blockingDependents();
    if (blocking.length === 0) {
      await this.removeFinalizer(n.identity, FOREGROUND_FINALIZER);
      return 'done';
    }
    for (const d of blocking) if (!d.deletingDependents) this.deleteQueue.add(d.identity.uid);
    return 'done';
  }

  /** Remove a finalizer from the live object, retrying lost races; gone objects need nothing. */
  private async removeFinalizer(id: ObjectIdentity, finalizer: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const live = await this.getLive(id);
      const obj = live?.obj;
      if (!live || !obj || !obj.metadata.finalizers?.includes(finalizer)) return;
      try {
        await this.ctx.client.patch(live.info, live.info.namespaced ? obj.metadata.namespace : undefined, obj.metadata.name!, 'merge', {
          metadata: { resourceVersion: obj.metadata.resourceVersion, finalizers: obj.metadata.finalizers.filter((f) => f !== finalizer) },
        });
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e) || attempt >= 4) throw e;
      }
    }
  }

  private async attemptToOrphan(uid: string): Promise<Outcome> {
    const n = this.graph.get(uid);
    if (!n) return 'done';
    await forEachLimit([...n.dependents], 8, (d) => this.removeOwnerReference(d.identity, uid));
    await this.removeFinalizer(n.identity, ORPHAN_FINALIZER);
    return 'done';
  }

  private async removeOwnerReference(id: ObjectIdentity, ownerUid: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const live = await this.getLive(id);
      const obj = live?.obj;
      if (!live || !obj) return;
      const refs = obj.metadata.ownerReferences ?? [];
      if (!refs.some((r) => r.uid === ownerUid)) return;
      try {
        await this.patchOwnerReferences(live.info, obj, refs.filter((r) => r.uid !== ownerUid));
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e) || attempt >= 4) throw e;
      }
    }
  }
}
