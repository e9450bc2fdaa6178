import type { KubeObject } from '../../api/object.js';
import type { ResourceInfo } from '../../api/resources.js';
import { StatusError } from '../../api/errors.js';
import { matchesLabels, type LabelSelector } from '../../api/selectors.js';
import type { RestClient } from '../../client/rest.js';
import { controllerRef, newControllerRef } from './types.js';

// kube-controller-manager's ControllerRefManager: a controller owns the objects whose controller reference
// names it and that its selector still matches. It adopts matching orphans and releases what no longer
// matches, by patching ownerReferences, never by rewriting the object.

export interface ClaimOptions {
  client: RestClient;
  /** The resource of the objects being claimed (pods, replicasets). */
  info: ResourceInfo;
  owner: KubeObject;
  ownerApiVersion: string;
  ownerKind: string;
  selector: LabelSelector;
  /** Checked once before the first adoption: throws when the owner (read fresh) must not adopt. */
  canAdopt(): Promise<void>;
}

function isGoneOrInvalid(e: unknown): boolean {
  return e instanceof StatusError && (e.code === 404 || e.code === 422);
}

/** The objects `owner` controls after adopting and releasing; adoption failures surface as a thrown error
 *  only after every object was considered. */
export async function claimObjects<T extends KubeObject>(objs: T[], o: ClaimOptions): Promise<T[]> {
  const ownerUid = o.owner.metadata.uid;
  const ownerDeleting = !!o.owner.metadata.deletionTimestamp;
  const claimed: T[] = [];
  let adoptCheck: Promise<void> | undefined;
  let firstError: unknown;
  for (const obj of objs) {
    const ref = controllerRef(obj);
    const matches = matchesLabels(o.selector, obj.metadata.labels);
    if (ref) {
      if (ref.uid !== ownerUid) continue;
      if (matches) {
        claimed.push(obj);
        continue;
      }
      if (ownerDeleting) continue;
      try {
        await o.client.patch(o.info, obj.metadata.namespace, obj.metadata.name!, 'strategic', {
          metadata: { ownerReferences: [{ $patch: 'delete', uid: ownerUid }], uid: obj.metadata.uid },
        });
      } catch (e) {
        if (!isGoneOrInvalid(e)) firstError ??= e;
      }
      continue;
    }
    if (ownerDeleting || !matches || obj.metadata.deletionTimestamp) continue;
    if (obj.metadata.namespace !== o.owner.metadata.namespace) continue;
    try {
      adoptCheck ??= o.canAdopt();
      await adoptCheck;
      const updated = await o.client.patch(o.info, obj.metadata.namespace, obj.metadata.name!, 'strategic', {
        metadata: { ownerReferences: [newControllerRef(o.owner, o.ownerApiVersion, o.ownerKind)], uid: obj.metadata.uid },
      });
      claimed.push(updated as T);
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 404)) firstError ??= e;
    }
  }
  if (firstError !== undefined) throw firstError;
  return claimed;
}
