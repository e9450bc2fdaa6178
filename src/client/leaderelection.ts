import type { KubeObject } from '../api/object.js';
import { StatusError } from '../api/errors.js';
import { resource, type RestClient } from './rest.js';

// Leader election through a coordination.k8s.io Lease, as client-go's: the holder renews before the lease
// expires; others take over once it has gone unrenewed for the lease duration. Several `kite server`
// processes on one datastore thereby run one set of controllers.

const LEASES = resource('coordination.k8s.io', 'v1', 'leases');

export interface LeaderElectionOptions {
  name: string;
  namespace?: string;
  identity: string;
  leaseDurationSeconds?: number;
  retryPeriodMs?: number;
  onStartedLeading(): void;
  onStoppedLeading(): void;
}

function microNow(): string {
  return new Date().toISOString().replace(/Z$/, '000Z');
}

export class LeaderElector {
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private stopped = false;
  /** The acquire-or-renew in flight: stop() waits for it, since it may take the Lease after stop began. */
  private renewal: Promise<boolean> | undefined;

  constructor(
    private readonly client: RestClient,
    private readonly opts: LeaderElectionOptions,
  ) {}

  start(): void {
    void this.tick();
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Stop, and hand the Lease back when leading so that a successor (a restarted server) need not wait for
   *  it to expire, as client-go's ReleaseOnCancel does. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const tookLease = (await this.renewal) ?? false;
    const wasLeading = this.leading;
    if (!wasLeading && !tookLease) return;
    this.leading = false;
    if (wasLeading) this.opts.onStoppedLeading();
    try {
      const ns = this.opts.namespace ?? 'kube-system';
      const lease = await this.client.get(LEASES, ns, this.opts.name);
      const spec = (lease.spec ?? {}) as Record<string, unknown>;
      if (spec.holderIdentity !== this.opts.identity) return;
      lease.spec = { ...spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new Date(0).toISOString().replace(/Z$/, '000Z') };
      await this.client.update(LEASES, lease);
    } catch {
      // The Lease simply expires on its own.
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    this.renewal = this.tryAcquireOrRenew().catch(() => false);
    const ok = await this.renewal;
    this.renewal = undefined;
    // Stopped while renewing: start nothing; stop() hands back what this renewal took.
    if (this.stopped) return;
    if (ok && !this.leading) {
      this.leading = true;
      this.opts.onStartedLeading();
    } else if (!ok && this.leading) {
      this.leading = false;
      this.opts.onStoppedLeading();
    }
    this.timer = setTimeout(() => void this.tick(), this.opts.retryPeriodMs ?? 2000);
    this.timer.unref();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const ns = this.opts.namespace ?? 'kube-system';
    const duration = this.opts.leaseDurationSeconds ?? 15;
    let lease: KubeObject;
    try {
      lease = await this.client.get(LEASES, ns, this.opts.name);
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 404)) throw e;
      await this.client.create(LEASES, ns, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.opts.name, namespace: ns },
        spec: { holderIdentity: this.opts.identity, leaseDurationSeconds: duration, acquireTime: microNow(), renewTime: microNow(), leaseTransitions: 0 },
      });
      return true;
    }
    const spec = (lease.spec ?? {}) as { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number; leaseTransitions?: number; acquireTime?: string };
    const expired = !spec.renewTime || Date.parse(spec.renewTime) + (spec.leaseDurationSeconds ?? duration) * 1000 < Date.now();
    if (spec.holderIdentity !== this.opts.identity && !expired) return false;
    const takeover = spec.holderIdentity !== this.opts.identity;
    lease.spec = {
      ...spec,
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: duration,
      renewTime: microNow(),
      ...(takeover ? { acquireTime: microNow(), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
    };
    await this.client.update(LEASES, lease);
    return true;
  }
}
