import { clone } from '../../api/object.js';
import { StatusError } from '../../api/errors.js';
import { semanticEqual } from '../../api/validation/json.js';
import type { RestClient } from '../../client/rest.js';
import { resource } from '../../client/rest.js';
import type { EventRecorder } from '../../client/events.js';
import * as u from './deploymentutil.js';
import { controllerRef, newControllerRef, replicasOf, type Deployment, type DeploymentCondition, type DeploymentStatus, type Pod, type ReplicaSet } from './types.js';

// One sync of one Deployment, as kube-controller-manager's deployment controller does it: find or create the
// new ReplicaSet, move replicas from the old ones to it (RollingUpdate or Recreate), follow scaling, clean up
// old revisions, and report status and the Progressing/Available conditions. Every write goes through the
// API with the resourceVersion last seen, so a stale cache costs a retry, never a wrong write.

export const DEPLOYMENTS = resource('apps', 'v1', 'deployments');
const REPLICASETS = resource('apps', 'v1', 'replicasets');

export interface SyncDeps {
  client: RestClient;
  recorder: EventRecorder;
  /** Pods controlled by the ReplicaSet with this UID (Recreate waits for old ones to be gone). */
  podsOf(rsUid: string): Pod[];
  /** Look at the Deployment again after `ms`. */
  requeueAfter(ms: number): void;
  /** Every object written, so the next sync can start from it rather than an older cached copy. */
  wrote(o: Deployment | ReplicaSet): void;
}

export function withKind<T extends Deployment | ReplicaSet>(o: T, kind: 'Deployment' | 'ReplicaSet'): T {
  return o.kind && o.apiVersion ? o : { ...o, apiVersion: 'apps/v1', kind };
}

export class DeploymentSync {
  constructor(
    private d: Deployment,
    private readonly deps: SyncDeps,
  ) {}

  get deployment(): Deployment {
    return this.d;
  }

  /** Everything one sync does, given the ReplicaSets the Deployment owns. */
  async run(sets: ReplicaSet[]): Promise<void> {
    const d = this.d;
    if (d.metadata.deletionTimestamp) return this.syncStatusOnly(sets);
    await this.checkPausedConditions();
    if (d.spec.paused) return this.sync(sets);
    // Revisions are synced once here; the refreshed ReplicaSets carry on, so no write repeats a stale one.
    const { newRS, oldRSs } = await this.replicaSets(sets, false);
    const current = newRS ? [...oldRSs, newRS] : oldRSs;
    if (u.isScalingEvent(d, current)) return this.sync(current);
    if (d.spec.strategy?.type === 'Recreate') return this.recreate(current);
    return this.rollingUpdate(current);
  }

  // ------------------------------------------------------------------------------------------------------
  // Writes.

  private async writeStatus(status: DeploymentStatus): Promise<void> {
    const next = clone(this.d);
    next.status = status;
    const res = (await this.deps.client.updateStatus(DEPLOYMENTS, next)) as Deployment;
    this.deps.wrote(res);
    this.d.metadata.resourceVersion = res.metadata.resourceVersion;
    this.d.status = res.status ?? status;
  }

  /** The revision annotation lives in metadata, which a status write leaves alone. */
  private async writeRevision(revision: string): Promise<void> {
    const res = await this.deps.client.patch(DEPLOYMENTS, this.d.metadata.namespace, this.d.metadata.name!, 'merge', {
      metadata: { resourceVersion: this.d.metadata.resourceVersion, annotations: { [u.REVISION]: revision } },
    });
    this.deps.wrote(res as Deployment);
    this.d.metadata.resourceVersion = res.metadata.resourceVersion;
    this.d.metadata.annotations = res.metadata.annotations;
  }

  private event(type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.deps.recorder.event(this.d, type, reason, message);
  }

  // ------------------------------------------------------------------------------------------------------
  // The new ReplicaSet.

  /** The new ReplicaSet (created when asked and missing) and the old ones, revisions brought up to date. */
  async replicaSets(sets: ReplicaSet[], create: boolean): Promise<{ newRS: ReplicaSet | undefined; oldRSs: ReplicaSet[] }> {
    const existing = u.findNewReplicaSet(this.d, sets);
    const oldRSs = sets.filter((rs) => rs !== existing);
    const newRS = await this.newReplicaSet(existing, oldRSs, create);
    return { newRS, oldRSs };
  }

  private async newReplicaSet(existing: ReplicaSet | undefined, oldRSs: ReplicaSet[], create: boolean): Promise<ReplicaSet | undefined> {
    const d = this.d;
    const newRevision = u.maxRevision(oldRSs) + 1;
    if (existing) {
      let rs = withKind(clone(existing), 'ReplicaSet');
      const annotationsChanged = u.setNewReplicaSetAnnotations(d, rs, newRevision, true);
      const minReadyChanged = (rs.spec.minReadySeconds ?? 0) !== (d.spec.minReadySeconds ?? 0);
      if (annotationsChanged || minReadyChanged) {
        rs.spec.minReadySeconds = d.spec.minReadySeconds ?? 0;
        rs = (await this.deps.client.update(REPLICASETS, rs)) as ReplicaSet;
        this.deps.wrote(rs);
      }
      const revision = rs.metadata.annotations?.[u.REVISION] ?? '';
      if (d.metadata.annotations?.[u.REVISION] !== revision) await this.writeRevision(revision);
      if (u.hasProgressDeadline(d) && !u.getCondition(d.status, u.PROGRESSING)) {
        const status = clone(d.status ?? {});
        u.setCondition(status, u.newCondition(u.PROGRESSING, 'True', u.FOUND_NEW_RS, `Found new replica set "${rs.metadata.name}"`));
        await this.writeStatus(status);
      }
      return rs;
    }
    if (!create) return undefined;

    const template = clone(d.spec.template ?? {});
    const hash = u.computeHash(template, d.status?.collisionCount);
    template.metadata ??= {};
    template.metadata.labels = { ...(template.metadata.labels ?? {}), [u.POD_TEMPLATE_HASH]: hash };
    const selector = clone(d.spec.selector ?? {});
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [u.POD_TEMPLATE_HASH]: hash };
    const name = `${d.metadata.name}-${hash}`;
    const fresh: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name, namespace: d.metadata.namespace, labels: { ...template.metadata.labels }, ownerReferences: [newControllerRef(d, 'apps/v1', 'Deployment')] },
      spec: { replicas: 0, minReadySeconds: d.spec.minReadySeconds ?? 0, selector, template },
    };
    const count = u.newRSNewReplicas(d, [...oldRSs, fresh], fresh);
    fresh.spec.replicas = count;
    u.setNewReplicaSetAnnotations(d, fresh, newRevision, false);

    let created: ReplicaSet;
    let alreadyExisted = false;
    try {
      created = (await this.deps.client.create(REPLICASETS, d.metadata.namespace, fresh)) as ReplicaSet;
      this.deps.wrote(created);
    } catch (e) {
      if (e instanceof StatusError && e.code === 409 && e.reason === 'AlreadyExists') {
        const rs = (await this.deps.client.get(REPLICASETS, d.metadata.namespace, name)) as ReplicaSet;
        if (controllerRef(rs)?.uid === d.metadata.uid && u.equalIgnoreHash(d.spec.template, rs.spec.template)) {
          created = rs;
          alreadyExisted = true;
        } else {
          // A different template hashed to the same name: hash again with a bumped collision count.
          const status = clone(d.status ?? {});
          status.collisionCount = (status.collisionCount ?? 0) + 1;
          await this.writeStatus(status);
          throw e;
        }
      } else {
        const msg = `Failed to create new replica set "${name}": ${(e as Error).message}`;
        if (u.hasProgressDeadline(d)) {
          const status = clone(d.status ?? {});
          u.setCondition(status, u.newCondition(u.PROGRESSING, 'False', u.FAILED_RS_CREATE, msg));
          await this.writeStatus(status).catch(() => undefined);
        }
        this.event('Warning', u.FAILED_RS_CREATE, msg);
        throw e;
      }
    }
    if (!alreadyExisted && count > 0) this.event('Normal', 'ScalingReplicaSet', `Scaled up replica set ${name} from 0 to ${count}`);
    if (d.metadata.annotations?.[u.REVISION] !== String(newRevision)) await this.writeRevision(String(newRevision));
    if (!alreadyExisted && u.hasProgressDeadline(d)) {
      const status = clone(d.status ?? {});
      u.setCondition(status, u.newCondition(u.PROGRESSING, 'True', u.NEW_RS_CREATED, `Created new replica set "${name}"`));
      await this.writeStatus(status);
    }
    return created;
  }

  // ------------------------------------------------------------------------------------------------------
  // Scaling ReplicaSets.

  /** Resize `rs` (and refresh its replica annotations); returns the written ReplicaSet. */
  private async scaleReplicaSet(rs: ReplicaSet, newScale: number, operation: string): Promise<{ scaled: boolean; rs: ReplicaSet }> {
    const d = this.d;
    const desired = replicasOf(d);
    const max = desired + u.maxSurge(d);
    const sizeChanged = replicasOf(rs) !== newScale;
    if (!sizeChanged && !u.replicasAnnotationsNeedUpdate(rs, desired, max)) return { scaled: false, rs };
    const next = withKind(clone(rs), 'ReplicaSet');
    const old = replicasOf(rs);
    next.spec.replicas = newScale;
    u.setReplicasAnnotations(next, desired, max);
    const written = (await this.deps.client.update(REPLICASETS, next)) as ReplicaSet;
    this.deps.wrote(written);
    if (sizeChanged) this.event('Normal', 'ScalingReplicaSet', `Scaled ${operation} replica set ${rs.metadata.name} from ${old} to ${newScale}`);
    return { scaled: sizeChanged, rs: written };
  }

  private async scaleAndRecord(rs: ReplicaSet, newScale: number): Promise<{ scaled: boolean; rs: ReplicaSet }> {
    if (replicasOf(rs) === newScale) return { scaled: false, rs };
    return this.scaleReplicaSet(rs, newScale, replicasOf(rs) < newScale ? 'up' : 'down');
  }

  /** Follow a change of spec.replicas: the only active ReplicaSet takes it all, or it is spread proportionally. */
  async scale(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<{ newRS: ReplicaSet | undefined; oldRSs: ReplicaSet[] }> {
    const d = this.d;
    const replace = (rs: ReplicaSet, written: ReplicaSet) => {
      if (rs === newRS) newRS = written;
      else oldRSs = oldRSs.map((o) => (o === rs ? written : o));
    };
    const target = activeOrLatest(newRS, oldRSs);
    if (target) {
      if (replicasOf(target) !== replicasOf(d)) replace(target, (await this.scaleAndRecord(target, replicasOf(d))).rs);
      return { newRS, oldRSs };
    }
    if (u.isSaturated(d, newRS)) {
      for (const old of u.activeSets(oldRSs)) replace(old, (await this.scaleAndRecord(old, 0)).rs);
      return { newRS, oldRSs };
    }
    if (u.isRollingUpdate(d)) {
      const { sizes, operation } = u.proportionalSizes(d, u.activeSets([...oldRSs, newRS]));
      for (const [rs, size] of sizes) replace(rs, (await this.scaleReplicaSet(rs, size, operation)).rs);
    }
    return { newRS, oldRSs };
  }

  // ------------------------------------------------------------------------------------------------------
  // Strategies.

  /** Paused or scaling: resize, clean up when paused, report status. */
  async sync(sets: ReplicaSet[]): Promise<void> {
    let { newRS, oldRSs } = await this.replicaSets(sets, false);
    ({ newRS, oldRSs } = await this.scale(newRS, oldRSs));
    if (this.d.spec.paused) await this.cleanup(oldRSs);
    const status = u.calculateStatus([...oldRSs, newRS], newRS, this.d);
    if (!statusEqual(this.d.status, status)) await this.writeStatus(status);
  }

  async rollingUpdate(sets: ReplicaSet[]): Promise<void> {
    const found = await this.replicaSets(sets, true);
    let oldRSs = found.oldRSs;
    const d = this.d;
    // Created when missing, so always there.
    let nrs = found.newRS!;
    // Grow the new ReplicaSet as far as the surge allows.
    if (replicasOf(nrs) !== replicasOf(d)) {
      const target = replicasOf(nrs) > replicasOf(d) ? replicasOf(d) : u.newRSNewReplicas(d, [...oldRSs, nrs], nrs);
      const r = await this.scaleAndRecord(nrs, target);
      nrs = r.rs;
      if (r.scaled) return this.syncRolloutStatus([...oldRSs, nrs], nrs);
    }
    // Shrink the old ones as far as availability allows.
    const r = await this.shrinkOld(oldRSs, nrs);
    oldRSs = r.oldRSs;
    if (r.scaled) return this.syncRolloutStatus([...oldRSs, nrs], nrs);
    if (u.deploymentComplete(d, d.status ?? {})) await this.cleanup(oldRSs);
    return this.syncRolloutStatus([...oldRSs, nrs], nrs);
  }

  private async shrinkOld(oldRSs: ReplicaSet[], newRS: ReplicaSet): Promise<{ scaled: boolean; oldRSs: ReplicaSet[] }> {
    const d = this.d;
    const active = u.activeSets(oldRSs);
    if (u.specReplicas(active) === 0) return { scaled: false, oldRSs };
    const minAvailable = replicasOf(d) - u.maxUnavailable(d);
    const newUnavailable = Math.max(0, replicasOf(newRS) - (newRS.status?.availableReplicas ?? 0));
    const maxScaledDown = u.specReplicas([...oldRSs, newRS]) - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return { scaled: false, oldRSs };
    let total = 0;
    const sets = new Map<ReplicaSet, ReplicaSet>(oldRSs.map((rs) => [rs, rs]));

    // Unhealthy old replicas first: they hold no availability and would block the rollout.
    for (const orig of [...active].sort(u.byCreation)) {
      if (total >= maxScaledDown) break;
      const rs = sets.get(orig)!;
      const unhealthy = replicasOf(rs) - (rs.status?.availableReplicas ?? 0);
      if (replicasOf(rs) === 0 || unhealthy <= 0) continue;
      const n = Math.min(maxScaledDown - total, unhealthy);
      sets.set(orig, (await this.scaleAndRecord(rs, replicasOf(rs) - n)).rs);
      total += n;
    }

    // Then healthy ones, keeping at least minAvailable available.
    const current = [...sets.values()];
    const available = u.availableLowerBound([...current, newRS]);
    if (available > minAvailable) {
      const budget = available - minAvailable;
      let done = 0;
      for (const orig of [...active].sort(u.byCreation)) {
        if (done >= budget) break;
        const rs = sets.get(orig)!;
        if (replicasOf(rs) === 0) continue;
        const n = Math.min(replicasOf(rs), budget - done);
        sets.set(orig, (await this.scaleAndRecord(rs, replicasOf(rs) - n)).rs);
        done += n;
      }
      total += done;
    }
    return { scaled: total > 0, oldRSs: oldRSs.map((rs) => sets.get(rs)!) };
  }

  async recreate(sets: ReplicaSet[]): Promise<void> {
    let { newRS, oldRSs } = await this.replicaSets(sets, false);
    let scaledDown = false;
    for (const rs of u.activeSets(oldRSs)) {
      const r = await this.scaleAndRecord(rs, 0);
      oldRSs = oldRSs.map((o) => (o === rs ? r.rs : o));
      scaledDown ||= r.scaled;
    }
    if (scaledDown) return this.syncRolloutStatus([...oldRSs, newRS], newRS);
    if (this.oldPodsRunning(newRS, oldRSs)) return this.syncRolloutStatus([...oldRSs, newRS], newRS);
    if (!newRS) ({ newRS, oldRSs } = await this.replicaSets(sets, true));
    const r = await this.scaleAndRecord(newRS!, replicasOf(this.d));
    newRS = r.rs;
    if (r.scaled) return this.syncRolloutStatus([...oldRSs, newRS], newRS);
    if (u.deploymentComplete(this.d, this.d.status ?? {})) await this.cleanup(oldRSs);
    return this.syncRolloutStatus([...oldRSs, newRS], newRS);
  }

  /** Recreate starts new pods only once no old pod is left, terminating ones included. */
  private oldPodsRunning(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): boolean {
    if (u.actualReplicas(oldRSs) > 0) return true;
    for (const rs of oldRSs) {
      if (rs.metadata.uid === newRS?.metadata.uid) continue;
      for (const p of this.deps.podsOf(rs.metadata.uid ?? '')) {
        const phase = p.status?.phase;
        if (phase !== 'Failed' && phase !== 'Succeeded') return true;
      }
    }
    return false;
  }

  /** Delete the oldest surplus revisions beyond revisionHistoryLimit. */
  async cleanup(oldRSs: ReplicaSet[]): Promise<void> {
    for (const rs of u.replicaSetsToCleanUp(this.d, oldRSs)) {
      try {
        await this.deps.client.delete(REPLICASETS, rs.metadata.namespace, rs.metadata.name!, { preconditions: { uid: rs.metadata.uid } });
      } catch (e) {
        if (!(e instanceof StatusError && e.code === 404)) throw e;
      }
    }
  }

  // ------------------------------------------------------------------------------------------------------
  // Status.

  /** Progressing reports pause and resume as Unknown, so `rollout status` and describe can tell. */
  async checkPausedConditions(): Promise<void> {
    const d = this.d;
    if (!u.hasProgressDeadline(d)) return;
    const pausedShown = u.getCondition(d.status, u.PROGRESSING)?.reason === u.PAUSED;
    let c: DeploymentCondition | undefined;
    if (d.spec.paused && !pausedShown) c = u.newCondition(u.PROGRESSING, 'Unknown', u.PAUSED, 'Deployment is paused');
    else if (!d.spec.paused && pausedShown) c = u.newCondition(u.PROGRESSING, 'Unknown', u.RESUMED, 'Deployment is resumed');
    if (!c) return;
    const status = clone(d.status ?? {});
    u.setCondition(status, c);
    await this.writeStatus(status);
  }

  async syncRolloutStatus(all: Array<ReplicaSet | undefined>, newRS: ReplicaSet | undefined): Promise<void> {
    const d = this.d;
    const s = u.calculateStatus(all, newRS, d);
    if (!u.hasProgressDeadline(d)) u.removeCondition(s, u.PROGRESSING);
    const cur = u.getCondition(s, u.PROGRESSING);
    const complete = (s.replicas ?? 0) === (s.updatedReplicas ?? 0) && cur?.reason === u.NEW_RS_AVAILABLE;
    if (u.hasProgressDeadline(d) && !complete) {
      const rsName = newRS?.metadata.name;
      if (u.deploymentComplete(d, s)) {
        const msg = rsName ? `ReplicaSet "${rsName}" has successfully progressed.` : 'Deployment has successfully progressed.';
        u.setCondition(s, u.newCondition(u.PROGRESSING, 'True', u.NEW_RS_AVAILABLE, msg));
      } else if (u.deploymentProgressing(d, s)) {
        const msg = rsName ? `ReplicaSet "${rsName}" is progressing.` : 'Deployment is progressing.';
        const c = u.newCondition(u.PROGRESSING, 'True', u.RS_UPDATED, msg);
        // Progress refreshes lastUpdateTime (the deadline's start) even when the reason stays the same.
        if (cur?.status === 'True') c.lastTransitionTime = cur.lastTransitionTime;
        u.removeCondition(s, u.PROGRESSING);
        u.setCondition(s, c);
      } else if (u.deploymentTimedOut(d, s)) {
        const msg = rsName ? `ReplicaSet "${rsName}" has timed out progressing.` : `Deployment "${d.metadata.name}" has timed out progressing.`;
        u.setCondition(s, u.newCondition(u.PROGRESSING, 'False', u.TIMED_OUT, msg));
      }
    }
    const failure = replicaFailure(all, newRS);
    if (failure) u.setCondition(s, failure);
    else u.removeCondition(s, u.REPLICA_FAILURE);
    if (statusEqual(d.status, s)) {
      this.requeueStuck(s);
      return;
    }
    await this.writeStatus(s);
  }

  /** A rollout that stops moving must be looked at again when its deadline passes, to report it. */
  private requeueStuck(s: DeploymentStatus): void {
    const d = this.d;
    const cur = u.getCondition(s, u.PROGRESSING);
    if (!u.hasProgressDeadline(d) || !cur) return;
    if (u.deploymentComplete(d, s) || cur.reason === u.TIMED_OUT) return;
    const from = Date.parse(cur.lastUpdateTime ?? '');
    if (!Number.isFinite(from)) return;
    const after = from + (d.spec.progressDeadlineSeconds ?? 0) * 1000 - Date.now();
    this.deps.requeueAfter(Math.max(after, 0) + 1000);
  }

  /** Status of a Deployment being deleted: counts only, no rollout. */
  async syncStatusOnly(sets: ReplicaSet[]): Promise<void> {
    const { newRS, oldRSs } = await this.replicaSets(sets, false);
    const status = u.calculateStatus([...oldRSs, newRS], newRS, this.d);
    if (!statusEqual(this.d.status, status)) await this.writeStatus(status);
  }
}

/** The only active ReplicaSet, or the newest when none is active; undefined when several are active. */
export function activeOrLatest(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): ReplicaSet | undefined {
  if (!newRS && !oldRSs.length) return undefined;
  const newestFirst = [...oldRSs].sort((a, b) => u.byCreation(b, a));
  const active = u.activeSets([...newestFirst, newRS]);
  if (active.length === 0) return newRS ?? newestFirst[0];
  if (active.length === 1) return active[0];
  return undefined;
}

/** A ReplicaSet's ReplicaFailure, as the Deployment's (the new ReplicaSet's first). */
function replicaFailure(all: Array<ReplicaSet | undefined>, newRS: ReplicaSet | undefined): DeploymentCondition | undefined {
  for (const rs of [newRS, ...all]) {
    const c = rs?.status?.conditions?.find((x) => x.type === u.REPLICA_FAILURE && x.status === 'True');
    if (c) return { type: u.REPLICA_FAILURE, status: 'True', lastUpdateTime: c.lastTransitionTime, lastTransitionTime: c.lastTransitionTime, reason: c.reason, message: c.message };
  }
  return undefined;
}

function statusEqual(a: DeploymentStatus | undefined, b: DeploymentStatus): boolean {
  return semanticEqual(a ?? {}, b);
}
