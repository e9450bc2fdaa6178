// apps/v1 workloads and their revisions.

import type { ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet } from 'kubernetes-types/apps/v1.js';
import type { KubeObject } from '../object.js';
import { formatLabelSelector } from '../selectors.js';
import {
  AGE_COLUMN,
  CONTAINERS_COLUMN,
  IMAGES_COLUMN,
  NAME_COLUMN,
  SELECTOR_COLUMN,
  age,
  col,
  containerCells,
  groupKindName,
  int,
  labelsOrNone,
  selectorOrNone,
} from './format.js';
import type { Printer } from './types.js';

function as<T>(o: KubeObject): T {
  return o as unknown as T;
}

export const deploymentPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col('Ready', 'string', 'Ready replicas out of desired.'),
    col('Up-to-date', 'string', 'Replicas running the latest pod template.'),
    col('Available', 'string', 'Replicas available to serve.'),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
  ],
  row(o, ctx) {
    const d = as<Deployment>(o);
    const [names, images] = containerCells(d.spec?.template?.spec?.containers);
    // Unlike the other workloads, an empty selector prints as '' here rather than <none>.
    let selector: string;
    try {
      selector = formatLabelSelector(d.spec?.selector);
    } catch {
      selector = '<invalid>';
    }
    return {
      cells: [
        d.metadata?.name ?? '',
        `${int(d.status?.readyReplicas)}/${int(d.spec?.replicas, 1)}`,
        int(d.status?.updatedReplicas),
        int(d.status?.availableReplicas),
        age(d.metadata?.creationTimestamp, ctx.now),
        names,
        images,
        selector,
      ],
    };
  },
};

/** ReplicaSets and ReplicationControllers print alike; only the selector's form differs. */
export function replicaCountPrinter(selectorCell: (selector: unknown) => string): Printer {
  return {
    columns: [
      NAME_COLUMN,
      col('Desired', 'integer', 'Requested number of replicas.'),
      col('Current', 'integer', 'Replicas that exist.'),
      col('Ready', 'integer', 'Replicas that are ready.'),
      AGE_COLUMN,
      CONTAINERS_COLUMN,
      IMAGES_COLUMN,
      SELECTOR_COLUMN,
    ],
    row(o, ctx) {
      const rs = as<ReplicaSet>(o);
      const [names, images] = containerCells(rs.spec?.template?.spec?.containers);
      return {
        cells: [
          rs.metadata?.name ?? '',
          int(rs.spec?.replicas, 1),
          int(rs.status?.replicas),
          int(rs.status?.readyReplicas),
          age(rs.metadata?.creationTimestamp, ctx.now),
          names,
          images,
          selectorCell(rs.spec?.selector),
        ],
      };
    },
  };
}

export const replicaSetPrinter: Printer = replicaCountPrinter((s) => selectorOrNone(s as Parameters<typeof selectorOrNone>[0]));

export const statefulSetPrinter: Printer = {
  columns: [NAME_COLUMN, col('Ready', 'string', 'Ready replicas out of desired.'), AGE_COLUMN, CONTAINERS_COLUMN, IMAGES_COLUMN],
  row(o, ctx) {
    const s = as<StatefulSet>(o);
    const [names, images] = containerCells(s.spec?.template?.spec?.containers);
    return {
      cells: [s.metadata?.name ?? '', `${int(s.status?.readyReplicas)}/${int(s.spec?.replicas, 1)}`, age(s.metadata?.creationTimestamp, ctx.now), names, images],
    };
  },
};

export const daemonSetPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col('Desired', 'integer', 'Nodes that should run the daemon pod.'),
    col('Current', 'integer', 'Nodes running at least one daemon pod.'),
    col('Ready', 'integer', 'Nodes with a ready daemon pod.'),
    col('Up-to-date', 'integer', 'Nodes running the latest pod template.'),
    col('Available', 'integer', 'Nodes with an available daemon pod.'),
    col('Node Selector', 'string', 'Labels a node needs to run the daemon pod.'),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
  ],
  row(o, ctx) {
    const ds = as<DaemonSet>(o);
    const st = ds.status;
    const [names, images] = containerCells(ds.spec?.template?.spec?.containers);
    return {
      cells: [
        ds.metadata?.name ?? '',
        int(st?.desiredNumberScheduled),
        int(st?.currentNumberScheduled),
        int(st?.numberReady),
        int(st?.updatedNumberScheduled),
        int(st?.numberAvailable),
        labelsOrNone(ds.spec?.template?.spec?.nodeSelector),
        age(ds.metadata?.creationTimestamp, ctx.now),
        names,
        images,
        selectorOrNone(ds.spec?.selector),
      ],
    };
  },
};

export const controllerRevisionPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col('Controller', 'string', 'Object that owns the revision.'),
    col('Revision', 'string', 'Revision number.'),
    AGE_COLUMN,
  ],
  row(o, ctx) {
    const cr = as<ControllerRevision>(o);
    const owner = (cr.metadata?.ownerReferences ?? []).find((r) => r.controller === true);
    const controller = owner ? groupKindName(owner.apiVersion, owner.kind, owner.name) : '<none>';
    return { cells: [cr.metadata?.name ?? '', controller, int(cr.revision), age(cr.metadata?.creationTimestamp, ctx.now)] };
  },
};
