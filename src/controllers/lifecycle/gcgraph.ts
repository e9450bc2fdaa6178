import type { OwnerReference } from '../../api/object.js';

// The garbage collector's ownership graph: one node per object uid, edges from ownerReferences. Owners that
// have not been observed (yet, or ever) are "virtual" nodes whose existence the collector verifies through the
// API. The graph only decides what to look at; every deletion is decided against live objects.

export const FOREGROUND_FINALIZER = 'foregroundDeletion';
export const ORPHAN_FINALIZER = 'orphan';

export interface ObjectIdentity {
  apiVersion: string;
  kind: string;
  /** '' for cluster-scoped objects. */
  namespace: string;
  name: string;
  uid: string;
}

/** What the graph needs to know of an observed object. */
export interface ObservedObject {
  identity: ObjectIdentity;
  ownerReferences: OwnerReference[];
  deleting: boolean;
  finalizers: string[];
}

export class GraphNode {
  readonly dependents = new Set<GraphNode>();
  beingDeleted = false;
  deletingDependents = false;

  constructor(
    public identity: ObjectIdentity,
    public owners: OwnerReference[],
    /** Seen through an informer; false for a virtual node made up from an ownerReference. */
    public observed: boolean,
  ) {}

  /** Dependents whose reference to this node has blockOwnerDeletion: foreground deletion waits for them. */
  blockingDependents(): GraphNode[] {
    const uid = this.identity.uid;
    return [...this.dependents].filter((d) => d.owners.some((o) => o.uid === uid && o.blockOwnerDeletion === true));
  }
}

export interface GraphActions {
  /** Look at this node: is it garbage, is it waiting for dependents, does it exist at all? */
  attemptToDelete(n: GraphNode): void;
  /** This owner is being deleted with the orphan finalizer: release its dependents. */
  attemptToOrphan(n: GraphNode): void;
  /** `dependent` names an owner that lives in another namespace. */
  invalidOwnerNamespace(dependent: GraphNode, ref: OwnerReference): void;
}

export function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

function referenceMatches(ref: OwnerReference, id: ObjectIdentity): boolean {
  return ref.uid === id.uid && ref.name === id.name && ref.kind === id.kind && groupOf(ref.apiVersion) === groupOf(id.apiVersion);
}

function deletionStartsWith(old: ObservedObject | undefined, now: ObservedObject, finalizer: string): boolean {
  if (!now.deleting || !now.finalizers.includes(finalizer)) return false;
  return !old || !old.deleting || !old.finalizers.includes(finalizer);
}

function referencesDiff(old: OwnerReference[], now: OwnerReference[]) {
  const before = new Map(old.map((r) => [r.uid, r]));
  const added: OwnerReference[] = [];
  const changed: Array<{ old: OwnerReference; now: OwnerReference }> = [];
  for (const r of now) {
    const o = before.get(r.uid);
    if (!o) added.push(r);
    else {
      if (JSON.stringify(o) !== JSON.stringify(r)) changed.push({ old: o, now: r });
      before.delete(r.uid);
    }
  }
  return { added, removed: [...before.values()], changed };
}

export class OwnershipGraph {
  private readonly nodes = new Map<string, GraphNode>();

  constructor(
    private readonly actions: GraphActions,
    /** Scope of a kind: true namespaced, false cluster-scoped, undefined unknown. */
    private readonly namespacedKind: (apiVersion: string, kind: string) => boolean | undefined,
  ) {}

  get(uid: string): GraphNode | undefined {
    return this.nodes.get(uid);
  }

  get size(): number {
    return this.nodes.size;
  }

  /** An add or update seen by an informer. */
  observe(now: ObservedObject, old?: ObservedObject): void {
    const id = now.identity;
    let n = this.nodes.get(id.uid);
    if (n && !n.observed) this.replaceVirtual(n, id);
    if (!n) {
      n = new GraphNode(id, now.ownerReferences, true);
      n.beingDeleted = now.deleting;
      n.deletingDependents = now.deleting && now.finalizers.includes(FOREGROUND_FINALIZER);
      this.nodes.set(id.uid, n);
      this.addDependentToOwners(n, n.owners);
      this.processTransitions(old, now, n);
      return;
    }
    n.identity = id;
    const { added, removed, changed } = referencesDiff(n.owners, now.ownerReferences);
    if (added.length || removed.length || changed.length) {
      this.enqueueUnblockedOwners(removed, changed);
      n.owners = now.ownerReferences;
      this.addDependentToOwners(n, added);
      for (const r of removed) this.nodes.get(r.uid)?.dependents.delete(n);
    }
    if (now.deleting) n.beingDeleted = true;
    this.processTransitions(old, now, n);
  }

  /** A delete seen by an informer. */
  observeDelete(uid: string): void {
    const n = this.nodes.get(uid);
    if (n) this.remove(n);
  }

  /** The API says the object behind a node does not exist (any more, or with this uid). */
  virtualDelete(uid: string): void {
    const n = this.nodes.get(uid);
    if (n) this.remove(n);
  }

  private remove(n: GraphNode): void {
    this.nodes.delete(n.identity.uid);
    for (const r of n.owners) this.nodes.get(r.uid)?.dependents.delete(n);
    for (const d of n.dependents) this.actions.attemptToDelete(d);
    // An owner waiting for its dependents may now be free to go.
    for (const r of n.owners) {
      const o = this.nodes.get(r.uid);
      if (o?.deletingDependents) this.actions.attemptToDelete(o);
    }
  }

  /** A virtual node is observed for real: dependents that named it by other coordinates get a second look. */
  private replaceVirtual(n: GraphNode, observed: ObjectIdentity): void {
    for (const d of n.dependents) {
      const ref = d.owners.find((r) => r.uid === observed.uid);
      if (ref && referenceMatches(ref, observed) && (!observed.namespace || observed.namespace === d.identity.namespace)) continue;
      if (ref && observed.namespace && d.identity.namespace !== observed.namespace) this.actions.invalidOwnerNamespace(d, ref);
      this.actions.attemptToDelete(d);
    }
    n.identity = observed;
    n.observed = true;
  }

  private addDependentToOwners(n: GraphNode, refs: OwnerReference[]): void {
    let suspicious = false;
    for (const ref of refs) {
      let owner = this.nodes.get(ref.uid);
      if (!owner) {
        const namespaced = this.namespacedKind(ref.apiVersion, ref.kind);
        owner = new GraphNode({ apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, uid: ref.uid, namespace: namespaced === false ? '' : n.identity.namespace }, [], false);
        this.nodes.set(ref.uid, owner);
        owner.dependents.add(n);
        // Nobody has seen this owner: find out whether it exists.
        this.actions.attemptToDelete(owner);
        continue;
      }
      owner.dependents.add(n);
      if (!owner.observed) continue;
      if (owner.identity.namespace && owner.identity.namespace !== n.identity.namespace) {
        this.actions.invalidOwnerNamespace(n, ref);
        suspicious = true;
      } else if (!referenceMatches(ref, owner.identity)) {
        suspicious = true;
      }
    }
    if (suspicious) this.actions.attemptToDelete(n);
  }

  private enqueueUnblockedOwners(removed: OwnerReference[], changed: Array<{ old: OwnerReference; now: OwnerReference }>): void {
    for (const r of removed) {
      if (!r.blockOwnerDeletion) continue;
      const o = this.nodes.get(r.uid);
      if (o) this.actions.attemptToDelete(o);
    }
    for (const c of changed) {
      if (!c.old.blockOwnerDeletion || c.now.blockOwnerDeletion) continue;
      const o = this.nodes.get(c.now.uid);
      if (o) this.actions.attemptToDelete(o);
    }
  }

  private processTransitions(old: ObservedObject | undefined, now: ObservedObject, n: GraphNode): void {
    if (deletionStartsWith(old, now, ORPHAN_FINALIZER)) {
      this.actions.attemptToOrphan(n);
      return;
    }
    if (deletionStartsWith(old, now, FOREGROUND_FINALIZER)) {
      n.deletingDependents = true;
      for (const d of n.dependents) this.actions.attemptToDelete(d);
      this.actions.attemptToDelete(n);
    }
  }
}

/** A bounded set of recently confirmed-absent owners ("namespace/uid"), to spare repeated lookups. */
export class AbsentOwnerCache {
  private readonly keys = new Set<string>();
  constructor(private readonly max = 4096) {}

  add(namespace: string, uid: string): void {
    const k = `${namespace}/${uid}`;
    this.keys.delete(k);
    this.keys.add(k);
    if (this.keys.size > this.max) this.keys.delete(this.keys.values().next().value!);
  }

  has(namespace: string, uid: string): boolean {
    return this.keys.has(`${namespace}/${uid}`);
  }
}
