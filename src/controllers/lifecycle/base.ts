import type { Informer } from '../../client/informer.js';
import { runWorkers } from '../../client/workqueue.js';
import { QueueController, type ControllerContext } from '../runtime.js';

/**
 * A QueueController whose workers wait until the informers it reads have listed once: reconciling against a
 * half-filled cache would delete what the controller simply has not seen yet (endpoints of unlisted pods).
 */
export abstract class SyncedQueueController extends QueueController {
  /** Informers to wait for; fill in register(). */
  protected readonly waitFor: Informer[] = [];

  override start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.register(ctx);
    void Promise.all(this.waitFor.map((i) => i.waitForSync())).then(() =>
      runWorkers(this.queue, this.workers, (k) => this.reconcile(k), (k, e) => ctx.log(`${this.name}: reconcile ${k}: ${errorMessage(e)}`)),
    );
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Run `fn` over `items` with at most `limit` in flight; every item is attempted, the first error is rethrown. */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  if (errors.length) throw errors[0];
}
