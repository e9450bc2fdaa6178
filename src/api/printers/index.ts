// Server-side printing: turns objects into a meta.k8s.io/v1 Table with the columns kube-apiserver 1.32
// returns for each resource (shared/kubectl-compat.md A6 and Part C). The caller fills Table.metadata.

import type { KubeObject, ObjectMeta } from '../object.js';
import { apiVersionOf, type ResourceInfo } from '../resources.js';
import { controllerRevisionPrinter, daemonSetPrinter, deploymentPrinter, replicaSetPrinter, statefulSetPrinter } from './apps.js';
import { hpaPrinter } from './autoscaling.js';
import { cronJobPrinter, jobPrinter } from './batch.js';
import {
  clusterRoleBindingPrinter,
  leasePrinter,
  podDisruptionBudgetPrinter,
  priorityClassPrinter,
  roleBindingPrinter,
  storageClassPrinter,
} from './cluster.js';
import {
  configMapPrinter,
  endpointsPrinter,
  namespacePrinter,
  nodePrinter,
  persistentVolumeClaimPrinter,
  persistentVolumePrinter,
  replicationControllerPrinter,
  resourceQuotaPrinter,
  secretPrinter,
  serviceAccountPrinter,
  servicePrinter,
} from './core.js';
import { coreEventPrinter, eventsV1Printer } from './events.js';
import { NAME_COLUMN, col } from './format.js';
import { endpointSlicePrinter, ingressClassPrinter, ingressPrinter, networkPolicyPrinter } from './networking.js';
import { podPrinter, podTemplatePrinter } from './pod.js';
import type { ColumnDefinition, IncludeObject, PartialObjectMetadata, Printer, Table, TableRow } from './types.js';

export type * from './types.js';

/** Keyed by `group/resource` (core group: `/pods`). Versions of a resource share a printer. */
const PRINTERS: Readonly<Record<string, Printer>> = {
  '/pods': podPrinter,
  '/podtemplates': podTemplatePrinter,
  '/services': servicePrinter,
  '/nodes': nodePrinter,
  '/namespaces': namespacePrinter,
  '/secrets': secretPrinter,
  '/configmaps': configMapPrinter,
  '/serviceaccounts': serviceAccountPrinter,
  '/endpoints': endpointsPrinter,
  '/events': coreEventPrinter,
  '/replicationcontrollers': replicationControllerPrinter,
  '/persistentvolumes': persistentVolumePrinter,
  '/persistentvolumeclaims': persistentVolumeClaimPrinter,
  '/resourcequotas': resourceQuotaPrinter,
  'apps/deployments': deploymentPrinter,
  'apps/replicasets': replicaSetPrinter,
  'apps/statefulsets': statefulSetPrinter,
  'apps/daemonsets': daemonSetPrinter,
  'apps/controllerrevisions': controllerRevisionPrinter,
  'batch/jobs': jobPrinter,
  'batch/cronjobs': cronJobPrinter,
  'autoscaling/horizontalpodautoscalers': hpaPrinter,
  'networking.k8s.io/ingresses': ingressPrinter,
  'networking.k8s.io/ingressclasses': ingressClassPrinter,
  'networking.k8s.io/networkpolicies': networkPolicyPrinter,
  'discovery.k8s.io/endpointslices': endpointSlicePrinter,
  'events.k8s.io/events': eventsV1Printer,
  'coordination.k8s.io/leases': leasePrinter,
  'policy/poddisruptionbudgets': podDisruptionBudgetPrinter,
  'rbac.authorization.k8s.io/rolebindings': roleBindingPrinter,
  'rbac.authorization.k8s.io/clusterrolebindings': clusterRoleBindingPrinter,
  'scheduling.k8s.io/priorityclasses': priorityClassPrinter,
  'storage.k8s.io/storageclasses': storageClassPrinter,
};

/** RFC 3339 at second precision in UTC, Go's zero time when absent. */
function createdAt(timestamp: string | undefined): string {
  const t = timestamp ? Date.parse(timestamp) : NaN;
  if (Number.isNaN(t)) return '0001-01-01T00:00:00Z';
  return new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** What kube-apiserver prints for kinds without a printer (roles, limit ranges, custom resources...). */
export const defaultPrinter: Printer = {
  columns: [NAME_COLUMN, col('Created At', 'date', 'Time the object was created.')],
  row: (o) => ({ cells: [o.metadata?.name ?? '', createdAt(o.metadata?.creationTimestamp)] }),
};

export function printerFor(resource: Pick<ResourceInfo, 'group' | 'resource'>): Printer {
  return PRINTERS[`${resource.group}/${resource.resource}`] ?? defaultPrinter;
}

export function columnDefinitionsFor(resource: Pick<ResourceInfo, 'group' | 'resource'>): ColumnDefinition[] {
  return printerFor(resource).columns.map((c) => ({ ...c }));
}

/** The object's metadata as PartialObjectMetadata; managedFields are dropped, nothing a table reader needs. */
export function partialObjectMetadata(o: KubeObject): PartialObjectMetadata {
  const metadata: ObjectMeta = { ...(o.metadata ?? {}) };
  delete metadata.managedFields;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata };
}

function rowObject(resource: ResourceInfo, o: KubeObject, include: IncludeObject): TableRow['object'] {
  switch (include) {
    case 'None':
      return null;
    case 'Object':
      return { apiVersion: apiVersionOf(resource), kind: resource.kind, ...o };
    default:
      return partialObjectMetadata(o);
  }
}

export interface TableOptions {
  /** Wall clock (ms since epoch) for ages. */
  now: number;
  /** `includeObject` query parameter; absent means Metadata. */
  includeObject?: IncludeObject;
  /** Leave out columnDefinitions (watch events after the first). */
  noHeaders?: boolean;
}

/** Renders objects of one resource as a Table. Cells are always the wide set; metadata is left empty. */
export function tableFor(resource: ResourceInfo, objects: readonly KubeObject[], opts: TableOptions): Table {
  const printer = printerFor(resource);
  const include = opts.includeObject ?? 'Metadata';
  const ctx = { now: opts.now };
  const rows = objects.map((o): TableRow => {
    const printed = printer.row(o, ctx);
    const row: TableRow = { cells: printed.cells, object: rowObject(resource, o, include) };
    if (printed.conditions) row.conditions = printed.conditions;
    return row;
  });
  const table = { kind: 'Table', apiVersion: 'meta.k8s.io/v1', metadata: {} } as Table;
  if (!opts.noHeaders) table.columnDefinitions = printer.columns.map((c) => ({ ...c }));
  table.rows = rows;
  return table;
}

/** Parses the `includeObject` query parameter; unknown values fall back to Metadata. */
export function parseIncludeObject(v: string | null | undefined): IncludeObject {
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}
