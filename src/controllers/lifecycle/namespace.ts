import type { KubeObject } from '../../api/object.js';
import { StatusError } from '../../api/errors.js';
import { RESOURCES, type ResourceInfo } from '../../api/resources.js';
import { resource, resourcePath } from '../../client/rest.js';
import type { Informer } from '../../client/informer.js';
import type { ControllerContext } from '../runtime.js';
import { SyncedQueueController, errorMessage, forEachLimit } from './base.js';

// The namespace controller: a namespace being deleted (Terminating) has everything in it deleted, its
// status conditions say what is left and why, and when it is empty the `kubernetes` finalizer is removed
// through the finalize subresource, after which the API server removes the namespace.

const NAMESPACES = resource('', 'v1', 'namespaces');
export const NAMESPACE_FINALIZER = 'kubernetes';
/** How long to expect content with finalizers to take (kube-controller-manager's default estimate). */
const FINALIZER_ESTIMATE_SECONDS = 15;

export interface NamespaceCondition {
  type: string;
  status: 'True' | 'False';
  lastTransitionTime?: string;
  reason: string;
  message: string;
}

const CONDITION_TYPES = [
  'NamespaceDeletionDiscoveryFailure',
  'NamespaceDeletionGroupVersionParsingFailure',
  'NamespaceDeletionContentFailure',
  'NamespaceContentRemaining',
  'NamespaceFinalizersRemaining',
] as const;

const OK: Record<(typeof CONDITION_TYPES)[number], { reason: string; message: string }> = {
  NamespaceDeletionDiscoveryFailure: { reason: 'ResourcesDiscovered', message: 'All resources successfully discovered' },
  NamespaceDeletionGroupVersionParsingFailure: { reason: 'ParsedGroupVersions', message: 'All legacy kube types successfully parsed' },
  NamespaceDeletionContentFailure: { reason: 'ContentDeleted', message: 'All content successfully deleted, may be waiting on finalization' },
  NamespaceContentRemaining: { reason: 'ContentRemoved', message: 'All content successfully removed' },
  NamespaceFinalizersRemaining: { reason: 'ContentRemoved', message: 'All content successfully removed' },
};

/** Namespaced resources that can be deleted: one version of each. */
export function namespacedResources(): ResourceInfo[] {
  const seen = new Set<string>();
  return RESOURCES.filter((r) => {
    const k = `${r.group}/${r.resource}`;
    if (!r.namespaced || !r.verbs.includes('delete') || seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** What deleting a namespace's content left behind. */
export interface ContentTotals {
  /** "pods." / "deployments.apps" → count. */
  remaining: Map<string, number>;
  /** finalizer → count of objects still carrying it. */
  finalizers: Map<string, number>;
  errors: string[];
}

/** The conditions Kubernetes' namespace deleter reports for these totals. */
export function deletionConditions(t: ContentTotals): Map<string, Omit<NamespaceCondition, 'lastTransitionTime'>> {
  const out = new Map<string, Omit<NamespaceCondition, 'lastTransitionTime'>>();
  for (const type of CONDITION_TYPES) out.set(type, { type, status: 'False', ...OK[type] });
  const remaining = [...t.remaining].filter(([, n]) => n > 0).map(([r, n]) => `${r} has ${n} resource instances`).sort();
  if (remaining.length) out.set('NamespaceContentRemaining', { type: 'NamespaceContentRemaining', status: 'True', reason: 'SomeResourcesRemain', message: `Some resources are remaining: ${remaining.join(', ')}` });
  const fins = [...t.finalizers].filter(([, n]) => n > 0).map(([f, n]) => `${f} in ${n} resource instances`).sort();
  if (fins.length) out.set('NamespaceFinalizersRemaining', { type: 'NamespaceFinalizersRemaining', status: 'True', reason: 'SomeFinalizerRemain', message: `Some finalizers are remaining: ${fins.join(', ')}` });
  if (t.errors.length) {
    const msgs = [...t.errors].sort();
    out.set('NamespaceDeletionContentFailure', { type: 'NamespaceDeletionContentFailure', status: 'True', reason: 'ContentDeletionFailed', message: `Failed to delete all resource types, ${msgs.length} remaining: ${msgs.join(', ')}` });
  }
  return out;
}

/** Merge the deleter's conditions into a namespace's; true when something changed. */
export function mergeConditions(existing: NamespaceCondition[], wanted: Map<string, Omit<NamespaceCondition, 'lastTransitionTime'>>, now: string): boolean {
  let changed = false;
  for (const type of CONDITION_TYPES) {
    const w = wanted.get(type)!;
    const old = existing.find((c) => c.type === type);
    if (!old) {
      existing.push({ ...w, lastTransitionTime: now });
      changed = true;
    } else if (old.status !== w.status || old.reason !== w.reason || old.message !== w.message) {
      if (old.status !== w.status) old.lastTransitionTime = now;
      old.status = w.status;
      old.reason = w.reason;
      old.message = w.message;
      changed = true;
    }
  }
  return changed;
}

function gvrString(info: ResourceInfo): string {
  return `${info.group}/${info.version}, Resource=${info.resource}`;
}

function isStatus(e: unknown, ...codes: number[]): boolean {
  return e instanceof StatusError && codes.includes(e.code);
}

function nowRfc3339(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class NamespaceController extends SyncedQueueController {
  readonly name = 'namespace';
  private nsInformer!: Informer;

  protected register(ctx: ControllerContext): void {
    this.nsInformer = ctx.informers.for(NAMESPACES);
    this.waitFor.push(this.nsInformer);
    const onNamespace = (o: KubeObject) => {
      if (o.metadata.deletionTimestamp) this.enqueue(o);
    };
    this.nsInformer.addHandlers({ add: onNamespace, update: (_, o) => onNamespace(o) });
    // Content going away is the moment to look again, rather than waiting out the estimate.
    for (const info of namespacedResources()) {
      if (info.resource === 'events') continue;
      ctx.informers.for(info).addHandlers({
        delete: (o) => {
          const ns = o.metadata.namespace;
          if (ns && this.nsInformer.get(ns)?.metadata.deletionTimestamp) this.queue.addAfter(ns, 100);
        },
      });
    }
  }

  protected async reconcile(name: string): Promise<void> {
    const client = this.ctx.client;
    let ns: KubeObject;
    try {
      ns = await client.get(NAMESPACES, undefined, name);
    } catch (e) {
      if (isStatus(e, 404)) return;
      throw e;
    }
    if (!ns.metadata.deletionTimestamp) return;
    const spec = (ns.spec ?? {}) as { finalizers?: string[] };
    if (!spec.finalizers?.length) return;
    const status = (ns.status ?? {}) as { phase?: string; conditions?: NamespaceCondition[] };
    if (status.phase !== 'Terminating') {
      ns = await client.updateStatus(NAMESPACES, { ...ns, status: { ...status, phase: 'Terminating' } });
    }

    const { estimate, totals } = await this.deleteAllContent(name, ns.metadata.deletionTimestamp!);
    await this.updateConditions(ns, totals);
    if (totals.errors.length) throw new Error(totals.errors.join('; '));
    if (estimate > 0) {
      // Some content is still going away (graceful pods, finalizers): look again, sooner if it goes.
      this.queue.addAfter(name, (Math.floor(estimate / 2) + 1) * 1000);
      return;
    }
    await this.finalize(ns);
  }

  private async updateConditions(ns: KubeObject, totals: ContentTotals): Promise<void> {
    const status = structuredClone((ns.status ?? {}) as { phase?: string; conditions?: NamespaceCondition[] });
    const conditions = status.conditions ?? [];
    if (!mergeConditions(conditions, deletionConditions(totals), nowRfc3339())) return;
    try {
      await this.ctx.client.updateStatus(NAMESPACES, { ...ns, status: { ...status, conditions } });
    } catch (e) {
      // Not fatal: the next pass writes them again.
      this.ctx.log(`namespace: couldn't update status conditions of ${ns.metadata.name}: ${errorMessage(e)}`);
    }
  }

  /** Remove our token from spec.finalizers through the finalize subresource, retrying lost races. */
  private async finalize(ns: KubeObject): Promise<void> {
    let current = ns;
    for (let attempt = 0; ; attempt++) {
      const fins = ((current.spec ?? {}) as { finalizers?: string[] }).finalizers ?? [];
      if (!fins.includes(NAMESPACE_FINALIZER)) return;
      const rest = [...new Set(fins.filter((f) => f !== NAMESPACE_FINALIZER))].sort();
      try {
        await this.ctx.client.update(NAMESPACES, { ...current, spec: { ...(current.spec as object), finalizers: rest } }, 'finalize');
        return;
      } catch (e) {
        if (isStatus(e, 404)) return;
        if (!isStatus(e, 409) || attempt >= 4) throw e;
        current = await this.ctx.client.get(NAMESPACES, undefined, ns.metadata.name!);
        if (current.metadata.uid !== ns.metadata.uid) throw new Error('namespace uid has changed across retries');
      }
    }
  }

  private async deleteAllContent(namespace: string, deletedAt: string): Promise<{ estimate: number; totals: ContentTotals }> {
    const totals: ContentTotals = { remaining: new Map(), finalizers: new Map(), errors: [] };
    let estimate = 0;
    await forEachLimit(namespacedResources(), 4, async (info) => {
      try {
        const r = await this.deleteResource(info, namespace, deletedAt);
        estimate = Math.max(estimate, r.estimate);
        if (r.remaining > 0) {
          totals.remaining.set(`${info.resource}.${info.group}`, r.remaining);
          for (const [f, n] of r.finalizers) totals.finalizers.set(f, (totals.finalizers.get(f) ?? 0) + n);
        }
        if (r.error) totals.errors.push(r.error);
      } catch (e) {
        totals.errors.push(errorMessage(e));
      }
    });
    return { estimate, totals };
  }

  private async deleteResource(info: ResourceInfo, namespace: string, deletedAt: string) {
    const client = this.ctx.client;
    const estimate = info.kind === 'Pod' && !info.group ? await this.estimateGracefulTermination(namespace, deletedAt) : 0;
    let collection = info.verbs.includes('deletecollection');
    if (collection) {
      try {
        await client.request('DELETE', resourcePath(info, namespace), { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' });
      } catch (e) {
        if (!isStatus(e, 404, 405)) throw e;
        collection = false;
      }
    }
    if (!collection) {
      const list = await client.list(info, namespace);
      for (const o of list.items) {
        try {
          await client.delete(info, namespace, o.metadata.name!, { propagationPolicy: 'Background' });
        } catch (e) {
          if (!isStatus(e, 404, 409)) throw e;
        }
      }
    }
    const left = (await client.list(info, namespace)).items;
    const finalizers = new Map<string, number>();
    if (left.length === 0) return { estimate: 0, remaining: 0, finalizers };
    for (const o of left) for (const f of o.metadata.finalizers ?? []) finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
    if (estimate > 0) return { estimate, remaining: left.length, finalizers };
    if (finalizers.size) return { estimate: FINALIZER_ESTIMATE_SECONDS, remaining: left.length, finalizers };
    return { estimate: 0, remaining: left.length, finalizers, error: `unexpected items still remain in namespace: ${namespace} for gvr: ${gvrString(info)}` };
  }

  /** The longest grace period of the namespace's running pods, less the time already spent. */
  private async estimateGracefulTermination(namespace: string, deletedAt: string): Promise<number> {
    const pods = (await this.ctx.client.list(resource('', 'v1', 'pods'), namespace)).items;
    let estimate = 0;
    for (const p of pods) {
      const phase = (p.status as { phase?: string } | undefined)?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') continue;
      const grace = (p.spec as { terminationGracePeriodSeconds?: number } | undefined)?.terminationGracePeriodSeconds;
      if (typeof grace === 'number' && grace > estimate) estimate = grace;
    }
    const elapsed = Math.floor((Date.now() - Date.parse(deletedAt)) / 1000);
    return Math.max(0, estimate - elapsed);
  }
}
