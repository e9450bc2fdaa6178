import { computeManagedFieldsForUpdate } from '../../api/patch/apply.js';
import { schemaForKind } from '../../api/schema/registry.js';
import type { Hooks } from './generic.js';
import { nowRfc3339 } from './generic.js';

// managedFields on every non-apply write (operation Update), as the API server wires it into its registries.

export const managedFieldsHooks: Hooks = {
  trackManagedFields(info, old, obj, manager, subresource) {
    const version = info.storageVersion ?? info.version;
    const apiVersion = info.group ? `${info.group}/${version}` : version;
    const mf = computeManagedFieldsForUpdate(old, obj, manager, 'Update', apiVersion, subresource, nowRfc3339(), schemaForKind(info.group, version, info.kind));
    if (mf === undefined) delete obj.metadata.managedFields;
    else obj.metadata.managedFields = mf;
  },
};
