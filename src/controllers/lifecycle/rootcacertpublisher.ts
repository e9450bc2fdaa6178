import type { KubeObject } from '../../api/object.js';
import { StatusError } from '../../api/errors.js';
import { resource } from '../../client/rest.js';
import { Informer } from '../../client/informer.js';
import type { ControllerContext } from '../runtime.js';
import { SyncedQueueController } from './base.js';

// kube-controller-manager's root-ca-cert-publisher: every active namespace holds a ConfigMap
// `kube-root-ca.crt` whose `ca.crt` is the cluster CA, so a pod's projected kube-api-access volume can
// verify the API server. A deleted copy is made again, an edited one put back.

const NAMESPACES = resource('', 'v1', 'namespaces');
const CONFIGMAPS = resource('', 'v1', 'configmaps');
export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
export const ROOT_CA_KEY = 'ca.crt';
const DESCRIPTION_ANNOTATION = 'kubernetes.io/description';
const DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

export class RootCACertPublisher extends SyncedQueueController {
  readonly name = 'root-ca-cert-publisher';
  private namespaces!: Informer;
  private configMaps!: Informer;
  private caPem = '';

  protected register(ctx: ControllerContext): void {
    this.caPem = ctx.options.rootCaPem ?? '';
    this.namespaces = ctx.informers.for(NAMESPACES);
    // Only the published ConfigMaps, not every ConfigMap in the cluster: this informer is the controller's own.
    this.configMaps = new Informer(ctx.client, CONFIGMAPS, { fieldSelector: `metadata.name=${ROOT_CA_CONFIGMAP}`, log: ctx.log });
    this.waitFor.push(this.namespaces, this.configMaps);
    if (!this.caPem) {
      ctx.log(`${this.name}: no cluster CA was given to the controller manager: ${ROOT_CA_CONFIGMAP} ConfigMaps are not published`);
      return;
    }
    this.namespaces.addHandlers({ add: (o) => this.enqueue(o), update: (_, o) => this.enqueue(o) });
    const byNamespace = (o: KubeObject) => {
      if (o.metadata.namespace) this.queue.add(o.metadata.namespace);
    };
    this.configMaps.addHandlers({ add: byNamespace, update: (_, o) => byNamespace(o), delete: byNamespace });
    this.configMaps.start();
  }

  override stop(): void {
    super.stop();
    void this.configMaps?.stop();
  }

  protected async reconcile(namespace: string): Promise<void> {
    const ns = this.namespaces.get(namespace);
    if (!ns || ns.metadata.deletionTimestamp) return;
    const phase = (ns.status as { phase?: string } | undefined)?.phase;
    if (phase && phase !== 'Active') return;
    const data = { [ROOT_CA_KEY]: this.caPem };
    const cm = this.configMaps.get(`${namespace}/${ROOT_CA_CONFIGMAP}`);
    try {
      if (!cm) {
        await this.ctx.client.create(CONFIGMAPS, namespace, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: ROOT_CA_CONFIGMAP, annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION } },
          data,
        });
        return;
      }
      if (isPublished(cm, this.caPem)) return;
      const fixed = structuredClone(cm);
      fixed.data = data;
      delete fixed.binaryData;
      fixed.metadata.annotations = { ...(fixed.metadata.annotations ?? {}), [DESCRIPTION_ANNOTATION]: DESCRIPTION };
      await this.ctx.client.update(CONFIGMAPS, fixed);
    } catch (e) {
      // 409 on create: it exists and our cache lags (its add event re-queues the namespace). 403/404: the
      // namespace is going away. A 409 on update is a lost race: retried with the newer object.
      if (e instanceof StatusError && (e.code === 403 || e.code === 404 || (e.code === 409 && !cm))) return;
      throw e;
    }
  }
}

/** Whether the ConfigMap holds exactly the CA (the description annotation is cosmetic, as upstream). */
function isPublished(cm: KubeObject, caPem: string): boolean {
  const data = (cm.data ?? {}) as Record<string, unknown>;
  const keys = Object.keys(data);
  return keys.length === 1 && data[ROOT_CA_KEY] === caPem && Object.keys((cm.binaryData ?? {}) as object).length === 0;
}
