import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { KubeObject } from '../../api/object.js';
import { StatusError } from '../../api/errors.js';
import { resource } from '../../client/rest.js';
import type { Informer } from '../../client/informer.js';
import type { EventRecorder } from '../../client/events.js';
import type { ControllerContext } from '../runtime.js';
import { SyncedQueueController } from '../lifecycle/base.js';

// The local-path provisioner, as k3s ships it: a default StorageClass `local-path`, and for every claim of
// that class a hostPath PersistentVolume under a base directory of the node, bound to the claim at once
// (volumeBindingMode Immediate: kite's scheduler does not delay binding to the first consumer).
//
// kite has no PV binder yet, so this controller also does the PV controller's share for its own volumes:
// phase Bound on both sides, spec.volumeName and the bind annotations, and the Delete reclaim policy.
// The directory itself is created by the node agent when a pod first mounts the claim; removing it when
// the PV goes away needs a node-side actor (see sweepLocalPathVolumes in the agent's volumes module).

const PVCS = resource('', 'v1', 'persistentvolumeclaims');
const PVS = resource('', 'v1', 'persistentvolumes');
const STORAGE_CLASSES = resource('storage.k8s.io', 'v1', 'storageclasses');

export const LOCAL_PATH_PROVISIONER = 'rancher.io/local-path';
export const LOCAL_PATH_CLASS = 'local-path';
export const DEFAULT_LOCAL_PATH_BASE = '/var/lib/kite/storage';
const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';
const PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';

const CLAIM = 'claim:';
const VOLUME = 'volume:';
const CLASS = 'class:';

export interface LocalPathOptions {
  /** Where volumes live on the node (k3s: --default-local-storage-path). */
  basePath?: string;
}

export function volumeNameFor(pvc: KubeObject): string {
  return `pvc-${pvc.metadata.uid ?? ''}`;
}

/** `<base>/pvc-<uid>_<namespace>_<name>`, the layout local-path-provisioner uses. */
export function volumePathFor(basePath: string, pvc: KubeObject): string {
  return `${basePath.replace(/\/+$/, '')}/${volumeNameFor(pvc)}_${pvc.metadata.namespace ?? ''}_${pvc.metadata.name ?? ''}`;
}

function isDefaultClass(sc: KubeObject): boolean {
  return sc.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true';
}

export class LocalPathProvisioner extends SyncedQueueController {
  readonly name = 'local-path-provisioner';
  private claims!: Informer;
  private volumes!: Informer;
  private classes!: Informer;
  private recorder!: EventRecorder;
  private readonly basePath: string;

  constructor(opts: LocalPathOptions = {}) {
    super();
    this.basePath = opts.basePath ?? DEFAULT_LOCAL_PATH_BASE;
  }

  protected register(ctx: ControllerContext): void {
    this.claims = ctx.informers.for(PVCS);
    this.volumes = ctx.informers.for(PVS);
    this.classes = ctx.informers.for(STORAGE_CLASSES);
    this.recorder = ctx.recorder(LOCAL_PATH_PROVISIONER);
    this.waitFor.push(this.claims, this.volumes, this.classes);
    const claim = (o: KubeObject) => this.queue.add(CLAIM + `${o.metadata.namespace}/${o.metadata.name}`);
    this.claims.addHandlers({
      add: claim,
      update: (_, o) => claim(o),
      delete: (o) => {
        const vol = (o as PersistentVolumeClaim).spec?.volumeName;
        if (vol) this.queue.add(VOLUME + vol);
      },
    });
    const volume = (o: KubeObject) => {
      this.queue.add(VOLUME + (o.metadata.name ?? ''));
      const ref = (o as PersistentVolume).spec?.claimRef;
      if (ref?.name) this.queue.add(CLAIM + `${ref.namespace}/${ref.name}`);
    };
    this.volumes.addHandlers({ add: volume, update: (_, o) => volume(o) });
    // Level-based: once the caches are filled, make sure the class exists; claims of a class that
    // appears later are requeued by its add event.
    this.queue.add(CLASS + LOCAL_PATH_CLASS);
    this.classes.addHandlers({ add: () => this.claims.list().forEach(claim) });
  }

  protected async reconcile(key: string): Promise<void> {
    if (key.startsWith(CLASS)) return this.ensureClass();
    if (key.startsWith(CLAIM)) return this.syncClaim(key.slice(CLAIM.length));
    if (key.startsWith(VOLUME)) return this.syncVolume(key.slice(VOLUME.length));
  }

  private async ensureClass(): Promise<void> {
    if (this.classes.get(LOCAL_PATH_CLASS)) return;
    // Never a second default: a cluster that already has one keeps it.
    const otherDefault = this.classes.list().some(isDefaultClass);
    const sc: StorageClass = {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: LOCAL_PATH_CLASS, annotations: otherDefault ? {} : { [DEFAULT_CLASS_ANNOTATION]: 'true' } },
      provisioner: LOCAL_PATH_PROVISIONER,
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
    };
    try {
      await this.ctx.client.create(STORAGE_CLASSES, undefined, sc as unknown as KubeObject);
      this.ctx.log(`${this.name}: created StorageClass ${LOCAL_PATH_CLASS}${otherDefault ? '' : ' (default)'}`);
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 409)) throw e;
    }
  }

  /** The class a claim asks for: its own, or (unset) the cluster default, as DefaultStorageClass admission would. */
  private classOf(pvc: PersistentVolumeClaim): string | undefined {
    const cls = pvc.spec?.storageClassName;
    if (cls !== undefined && cls !== null) return cls;
    return this.classes.list().find(isDefaultClass)?.metadata.name;
  }

  private ours(pvc: PersistentVolumeClaim): boolean {
    const cls = this.classOf(pvc);
    if (!cls) return false;
    const sc = this.classes.get(cls) as StorageClass | undefined;
    return sc?.provisioner === LOCAL_PATH_PROVISIONER;
  }

  private async syncClaim(key: string): Promise<void> {
    const obj = this.claims.get(key);
    if (!obj || obj.metadata.deletionTimestamp) return;
    const pvc = obj as PersistentVolumeClaim;
    if (!this.ours(pvc)) return;
    const pvName = volumeNameFor(obj);
    // A claim that names some other volume is bound statically: not ours to provision.
    if (pvc.spec?.volumeName && pvc.spec.volumeName !== pvName) return;
    if (pvc.status?.phase === 'Bound' && pvc.spec?.volumeName === pvName && this.volumes.get(pvName)) {
      await this.markVolumeBound(this.volumes.get(pvName) as PersistentVolume);
      return;
    }
    if (pvc.spec?.selector) {
      this.recorder.event(obj, 'Warning', 'ProvisioningFailed', 'claim.Spec.Selector is not supported');
      return;
    }
    const storage = pvc.spec?.resources?.requests?.storage;
    if (storage === undefined) return;
    let pv = this.volumes.get(pvName) as PersistentVolume | undefined;
    if (!pv) {
      pv = await this.provision(obj, pvc, pvName, storage);
      if (!pv) return;
    }
    await this.markVolumeBound(pv);
    await this.bindClaim(obj, pvc, pv);
  }

  private async provision(obj: KubeObject, pvc: PersistentVolumeClaim, pvName: string, storage: string | number): Promise<PersistentVolume | undefined> {
    const cls = this.classOf(pvc)!;
    const path = volumePathFor(this.basePath, obj);
    const pv: PersistentVolume = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pvName, annotations: { [PROVISIONED_BY]: LOCAL_PATH_PROVISIONER } },
      spec: {
        capacity: { storage: String(storage) },
        accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
        hostPath: { path, type: 'DirectoryOrCreate' },
        persistentVolumeReclaimPolicy: (this.classes.get(cls) as StorageClass | undefined)?.reclaimPolicy ?? 'Delete',
        storageClassName: cls,
        volumeMode: pvc.spec?.volumeMode ?? 'Filesystem',
        claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: obj.metadata.namespace, name: obj.metadata.name, uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion },
      },
    };
    try {
      const created = (await this.ctx.client.create(PVS, undefined, pv as unknown as KubeObject)) as PersistentVolume;
      this.recorder.event(obj, 'Normal', 'ProvisioningSucceeded', `Successfully provisioned volume ${pvName}`);
      this.ctx.log(`${this.name}: provisioned ${pvName} at ${path} for ${obj.metadata.namespace}/${obj.metadata.name}`);
      return created;
    } catch (e) {
      if (e instanceof StatusError && e.code === 409) return (await this.ctx.client.get(PVS, undefined, pvName)) as PersistentVolume;
      this.recorder.event(obj, 'Warning', 'ProvisioningFailed', `failed to provision volume with StorageClass "${cls}": ${(e as Error).message}`);
      throw e;
    }
  }

  private async markVolumeBound(pv: PersistentVolume): Promise<void> {
    if (pv.status?.phase === 'Bound') return;
    await this.ctx.client.patch(PVS, undefined, pv.metadata!.name!, 'merge', { status: { phase: 'Bound' } }, { subresource: 'status' });
  }

  private async bindClaim(obj: KubeObject, pvc: PersistentVolumeClaim, pv: PersistentVolume): Promise<void> {
    const name = obj.metadata.name!;
    const ns = obj.metadata.namespace;
    const ann = obj.metadata.annotations ?? {};
    if (pvc.spec?.volumeName !== pv.metadata!.name || ann['pv.kubernetes.io/bind-completed'] !== 'yes') {
      await this.ctx.client.patch(PVCS, ns, name, 'merge', {
        metadata: {
          uid: obj.metadata.uid, // a precondition: never bind a newer claim of the same name to this volume
          annotations: {
            'pv.kubernetes.io/bind-completed': 'yes',
            'pv.kubernetes.io/bound-by-controller': 'yes',
            'volume.kubernetes.io/storage-provisioner': LOCAL_PATH_PROVISIONER,
            'volume.beta.kubernetes.io/storage-provisioner': LOCAL_PATH_PROVISIONER,
          },
        },
        // kite's admission does not fill in the default class yet: record the class the claim got.
        spec: { volumeName: pv.metadata!.name, ...(pvc.spec?.storageClassName == null ? { storageClassName: pv.spec?.storageClassName } : {}) },
      });
    }
    if (pvc.status?.phase !== 'Bound') {
      await this.ctx.client.patch(PVCS, ns, name, 'merge', { status: { phase: 'Bound', capacity: pv.spec?.capacity, accessModes: pv.spec?.accessModes } }, { subresource: 'status' });
    }
  }

  /** A provisioned volume whose claim is gone is Released, then deleted (reclaim Delete) or kept (Retain). */
  private async syncVolume(name: string): Promise<void> {
    const pv = this.volumes.get(name) as PersistentVolume | undefined;
    if (!pv || pv.metadata?.deletionTimestamp) return;
    if (pv.metadata?.annotations?.[PROVISIONED_BY] !== LOCAL_PATH_PROVISIONER) return;
    const ref = pv.spec?.claimRef;
    if (!ref?.name) return;
    // The cache may lag a re-created claim: ask the API before letting data go.
    let live: KubeObject | undefined;
    try {
      live = await this.ctx.client.get(PVCS, ref.namespace, ref.name);
    } catch (e) {
      if (!(e instanceof StatusError && e.code === 404)) throw e;
    }
    if (live && live.metadata.uid === ref.uid) return;
    if (pv.spec?.persistentVolumeReclaimPolicy === 'Delete') {
      try {
        await this.ctx.client.delete(PVS, undefined, name, { preconditions: { uid: pv.metadata?.uid } });
        this.ctx.log(`${this.name}: deleted ${name}: its claim ${ref.namespace}/${ref.name} is gone (reclaim policy Delete)`);
      } catch (e) {
        if (!(e instanceof StatusError && (e.code === 404 || e.code === 409))) throw e;
      }
    } else if (pv.status?.phase !== 'Released') {
      await this.ctx.client.patch(PVS, undefined, name, 'merge', { status: { phase: 'Released' } }, { subresource: 'status' });
    }
  }
}
