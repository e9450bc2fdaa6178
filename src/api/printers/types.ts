// meta.k8s.io/v1 Table shapes and the contract every printer implements.

import type { KubeObject, ObjectMeta } from '../object.js';

export type ColumnType = 'string' | 'integer' | 'number' | 'boolean' | 'date';

export interface ColumnDefinition {
  name: string;
  type: ColumnType;
  format: string;
  description: string;
  priority: number;
}

export type Cell = string | number | boolean | null;

export interface TableRowCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
}

export interface PartialObjectMetadata {
  kind: 'PartialObjectMetadata';
  apiVersion: 'meta.k8s.io/v1';
  metadata: ObjectMeta;
}

export interface TableRow {
  cells: Cell[];
  conditions?: TableRowCondition[];
  object: PartialObjectMetadata | KubeObject | null;
}

export interface TableMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: TableMeta;
  /** Omitted on watch events after the first, as kube-apiserver does. */
  columnDefinitions?: ColumnDefinition[];
  rows: TableRow[];
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface PrintContext {
  /** Wall clock (ms since epoch) ages are measured against. */
  now: number;
}

export interface PrintedRow {
  cells: Cell[];
  conditions?: TableRowCondition[];
}

/** Renders one kind. Cells are always the wide set: kubectl hides priority > 0 columns itself. */
export interface Printer {
  columns: ColumnDefinition[];
  row(obj: KubeObject, ctx: PrintContext): PrintedRow;
}
