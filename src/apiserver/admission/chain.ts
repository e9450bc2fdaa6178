import type { KubeObject } from '../../api/object.js';
import type { ResourceInfo } from '../../api/resources.js';
import type { StatusCause } from '../../api/errors.js';
import { applyDefaults, prepareForCreate, prepareForUpdate } from '../../api/defaults/index.js';
import { validateCreate, validateUpdate } from '../../api/validation/index.js';
import type { Admission, Operation } from '../registry/generic.js';
import type { ServiceAllocator } from './serviceips.js';

// The admission chain, in kube-apiserver's order: defaulting, mutating plugins (service allocation), then
// validation. Objects arrive here in their storage version.

/** Writes of status and of a pod's binding change what the system owns: the main resource's strategy and
 *  validation (pod spec immutability) do not apply to them. */
function systemWrite(subresource: string | undefined): boolean {
  return subresource === 'status' || subresource === 'binding';
}

export class AdmissionChain implements Admission {
  constructor(private readonly services: ServiceAllocator) {}

  async mutate(op: Operation, info: ResourceInfo, obj: KubeObject, old: KubeObject | undefined, dryRun: boolean, subresource?: string): Promise<void> {
    const version = info.storageVersion ?? info.version;
    applyDefaults(info.group, version, info.kind, obj);
    if (op === 'create') prepareForCreate(info.group, version, info.kind, obj);
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
