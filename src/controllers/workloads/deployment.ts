import { clone } from '../../api/object.js';
import { isEverything, matchesLabels, selectorFromLabelSelector, type LabelSelector } from '../../api/selectors.js';
import { resource } from '../../client/rest.js';
import { objectKey, type Informer } from '../../client/informer.js';
import type { EventRecorder } from '../../client/events.js';
import { QueueController, type ControllerContext } from '../runtime.js';
import { claimObjects } from './claim.js';
import { BY_CONTROLLER_UID, controllerUidIndex } from './replicaset.js';
import { DEPLOYMENTS, DeploymentSync, withKind } from './rollout.js';
import { controllerRef, type Deployment, type Pod, type ReplicaSet } from './types.js';
import { WrittenObjects, retryingConflicts } from './written.js';

// kube-controller-manager's "deployment" controller: owns ReplicaSets by selector and controller reference
// and drives each Deployment through DeploymentSync (rollout.ts) whenever it, one of its ReplicaSets or
// (for Recreate) one of its pods changes.

const REPLICASETS = resource('apps', 'v1', 'replicasets');
const PODS = resource('', 'v1', 'pods');

export class DeploymentController extends QueueController {
  readonly name = 'deployment';
  private dInformer!: Informer;
  private rsInformer!: Informer;
  private podInformer!: Informer;
  private recorder!: EventRecorder;
  private readonly writtenDeployments = new WrittenObjects<Deployment>();
  private readonly writtenSets = new WrittenObjects<ReplicaSet>();

  protected register(ctx: ControllerContext): void {
    this.recorder = ctx.recorder('deployment-controller');
    this.dInformer = ctx.informers.for(DEPLOYMENTS);
    this.rsInformer = ctx.informers.for(REPLICASETS);
    this.podInformer = ctx.informers.for(PODS);
    this.rsInformer.addIndexer(BY_CONTROLLER_UID, controllerUidIndex);
    this.podInformer.addIndexer(BY_CONTROLLER_UID, controllerUidIndex);
    this.dInformer.addHandlers({
      add: (d) => this.enqueue(d),
      update: (_o, d) => this.enqueue(d),
      delete: (d) => {
        this.writtenDeployments.forget(objectKey(d));
        this.enqueue(d);
      },
    });
    this.rsInformer.addHandlers({
      add: (rs) => this.replicaSetChanged(undefined, rs as ReplicaSet),
      update: (o, rs) => this.replicaSetChanged(o as ReplicaSet, rs as ReplicaSet),
      delete: (rs) => {
        this.writtenSets.forget(objectKey(rs));
        const d = this.resolve(rs as ReplicaSet);
        if (d) this.enqueue(d);
      },
    });
    this.podInformer.addHandlers({ delete: (p) => this.podDeleted(p as Pod) });
  }

  private resolve(rs: ReplicaSet): Deployment | undefined {
    const ref = controllerRef(rs);
    if (!ref || ref.kind !== 'Deployment') return undefined;
    const d = this.dInformer.get(`${rs.metadata.namespace}/${ref.name}`);
    return d && d.metadata.uid === ref.uid ? (d as Deployment) : undefined;
  }

  /** Deployments whose selector matches an orphan ReplicaSet. */
  private matching(rs: ReplicaSet): Deployment[] {
    const out: Deployment[] = [];
    for (const o of this.dInformer.byIndex('namespace', rs.metadata.namespace ?? '')) {
      const d = o as Deployment;
      try {
        const sel = selectorFromLabelSelector(d.spec.selector);
        if (!isEverything(sel) && matchesLabels(sel, rs.metadata.labels)) out.push(d);
      } catch {
        // An invalid selector matches nothing.
      }
    }
    return out;
  }

  private replicaSetChanged(old: ReplicaSet | undefined, rs: ReplicaSet): void {
    const oldRef = old && controllerRef(old);
    const ref = controllerRef(rs);
    if (oldRef && (!ref || ref.uid !== oldRef.uid)) {
      const d = this.resolve(old);
      if (d) this.enqueue(d);
    }
    if (ref) {
      const d = this.resolve(rs);
      if (d) this.enqueue(d);
      return;
    }
    for (const d of this.matching(rs)) this.enqueue(d);
  }

  private podDeleted(p: Pod): void {
    const ref = controllerRef(p);
    if (!ref || ref.kind !== 'ReplicaSet') return;
    const rs = this.rsInformer.get(`${p.metadata.namespace}/${ref.name}`) as ReplicaSet | undefined;
    if (!rs || rs.metadata.uid !== ref.uid) return;
    const d = this.resolve(rs);
    if (d && d.spec.strategy?.type === 'Recreate') this.enqueue(d);
  }

  protected reconcile(key: string): Promise<void> {
    return retryingConflicts(this.queue, key, () => this.sync(key));
  }

  private async sync(key: string): Promise<void> {
    await Promise.all([this.dInformer.waitForSync(), this.rsInformer.waitForSync(), this.podInformer.waitForSync()]);
    const cached = this.writtenDeployments.newest(this.dInformer.get(key) as Deployment | undefined);
    if (!cached) return;
    const d = withKind(clone(cached), 'Deployment');
    let selector: LabelSelector;
    try {
      selector = selectorFromLabelSelector(d.spec.selector);
    } catch {
      return;
    }
    const sync = new DeploymentSync(d, {
      client: this.ctx.client,
      recorder: this.recorder,
      podsOf: (uid) => this.podInformer.byIndex(BY_CONTROLLER_UID, uid) as Pod[],
      requeueAfter: (ms) => this.queue.addAfter(key, ms),
      wrote: (o) => (o.kind === 'ReplicaSet' ? this.writtenSets.remember(o as ReplicaSet) : this.writtenDeployments.remember(o as Deployment)),
    });
    if (isEverything(selector)) {
      this.recorder.event(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      if (d.status?.observedGeneration !== d.metadata.generation) {
        await this.ctx.client.updateStatus(DEPLOYMENTS, { ...d, status: { ...(d.status ?? {}), observedGeneration: d.metadata.generation } });
      }
      return;
    }
    return sync.run(await this.replicaSetsFor(d, selector));
  }

  private replicaSetsFor(d: Deployment, selector: LabelSelector): Promise<ReplicaSet[]> {
    const inNamespace = (this.rsInformer.byIndex('namespace', d.metadata.namespace ?? '') as ReplicaSet[]).map((rs) => this.writtenSets.newest(rs)!);
    return claimObjects(inNamespace, {
      client: this.ctx.client,
      info: REPLICASETS,
      owner: d,
      ownerApiVersion: 'apps/v1',
      ownerKind: 'Deployment',
      selector,
      canAdopt: async () => {
        const fresh = await this.ctx.client.get(DEPLOYMENTS, d.metadata.namespace, d.metadata.name!);
        if (fresh.metadata.uid !== d.metadata.uid) throw new Error(`original Deployment ${objectKey(d)} is gone: got uid ${fresh.metadata.uid}, wanted ${d.metadata.uid}`);
        if (fresh.metadata.deletionTimestamp) throw new Error(`Deployment ${objectKey(d)} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
      },
    });
  }
}
