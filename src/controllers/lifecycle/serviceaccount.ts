import type { KubeObject } from '../../api/object.js';
import { StatusError } from '../../api/errors.js';
import { resource } from '../../client/rest.js';
import type { Informer } from '../../client/informer.js';
import type { ControllerContext } from '../runtime.js';
import { SyncedQueueController } from './base.js';

// The service-account controller: every active namespace has a `default` ServiceAccount, created when the
// namespace appears and again whenever it is deleted.

const NAMESPACES = resource('', 'v1', 'namespaces');
const SERVICE_ACCOUNTS = resource('', 'v1', 'serviceaccounts');
export const DEFAULT_SERVICE_ACCOUNT = 'default';

export class ServiceAccountsController extends SyncedQueueController {
  readonly name = 'serviceaccount';
  private namespaces!: Informer;
  private serviceAccounts!: Informer;

  protected register(ctx: ControllerContext): void {
    this.namespaces = ctx.informers.for(NAMESPACES);
    this.serviceAccounts = ctx.informers.for(SERVICE_ACCOUNTS);
    this.waitFor.push(this.namespaces, this.serviceAccounts);
    this.namespaces.addHandlers({ add: (o) => this.enqueue(o), update: (_, o) => this.enqueue(o) });
    this.serviceAccounts.addHandlers({
      delete: (o: KubeObject) => {
        if (o.metadata.name === DEFAULT_SERVICE_ACCOUNT && o.metadata.namespace) this.queue.add(o.metadata.namespace);
      },
    });
  }

  protected async reconcile(namespace: string): Promise<void> {
    const ns = this.namespaces.get(namespace);
    if (!ns || ns.metadata.deletionTimestamp) return;
    const phase = (ns.status as { phase?: string } | undefined)?.phase;
    if (phase && phase !== 'Active') return;
    if (this.serviceAccounts.get(`${namespace}/${DEFAULT_SERVICE_ACCOUNT}`)) return;
    try {
      await this.ctx.client.create(SERVICE_ACCOUNTS, namespace, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DEFAULT_SERVICE_ACCOUNT } });
    } catch (e) {
      // Already there (our cache lags), or the namespace is going away: nothing to do.
      if (e instanceof StatusError && (e.code === 409 || e.code === 403 || e.code === 404)) return;
      throw e;
    }
  }
}
