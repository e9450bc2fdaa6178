import type { KubeObject } from '../../api/object.js';
import type { ResourceInfo } from '../../api/resources.js';
import type { StatusCause } from '../../api/errors.js';
import { applyDefaults, prepareForCreate, prepareForUpdate, type CreateContext, type PriorityClassInfo } from '../../api/defaults/index.js';
import { validateCreate, validateUpdate } from '../../api/validation/index.js';
import type { Admission, Operation } from '../registry/generic.js';
import type { ServiceAllocator } from './serviceips.js';

// The admission chain, in kube-apiserver's order: defaulting, mutating plugins (service allocation), then
// validation. Objects arrive here in their storage version.

/** Writes of status, of a pod's binding and of a namespace's finalizers change what the system owns: the main resource's strategy and
 *  validation (pod spec immutability) do not apply to them. */
function systemWrite(subresource: string | undefined): boolean {
  return subresource === 'status' || subresource === 'binding' || subresource === 'finalize';
}

export interface AdmissionOptions {
  /** tolerationSeconds of the default not-ready/unreachable tolerations (DefaultTolerationSeconds plugin). */
  defaultTolerationSeconds: number;
}

/** Reads the cluster's PriorityClasses (the Priority plugin resolves priorityClassName through them). */
export type PriorityClassSource = () => Promise<KubeObject[]>;

/** Reads the cluster's StorageClasses or IngressClasses (the DefaultStorageClass and DefaultIngressClass
 *  plugins pick the default among them). */
export type ClassSource = () => Promise<KubeObject[]>;

const DEFAULT_STORAGE_CLASS_ANNOTATIONS = ['storageclass.kubernetes.io/is-default-class', 'storageclass.beta.kubernetes.io/is-default-class'];
const DEFAULT_INGRESS_CLASS_ANNOTATIONS = ['ingressclass.kubernetes.io/is-default-class'];
/** An Ingress that names its class with the pre-IngressClass annotation has chosen one. */
const LEGACY_INGRESS_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

/** Among classes annotated as default, the newest; on a tie the first by name (both plugins agree on this,
 *  so a second default class added by mistake takes over rather than failing every create). */
function newestDefault(classes: KubeObject[], annotations: string[]): string | undefined {
  const defaults = classes.filter((c) => annotations.some((a) => c.metadata.annotations?.[a] === 'true'));
  const created = (c: KubeObject) => Date.parse(c.metadata.creationTimestamp ?? '') || 0;
  defaults.sort((a, b) => created(b) - created(a) || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  return defaults[0]?.metadata.name;
}

export function defaultStorageClassName(classes: KubeObject[]): string | undefined {
  return newestDefault(classes, DEFAULT_STORAGE_CLASS_ANNOTATIONS);
}

export function defaultIngressClassName(classes: KubeObject[]): string | undefined {
  return newestDefault(classes, DEFAULT_INGRESS_CLASS_ANNOTATIONS);
}

export class AdmissionChain implements Admission {
  private priorityClasses: PriorityClassSource = async () => [];
  private storageClasses: ClassSource = async () => [];
  private ingressClasses: ClassSource = async () => [];

  constructor(
    private readonly services: ServiceAllocator,
    private readonly opts: AdmissionOptions,
  ) {}

  setPriorityClassSource(src: PriorityClassSource): void {
    this.priorityClasses = src;
  }

  setStorageClassSource(src: ClassSource): void {
    this.storageClasses = src;
  }

  setIngressClassSource(src: ClassSource): void {
    this.ingressClasses = src;
  }

  /** DefaultIngressClass: a new Ingress that chose no class, by field or by the legacy annotation, gets the default. */
  private async defaultIngressClass(obj: KubeObject): Promise<void> {
    const spec = (obj.spec ??= {}) as { ingressClassName?: string | null };
    if (spec.ingressClassName !== undefined && spec.ingressClassName !== null) return;
    if (obj.metadata.annotations?.[LEGACY_INGRESS_CLASS_ANNOTATION] !== undefined) return;
    const name = defaultIngressClassName(await this.ingressClasses());
    if (name !== undefined) spec.ingressClassName = name;
  }

  private async createContext(info: ResourceInfo, obj: KubeObject): Promise<CreateContext> {
    const ctx: CreateContext = { defaultTolerationSeconds: this.opts.defaultTolerationSeconds };
    if (info.kind === 'PersistentVolumeClaim' && !info.group) {
      // Only a claim that names no class at all gets the default; storageClassName "" asks for none.
      const spec = obj.spec as { storageClassName?: string | null } | undefined;
      if (spec?.storageClassName === undefined || spec.storageClassName === null) ctx.defaultStorageClassName = defaultStorageClassName(await this.storageClasses());
      return ctx;
    }
    if (info.kind !== 'Pod' || info.group) return ctx;
    const all = await this.priorityClasses();
    const classes: PriorityClassInfo[] = all.map((pc) => ({
      name: pc.metadata.name ?? '',
      value: Number(pc.value ?? 0),
      preemptionPolicy: pc.preemptionPolicy as string | undefined,
    }));
    const byName = new Map(classes.map((c) => [c.name, c]));
    const globalDefault = all.find((pc) => pc.globalDefault === true);
    ctx.priorityClass = (name) => byName.get(name);
    if (globalDefault) ctx.defaultPriorityClass = byName.get(globalDefault.metadata.name ?? '');
    return ctx;
  }

  async mutate(op: Operation, info: ResourceInfo, obj: KubeObject, old: KubeObject | undefined, dryRun: boolean, subresource?: string): Promise<void> {
    const version = info.storageVersion ?? info.version;
    applyDefaults(info.group, version, info.kind, obj);
    if (op === 'create') prepareForCreate(info.group, version, info.kind, obj, await this.createContext(info, obj));
    if (op === 'create' && !subresource && info.kind === 'Ingress' && info.group === 'networking.k8s.io') await this.defaultIngressClass(obj);
    else if (op === 'update' && old && !systemWrite(subresource)) prepareForUpdate(info.group, version, info.kind, obj, old);
    if (info.kind === 'Service' && !info.group && op !== 'delete' && !systemWrite(subresource)) {
      this.services.allocate(obj, old);
      // A dry run shows the addresses it would get without holding them.
      if (dryRun) this.services.release(obj, old);
    }
  }

  validate(op: Operation, info: ResourceInfo, obj: KubeObject, old: KubeObject | undefined, subresource?: string): StatusCause[] {
    // Status writes are checked by their own rules, which kite does not have yet: only the main resource is.
    if (systemWrite(subresource)) return [];
    const version = info.storageVersion ?? info.version;
    const causes = op === 'update' && old ? validateUpdate(info.group, version, info.kind, obj, old) : validateCreate(info.group, version, info.kind, obj);
    if (causes.length && info.kind === 'Service' && !info.group) this.services.release(obj, old);
    return causes;
  }

  released(info: ResourceInfo, obj: KubeObject): void {
    if (info.kind === 'Service' && !info.group) this.services.release(obj);
  }
}
