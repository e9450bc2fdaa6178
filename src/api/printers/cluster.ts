// RBAC bindings, scheduling, storage classes, leases and disruption budgets.

import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { PodDisruptionBudget } from 'kubernetes-types/policy/v1.js';
import type { ClusterRoleBinding, RoleBinding, Subject } from 'kubernetes-types/rbac/v1.js';
import type { PriorityClass } from 'kubernetes-types/scheduling/v1.js';
import type { StorageClass } from 'kubernetes-types/storage/v1.js';
import type { KubeObject } from '../object.js';
import { AGE_COLUMN, NAME_COLUMN, age, col, int, scalar } from './format.js';
import type { Printer } from './types.js';

function as<T>(o: KubeObject): T {
  return o as unknown as T;
}

function subjectColumns(subjects: Subject[] | undefined): [string, string, string] {
  const users: string[] = [];
  const groups: string[] = [];
  const sas: string[] = [];
  for (const s of subjects ?? []) {
    if (s.kind === 'User') users.push(s.name);
    else if (s.kind === 'Group') groups.push(s.name);
    else if (s.kind === 'ServiceAccount') sas.push(`${s.namespace ?? ''}/${s.name}`);
  }
  return [users.join(', '), groups.join(', '), sas.join(', ')];
}

function bindingPrinter(what: string): Printer {
  return {
    columns: [
      NAME_COLUMN,
      col('Role', 'string', 'Kind and name of the role granted.'),
      AGE_COLUMN,
      col('Users', 'string', `Users bound by the ${what}.`, 1),
      col('Groups', 'string', `Groups bound by the ${what}.`, 1),
      col('ServiceAccounts', 'string', `Service accounts bound by the ${what}.`, 1),
    ],
    row(o, ctx) {
      const b = as<RoleBinding | ClusterRoleBinding>(o);
      return {
        cells: [
          b.metadata?.name ?? '',
          `${b.roleRef?.kind ?? ''}/${b.roleRef?.name ?? ''}`,
          age(b.metadata?.creationTimestamp, ctx.now),
          ...subjectColumns(b.subjects),
        ],
      };
    },
  };
}

export const roleBindingPrinter = bindingPrinter('role binding');
export const clusterRoleBindingPrinter = bindingPrinter('cluster role binding');

export const priorityClassPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col('Value', 'integer', 'Priority given to pods of this class.'),
    col('Global-Default', 'boolean', 'Whether pods without a class get this one.'),
    AGE_COLUMN,
    col('PreemptionPolicy', 'string', 'Whether pods of this class may preempt others.'),
  ],
  row(o, ctx) {
    const pc = as<PriorityClass>(o);
    return { cells: [pc.metadata?.name ?? '', int(pc.value), pc.globalDefault === true, age(pc.metadata?.creationTimestamp, ctx.now), pc.preemptionPolicy ?? ''] };
  },
};

const DEFAULT_CLASS_ANNOTATIONS = ['storageclass.kubernetes.io/is-default-class', 'storageclass.beta.kubernetes.io/is-default-class'];

export const storageClassPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col('Provisioner', 'string', 'Volume plugin that provisions volumes.'),
    col('ReclaimPolicy', 'string', 'Reclaim policy of provisioned volumes.'),
    col('VolumeBindingMode', 'string', 'When volumes are bound and provisioned.'),
    col('AllowVolumeExpansion', 'string', 'Whether claims may be resized.'),
    AGE_COLUMN,
  ],
  row(o, ctx) {
    const sc = as<StorageClass>(o);
    const ann = sc.metadata?.annotations ?? {};
    const isDefault = DEFAULT_CLASS_ANNOTATIONS.some((a) => ann[a] === 'true');
    return {
      cells: [
        `${sc.metadata?.name ?? ''}${isDefault ? ' (default)' : ''}`,
        sc.provisioner ?? '',
        sc.reclaimPolicy ?? 'Delete',
        sc.volumeBindingMode ?? 'Immediate',
        sc.allowVolumeExpansion === true,
        age(sc.metadata?.creationTimestamp, ctx.now),
      ],
    };
  },
};

export const leasePrinter: Printer = {
  columns: [NAME_COLUMN, col('Holder', 'string', 'Identity of the current holder.'), AGE_COLUMN],
  row(o, ctx) {
    const l = as<Lease>(o);
    return { cells: [l.metadata?.name ?? '', l.spec?.holderIdentity ?? '', age(l.metadata?.creationTimestamp, ctx.now)] };
  },
};

export const podDisruptionBudgetPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col('Min Available', 'string', 'Pods that must stay available.'),
    col('Max Unavailable', 'string', 'Pods that may be unavailable.'),
    col('Allowed Disruptions', 'integer', 'Evictions allowed right now.'),
    AGE_COLUMN,
  ],
  row(o, ctx) {
    const pdb = as<PodDisruptionBudget>(o);
    return {
      cells: [
        pdb.metadata?.name ?? '',
        scalar(pdb.spec?.minAvailable, 'N/A'),
        scalar(pdb.spec?.maxUnavailable, 'N/A'),
        int(pdb.status?.disruptionsAllowed),
        age(pdb.metadata?.creationTimestamp, ctx.now),
      ],
    };
  },
};
