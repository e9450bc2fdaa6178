import type { KubeObject } from '../api/object.js';
import type { RestClient } from '../client/rest.js';
import type { InformerFactory } from '../client/informer.js';
import { objectKey } from '../client/informer.js';
import type { EventRecorder } from '../client/events.js';
import { WorkQueue, runWorkers } from '../client/workqueue.js';

// What every control loop gets, and the one shape they share: informers feed a work queue of keys, workers
// run a level-based, idempotent reconcile(key) through the API.

export interface ControllerOptions {
  /** How long a node may go without a heartbeat before it is Unknown (default 40 s). */
  nodeMonitorGracePeriodMs: number;
  /** Toleration added to pods for not-ready/unreachable nodes (default 300 s). */
  defaultUnreachableTolerationSeconds: number;
  /** The cluster CA (PEM) the root-ca-cert-publisher copies into every namespace's kube-root-ca.crt. */
  rootCaPem?: string;
}

export interface ControllerContext {
  client: RestClient;
  informers: InformerFactory;
  recorder(component: string): EventRecorder;
  log(msg: string): void;
  options: ControllerOptions;
}

export interface Controller {
  readonly name: string;
  /** Register informer handlers and start workers; informers are started by the caller afterwards. */
  start(ctx: ControllerContext): void;
  stop(): void;
}

/** A controller that reconciles one key at a time from a de-duplicating, rate-limited queue. */
export abstract class QueueController implements Controller {
  abstract readonly name: string;
  protected readonly queue = new WorkQueue();
  protected ctx!: ControllerContext;
  protected workers = 2;

  start(ctx: ControllerContext): void {
    this.ctx = ctx;
    this.register(ctx);
    void runWorkers(this.queue, this.workers, (k) => this.reconcile(k), (k, e) => ctx.log(`${this.name}: reconcile ${k}: ${(e as Error).message ?? String(e)}`));
  }

  stop(): void {
    this.queue.shutdown();
  }

  enqueue(obj: KubeObject): void {
    this.queue.add(objectKey(obj));
  }

  /** Set up informers and handlers that enqueue keys. */
  protected abstract register(ctx: ControllerContext): void;

  /** Make the world match the desired state of `key` ("namespace/name" or "name"). */
  protected abstract reconcile(key: string): Promise<void>;
}
