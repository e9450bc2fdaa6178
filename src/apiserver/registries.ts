import type { KubeObject } from '../api/object.js';
import { StatusError, notFound } from '../api/errors.js';
import { RESOURCES, findResource, type ResourceInfo } from '../api/resources.js';
import { hpaV1ToV2, hpaV2ToV1 } from '../api/conversion/hpa.js';
import type { Store } from '../storage/interface.js';
import { GenericRegistry, type Admission, type Hooks } from './registry/generic.js';
import type { Ctx } from './handler.js';

// One GenericRegistry per stored resource. Versions that share storage (autoscaling v1 and v2) share the
// registry; objects are converted between the client's version and the storage version at the edge.

export type StreamingHandler = (ctx: Ctx, subresource: string) => Promise<void>;

export class Registries {
  private byStorage = new Map<string, GenericRegistry>();

  constructor(
    store: Store,
    admission: Admission,
    hooks: Hooks,
    private streaming: StreamingHandler = async (ctx) => {
      throw new StatusError(404, 'NotFound', `pod "${ctx.rr.name}" has no node agent to serve ${ctx.rr.subresource}: no node is running this pod`);
    },
  ) {
    for (const info of RESOURCES) {
      if (info.virtual) continue;
      const storageInfo = this.storageInfo(info);
      const k = this.keyOf(storageInfo);
      if (!this.byStorage.has(k)) this.byStorage.set(k, new GenericRegistry(storageInfo, store, admission, hooks));
    }
  }

  private keyOf(info: ResourceInfo): string {
    return `${info.group}/${info.resource}`;
  }

  /** The resource entry whose version objects are stored in. */
  storageInfo(info: ResourceInfo): ResourceInfo {
    if (!info.storageVersion) return info;
    return findResource(info.group, info.storageVersion, info.resource) ?? info;
  }

  get(info: ResourceInfo): GenericRegistry {
    const r = this.byStorage.get(this.keyOf(info));
    if (!r) throw notFound(info.resource, info.group, '');
    return r;
  }

  /** Whether `info` speaks another version than the one its objects are stored in. */
  converts(info: ResourceInfo): boolean {
    return info.kind === 'HorizontalPodAutoscaler' && info.version === 'v1';
  }

  /** Storage version → the version `info` speaks. */
  convert(obj: KubeObject, info: ResourceInfo): KubeObject {
    return this.converts(info) ? hpaV2ToV1(obj) : obj;
  }

  /** The version `info` speaks → storage version. */
  toStorage(obj: KubeObject, info: ResourceInfo): KubeObject {
    if (info.kind === 'HorizontalPodAutoscaler' && (info.version === 'v1' || obj.apiVersion === 'autoscaling/v1')) return hpaV1ToV2(obj);
    return obj;
  }

  /** NamespaceLifecycle: namespaced objects may only be created in a namespace that exists and is not going away. */
  async admitNamespace(info: ResourceInfo, namespace: string | undefined, objectName = ''): Promise<void> {
    if (!info.namespaced || !namespace) return;
    const nsInfo = findResource('', 'v1', 'namespaces')!;
    const ns = await this.get(nsInfo).tryGet(undefined, namespace);
    if (!ns) throw notFound('namespaces', '', namespace);
    if (ns.metadata.deletionTimestamp && info.kind !== 'Event') {
      throw new StatusError(403, 'Forbidden', `${info.resource} "${objectName}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, {
        kind: info.resource,
        causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
      });
    }
  }

  handleStreaming(ctx: Ctx, subresource: string): Promise<void> {
    return this.streaming(ctx, subresource);
  }
}
