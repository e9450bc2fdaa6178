import type { ControllerRevision, DaemonSet, DaemonSetStatus } from 'kubernetes-types/apps/v1.js';
import type { Node, Pod } from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../../api/object.js';
import { StatusError } from '../../api/errors.js';
import { matchesLabels, selectorFromLabelSelector, type MetaLabelSelector } from '../../api/selectors.js';
import type { EventRecorder } from '../../client/events.js';
import type { Informer } from '../../client/informer.js';
import { resource } from '../../client/rest.js';
import { QueueController, type ControllerContext } from '../runtime.js';
import { Expectations } from './expectations.js';
import { CONTROLLER_REVISIONS, REVISION_HASH_LABEL, asRevision, maxRevision, sameData, sortRevisions, templatePatch } from './history.js';
import { computeStatus, planNodes, planRollingUpdate, type NodePods } from './daemonsetplan.js';
import { addDaemonTolerations, pinToNode, targetNodeName } from './nodefit.js';
import { CONTROLLER_UID_INDEX, PODS, asObject, asPod, computeHash, controllerRefOf, controllerUIDIndex, isTerminal, msUntilAvailable, newControllerRef, podFromTemplate, stableStringify } from './podutil.js';
import { Requeuer } from './requeue.js';
import { writeComputedStatus } from './statuswrite.js';

// The DaemonSet controller: one pod per eligible node, pinned to it with node affinity on metadata.name
// (the scheduler binds it), replaced on template changes by a rolling update, with the template history
// kept in ControllerRevisions.

export const DAEMONSETS = resource('apps', 'v1', 'daemonsets');
export const NODES = resource('', 'v1', 'nodes');
export const TEMPLATE_GENERATION_LABEL = 'pod-template-generation';
const TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';
const SLOW_START_INITIAL_BATCH = 1;

function asDs(o: KubeObject): DaemonSet {
  return o as unknown as DaemonSet;
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class DaemonSetController extends QueueController {
  readonly name = 'daemonset';
  private dss!: Informer;
  private pods!: Informer;
  private nodes!: Informer;
  private revisions!: Informer;
  private recorder!: EventRecorder;
  private requeue!: Requeuer;
  private readonly expectations = new Expectations();
  /** Back-off per DaemonSet/node after deleting a failed pod there, so a node that keeps failing it is not hammered. */
  private readonly failedBackoff = new Map<string, { delay: number; at: number }>();

  override stop(): void {
    super.stop();
    this.requeue?.stop();
  }

  protected register(ctx: ControllerContext): void {
    this.recorder = ctx.recorder('daemonset-controller');
    this.requeue = new Requeuer(this.queue);
    this.dss = ctx.informers.for(DAEMONSETS);
    this.pods = ctx.informers.for(PODS);
    this.nodes = ctx.informers.for(NODES);
    this.revisions = ctx.informers.for(CONTROLLER_REVISIONS);
    this.pods.addIndexer(CONTROLLER_UID_INDEX, controllerUIDIndex);
    this.revisions.addIndexer(CONTROLLER_UID_INDEX, controllerUIDIndex);
    this.dss.addHandlers({ add: (o) => this.enqueue(o), update: (_o, n) => this.enqueue(n), delete: (o) => this.enqueue(o) });
    const owner = (o: KubeObject) => {
      const ref = controllerRefOf(o);
      if (ref?.kind !== 'DaemonSet') return undefined;
      const ds = this.dss.get(`${o.metadata.namespace}/${ref.name}`);
      return ds && ds.metadata.uid === ref.uid ? ds : undefined;
    };
    this.pods.addHandlers({
      add: (p) => {
        const ds = owner(p);
        if (ds) {
          this.expectations.creationObserved(`${ds.metadata.namespace}/${ds.metadata.name}`);
          this.enqueue(ds);
        } else if (!controllerRefOf(p)) this.enqueueSelecting(asPod(p));
      },
      update: (o, n) => {
        const a = owner(o);
        const b = owner(n);
        if (a) this.enqueue(a);
        if (b && b !== a) this.enqueue(b);
        if (!b && !controllerRefOf(n)) this.enqueueSelecting(asPod(n));
      },
      delete: (p) => {
        const ds = owner(p);
        if (!ds) return;
        this.expectations.deletionObserved(`${ds.metadata.namespace}/${ds.metadata.name}`);
        this.enqueue(ds);
      },
    });
    const all = () => {
      for (const ds of this.dss.list()) this.enqueue(ds);
    };
    this.nodes.addHandlers({
      add: all,
      update: (o, n) => {
        const view = (x: KubeObject) => stableStringify([x.metadata.labels, (x.spec as Node['spec'])?.taints, (x.spec as Node['spec'])?.unschedulable]);
        if (view(o) !== view(n)) all();
      },
      delete: all,
    });
    const revOwner = (o: KubeObject) => {
      const ds = owner(o);
      if (ds) this.enqueue(ds);
    };
    this.revisions.addHandlers({ add: revOwner, update: (_o, n) => revOwner(n), delete: revOwner });
  }

  private enqueueSelecting(pod: Pod): void {
    for (const o of this.dss.byIndex('namespace', pod.metadata?.namespace ?? '')) {
      try {
        if (matchesLabels(selectorFromLabelSelector(asDs(o).spec?.selector as MetaLabelSelector | undefined), pod.metadata?.labels)) this.enqueue(o);
      } catch {
        // An invalid selector selects nothing.
      }
    }
  }

  protected async reconcile(key: string): Promise<void> {
    const o = this.dss.get(key);
    if (!o) {
      this.expectations.delete(key);
      this.requeue.forget(key);
      return;
    }
    const ds = structuredClone(asDs(o));
    if (ds.metadata?.deletionTimestamp) return;
    const nodes = this.nodes.list() as unknown as Node[];
    const { old, hash } = await this.constructHistory(ds);
    const nodePods = await this.nodesToDaemonPods(ds);
    const now = Date.now();
    if (this.expectations.satisfied(key)) {
      const plan = planNodes(ds, nodes, nodePods, hash, now);
      const failed = new Set<string>();
      for (const [podName, nodeName] of plan.failed) {
        const bk = `${key}/${nodeName}`;
        const b = this.failedBackoff.get(bk);
        if (b && now - b.at < b.delay) {
          failed.add(podName);
          this.requeue.after(key, b.delay - (now - b.at));
          continue;
        }
        this.failedBackoff.set(bk, { delay: Math.min((b?.delay ?? 500) * 2, 15 * 60_000), at: now });
        this.recorder.event(asObject(ds), 'Warning', 'FailedDaemonPod', `Found failed daemon pod ${ds.metadata?.namespace}/${podName} on node ${nodeName}, will try to kill it`);
      }
      const remove = plan.remove.filter((n) => !failed.has(n));
      await this.syncNodes(ds, key, remove, plan.create, hash);
      if (remove.length === 0 && plan.create.length === 0 && (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
        const ru = planRollingUpdate(ds, nodes, nodePods, hash, now);
        await this.syncNodes(ds, key, ru.remove, ru.create, hash);
      }
      await this.cleanupHistory(ds, old, nodePods);
    }
    await this.updateStatus(ds, nodes, nodePods, hash, now, key);
  }

  /** The DaemonSet's pods by the node they are on or pinned to, adopting orphans its selector matches. */
  private async nodesToDaemonPods(ds: DaemonSet): Promise<NodePods> {
    const pods = this.pods.byIndex(CONTROLLER_UID_INDEX, ds.metadata?.uid ?? '').map(asPod);
    let sel;
    try {
      sel = selectorFromLabelSelector(ds.spec?.selector as MetaLabelSelector | undefined);
    } catch {
      sel = undefined;
    }
    if (sel) {
      for (const p of this.pods.byIndex('namespace', ds.metadata?.namespace ?? '').map(asPod)) {
        if (controllerRefOf(p) || p.metadata?.deletionTimestamp || !matchesLabels(sel, p.metadata?.labels)) continue;
        try {
          const patch = { metadata: { uid: p.metadata?.uid, ownerReferences: [newControllerRef(asObject(ds), 'apps/v1', 'DaemonSet')] } };
          pods.push(asPod(await this.ctx.client.patch(PODS, p.metadata?.namespace, p.metadata?.name ?? '', 'strategic', patch)));
        } catch (e) {
          if (!(e instanceof StatusError && (e.code === 404 || e.code === 409 || e.code === 422))) throw e;
        }
      }
    }
    const out: NodePods = new Map();
    for (const p of pods) {
      if (p.metadata?.deletionTimestamp && isTerminal(p)) continue;
      const node = targetNodeName(p.spec);
      if (!node) continue;
      out.set(node, [...(out.get(node) ?? []), p]);
    }
    return out;
  }

  /** The current revision (created or renumbered as needed) and the old ones. */
  private async constructHistory(ds: DaemonSet): Promise<{ cur: ControllerRevision; old: ControllerRevision[]; hash: string }> {
    const revs = this.revisions.byIndex(CONTROLLER_UID_INDEX, ds.metadata?.uid ?? '').map(asRevision);
    const data = templatePatch(ds.spec?.template);
    const matching = sortRevisions(revs.filter((r) => sameData(r.data, data)));
    const old = revs.filter((r) => !sameData(r.data, data));
    const next = maxRevision(old) + 1;
    let cur: ControllerRevision;
    if (matching.length === 0) {
      cur = await this.snapshot(ds, data, next);
    } else {
      cur = matching[matching.length - 1]!;
      for (const dup of matching.slice(0, -1)) {
        await this.ctx.client.delete(CONTROLLER_REVISIONS, dup.metadata?.namespace, dup.metadata?.name ?? '').catch(() => undefined);
      }
      if (cur.revision < next) {
        cur = asRevision(await this.ctx.client.update(CONTROLLER_REVISIONS, asObject({ ...cur, revision: next })));
      }
    }
    const hash = cur.metadata?.labels?.[REVISION_HASH_LABEL] ?? cur.metadata?.name?.slice((ds.metadata?.name ?? '').length + 1) ?? '';
    return { cur, old, hash };
  }

  private async snapshot(ds: DaemonSet, data: unknown, revision: number): Promise<ControllerRevision> {
    const hash = computeHash(ds.spec?.template, ds.status?.collisionCount);
    const name = `${ds.metadata?.name}-${hash}`;
    const rev: ControllerRevision = {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name,
        namespace: ds.metadata?.namespace,
        labels: { ...(ds.spec?.template?.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash },
        ...(ds.metadata?.annotations ? { annotations: ds.metadata.annotations } : {}),
        ownerReferences: [newControllerRef(asObject(ds), 'apps/v1', 'DaemonSet')],
      },
      data: data as ControllerRevision['data'],
      revision,
    };
    try {
      return asRevision(await this.ctx.client.create(CONTROLLER_REVISIONS, ds.metadata?.namespace, asObject(rev)));
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 409)) throw e;
      const existing = asRevision(await this.ctx.client.get(CONTROLLER_REVISIONS, ds.metadata?.namespace, name));
      if (sameData(existing.data, data) && controllerRefOf(asObject(existing))?.uid === ds.metadata?.uid) return existing;
      // A hash collision: bump collisionCount so the next attempt hashes differently.
      const fresh = await this.ctx.client.get(DAEMONSETS, ds.metadata?.namespace, ds.metadata?.name ?? '');
      const st = (fresh.status ?? {}) as DaemonSetStatus;
      fresh.status = { ...st, collisionCount: (st.collisionCount ?? 0) + 1 };
      await this.ctx.client.updateStatus(DAEMONSETS, fresh);
      throw new Error(`found a stale ControllerRevision ${name} with a hash collision for DaemonSet ${ds.metadata?.name}`);
    }
  }

  /** Delete old revisions beyond revisionHistoryLimit, oldest first, keeping any a live pod still uses. */
  private async cleanupHistory(ds: DaemonSet, old: ControllerRevision[], nodePods: NodePods): Promise<void> {
    const limit = ds.spec?.revisionHistoryLimit ?? 10;
    let toKill = old.length - limit;
    if (toKill <= 0) return;
    const live = new Set<string>();
    for (const pods of nodePods.values()) for (const p of pods) if (p.metadata?.labels?.[REVISION_HASH_LABEL]) live.add(p.metadata.labels[REVISION_HASH_LABEL]);
    for (const r of sortRevisions(old)) {
      if (toKill <= 0) break;
      if (live.has(r.metadata?.labels?.[REVISION_HASH_LABEL] ?? '')) continue;
      await this.ctx.client.delete(CONTROLLER_REVISIONS, r.metadata?.namespace, r.metadata?.name ?? '').catch(() => undefined);
      toKill--;
    }
  }

  private async syncNodes(ds: DaemonSet, key: string, remove: string[], create: string[], hash: string): Promise<void> {
    if (remove.length === 0 && create.length === 0) return;
    this.expectations.expectCreations(key, create.length);
    this.expectations.expectDeletions(key, remove.length);
    const template = structuredClone(ds.spec?.template ?? {});
    const meta = (template.metadata ??= {});
    meta.labels = { ...(meta.labels ?? {}), [REVISION_HASH_LABEL]: hash };
    const generation = ds.metadata?.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
    if (generation) meta.labels[TEMPLATE_GENERATION_LABEL] = generation;
    const spec = (template.spec ??= { containers: [] });
    addDaemonTolerations(spec);
    const owner = newControllerRef(asObject(ds), 'apps/v1', 'DaemonSet');
    let firstError: unknown;
    const pending = [...create];
    for (let batch = Math.min(pending.length, SLOW_START_INITIAL_BATCH); pending.length > 0; batch = Math.min(2 * batch, pending.length)) {
      const nodes = pending.splice(0, batch);
      const results = await Promise.all(
        nodes.map(async (nodeName) => {
          const t = structuredClone(template);
          t.spec!.affinity = pinToNode(t.spec!.affinity, nodeName);
          const pod = podFromTemplate(t, owner, `${ds.metadata?.name}-`);
          try {
            const created = await this.ctx.client.create(PODS, ds.metadata?.namespace, asObject(pod));
            this.recorder.event(asObject(ds), 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
            return true;
          } catch (e) {
            this.expectations.creationObserved(key);
            this.recorder.event(asObject(ds), 'Warning', 'FailedCreate', `Error creating: ${errMessage(e)}`);
            firstError ??= e;
            return false;
          }
        }),
      );
      if (results.some((ok) => !ok) && pending.length) {
        for (let i = 0; i < pending.length; i++) this.expectations.creationObserved(key);
        break;
      }
    }
    await Promise.all(
      remove.map(async (name) => {
        try {
          await this.ctx.client.delete(PODS, ds.metadata?.namespace, name);
          this.recorder.event(asObject(ds), 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
        } catch (e) {
          this.expectations.deletionObserved(key);
          if (e instanceof StatusError && e.code === 404) return;
          this.recorder.event(asObject(ds), 'Warning', 'FailedDelete', `Error deleting: ${errMessage(e)}`);
          firstError ??= e;
        }
      }),
    );
    if (firstError) throw firstError;
  }

  private async updateStatus(ds: DaemonSet, nodes: Node[], nodePods: NodePods, hash: string, now: number, key: string): Promise<void> {
    const status = computeStatus(ds, nodes, nodePods, hash, now);
    const minReady = ds.spec?.minReadySeconds ?? 0;
    if (minReady > 0) {
      // Wake up when the next ready pod turns available.
      let soonest: number | undefined;
      for (const pods of nodePods.values()) for (const p of pods) {
        const left = msUntilAvailable(p, minReady, now);
        if (left !== undefined && (soonest === undefined || left < soonest)) soonest = left;
      }
      if (soonest !== undefined) this.requeue.after(key, soonest + 50);
    }
    if (stableStringify(status) === stableStringify(ds.status ?? {})) return;
    await writeComputedStatus(this.ctx.client, DAEMONSETS, asObject(ds), status);
  }
}
