import type { KubeObject } from '../../api/object.js';
import { StatusError } from '../../api/errors.js';
import { objectKey } from '../../client/informer.js';
import type { WorkQueue } from '../../client/workqueue.js';

// What a controller wrote last, per key, until its informer has caught up. A sync that runs right after a
// write would otherwise start from the cache's older copy and lose a round trip to a 409 Conflict.

function revision(o: KubeObject): number {
  const n = Number(o.metadata.resourceVersion);
  return Number.isSafeInteger(n) ? n : -1;
}

export class WrittenObjects<T extends KubeObject> {
  private readonly byKey = new Map<string, T>();

  remember(o: T): void {
    if (revision(o) >= 0) this.byKey.set(objectKey(o), o);
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }

  /** The cached object, or the one written since when it is newer (same UID, higher resourceVersion). */
  newest(cached: T | undefined): T | undefined {
    if (!cached) return undefined;
    const key = objectKey(cached);
    const w = this.byKey.get(key);
    if (!w) return cached;
    if (w.metadata.uid !== cached.metadata.uid || revision(w) <= revision(cached)) {
      this.byKey.delete(key);
      return cached;
    }
    return w;
  }
}

/** Wait this long before retrying a sync that lost a write race: the informer is about to deliver the news. */
const CONFLICT_RETRY_MS = 20;

/**
 * Run a sync; a 409 Conflict (a copy older than the server's) is expected when several writers touch one
 * object, so it is retried shortly instead of being reported as a failure.
 */
export async function retryingConflicts(queue: WorkQueue, key: string, sync: () => Promise<void>): Promise<void> {
  try {
    await sync();
  } catch (e) {
    if (e instanceof StatusError && e.code === 409 && e.reason === 'Conflict') {
      queue.addAfter(key, CONFLICT_RETRY_MS);
      return;
    }
    throw e;
  }
}
