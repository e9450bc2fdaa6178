// Core-group kinds other than pods and events.

import type {
  ConfigMap,
  Endpoints,
  Namespace,
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  ResourceQuota,
  Secret,
  Service,
  ServiceAccount,
} from 'kubernetes-types/core/v1.js';
import type { KubeObject } from '../object.js';
import { replicaCountPrinter } from './apps.js';
import {
  AGE_COLUMN,
  NAME_COLUMN,
  age,
  col,
  joinHostPort,
  labelsOrNone,
  loadBalancerAddresses,
  scalar,
} from './format.js';
import type { Printer } from './types.js';

function as<T>(o: KubeObject): T {
  return o as unknown as T;
}

// --- services --------------------------------------------------------------------------------------------

function serviceExternalIP(svc: Service): string {
  const spec = svc.spec ?? {};
  const externalIPs = spec.externalIPs ?? [];
  switch (spec.type) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerAddresses(svc.status?.loadBalancer?.ingress, true);
      if (externalIPs.length) return [...(lb ? lb.split(',') : []), ...externalIPs].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
    default:
      return '<unknown>';
  }
}

function servicePorts(svc: Service): string {
  const ports = (svc.spec?.ports ?? []).map((p) => {
    const proto = p.protocol ?? 'TCP';
    return p.nodePort && p.nodePort > 0 ? `${p.port}:${p.nodePort}/${proto}` : `${p.port}/${proto}`;
  });
  return ports.length ? ports.join(',') : '<none>';
}

export const servicePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col('Type', 'string', 'How the service is exposed.'),
    col('Cluster-IP', 'string', 'Virtual IP of the service inside the cluster.'),
    col('External-IP', 'string', 'Addresses the service is reachable at from outside.'),
    col('Port(s)', 'string', 'Service ports, with node ports where allocated.'),
    AGE_COLUMN,
    col('Selector', 'string', 'Labels of the pods backing the service.', 1),
  ],
  row(o, ctx) {
    const svc = as<Service>(o);
    const clusterIP = svc.spec?.clusterIPs?.[0] || svc.spec?.clusterIP || '<none>';
    return {
      cells: [
        svc.metadata?.name ?? '',
        svc.spec?.type ?? '',
        clusterIP,
        serviceExternalIP(svc),
        servicePorts(svc),
        age(svc.metadata?.creationTimestamp, ctx.now),
        labelsOrNone(svc.spec?.selector),
      ],
    };
  },
};

// --- nodes -----------------------------------------------------------------------------------------------

const ROLE_PREFIX = 'node-role.kubernetes.io/';
const ROLE_LABEL = 'kubernetes.io/role';

export function nodeRoles(labels: Record<string, string> | undefined): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (k.startsWith(ROLE_PREFIX)) {
      const role = k.slice(ROLE_PREFIX.length);
      if (role) roles.add(role);
    } else if (k === ROLE_LABEL && v) roles.add(v);
  }
  return [...roles].sort();
}

function nodeStatus(node: Node): string {
  const ready = (node.status?.conditions ?? []).find((c) => c.type === 'Ready');
  const parts = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (node.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function nodeAddress(node: Node, type: string): string {
  return (node.status?.addresses ?? []).find((a) => a.type === type)?.address ?? '<none>';
}

export const nodePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col('Status', 'string', 'Readiness of the node and whether it accepts new pods.'),
    col('Roles', 'string', 'Roles taken from node-role.kubernetes.io labels.'),
    AGE_COLUMN,
    col('Version', 'string', 'Kubelet version.'),
    col('Internal-IP', 'string', 'First InternalIP address of the node.', 1),
    col('External-IP', 'string', 'First ExternalIP address of the node.', 1),
    col('OS-Image', 'string', 'Operating system image reported by the kubelet.', 1),
    col('Kernel-Version', 'string', 'Kernel version reported by the kubelet.', 1),
    col('Container-Runtime', 'string', 'Container runtime name and version.', 1),
  ],
  row(o, ctx) {
    const node = as<Node>(o);
    const info = node.status?.nodeInfo;
    const roles = nodeRoles(node.metadata?.labels).join(',');
    return {
      cells: [
        node.metadata?.name ?? '',
        nodeStatus(node),
        roles || '<none>',
        age(node.metadata?.creationTimestamp, ctx.now),
        info?.kubeletVersion ?? '',
        nodeAddress(node, 'InternalIP'),
        nodeAddress(node, 'ExternalIP'),
        info?.osImage || '<unknown>',
        info?.kernelVersion || '<unknown>',
        info?.containerRuntimeVersion || '<unknown>',
      ],
    };
  },
};

// --- small core kinds ------------------------------------------------------------------------------------

export const namespacePrinter: Printer = {
  columns: [NAME_COLUMN, col('Status', 'string', 'Lifecycle phase of the namespace.'), AGE_COLUMN],
  row(o, ctx) {
    const ns = as<Namespace>(o);
    return { cells: [ns.metadata?.name ?? '', ns.status?.phase ?? '', age(ns.metadata?.creationTimestamp, ctx.now)] };
  },
};

export const secretPrinter: Printer = {
  columns: [NAME_COLUMN, col('Type', 'string', 'Kind of secret data.'), col('Data', 'string', 'Number of data keys.'), AGE_COLUMN],
  row(o, ctx) {
    const s = as<Secret>(o);
    return { cells: [s.metadata?.name ?? '', s.type ?? '', Object.keys(s.data ?? {}).length, age(s.metadata?.creationTimestamp, ctx.now)] };
  },
};

export const configMapPrinter: Printer = {
  columns: [NAME_COLUMN, col('Data', 'string', 'Number of data and binaryData keys.'), AGE_COLUMN],
  row(o, ctx) {
    const cm = as<ConfigMap>(o);
    const n = Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length;
    return { cells: [cm.metadata?.name ?? '', n, age(cm.metadata?.creationTimestamp, ctx.now)] };
  },
};

export const serviceAccountPrinter: Printer = {
  columns: [NAME_COLUMN, col('Secrets', 'string', 'Number of secrets referenced.'), AGE_COLUMN],
  row(o, ctx) {
    const sa = as<ServiceAccount>(o);
    return { cells: [sa.metadata?.name ?? '', (sa.secrets ?? []).length, age(sa.metadata?.creationTimestamp, ctx.now)] };
  },
};

/** `ip:port` for every address and port, three at most, then ` + N more...`. */
function formatEndpoints(ep: Endpoints): string {
  const subsets = ep.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const max = 3;
  const list: string[] = [];
  let count = 0;
  for (const ss of subsets) {
    const addrs = ss.addresses ?? [];
    const ports = ss.ports ?? [];
    // Headless services may have addresses without ports.
    const pairs = ports.length === 0 ? [undefined] : ports;
    for (const port of pairs) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) break;
        list.push(port === undefined ? a.ip : joinHostPort(a.ip, port.port));
      }
    }
  }
  const s = list.join(',');
  return count > max ? `${s} + ${count - max} more...` : s;
}

export const endpointsPrinter: Printer = {
  columns: [NAME_COLUMN, col('Endpoints', 'string', 'Ready addresses and ports.'), AGE_COLUMN],
  row(o, ctx) {
    const ep = as<Endpoints>(o);
    return { cells: [ep.metadata?.name ?? '', formatEndpoints(ep), age(ep.metadata?.creationTimestamp, ctx.now)] };
  },
};

export const replicationControllerPrinter: Printer = replicaCountPrinter((s) => labelsOrNone(s as Record<string, string> | undefined));

// --- storage ---------------------------------------------------------------------------------------------

const ACCESS_MODES: Array<[string, string]> = [
  ['ReadWriteOnce', 'RWO'],
  ['ReadOnlyMany', 'ROX'],
  ['ReadWriteMany', 'RWX'],
  ['ReadWriteOncePod', 'RWOP'],
];

export function accessModes(modes: string[] | undefined): string {
  const set = new Set(modes ?? []);
  return ACCESS_MODES.filter(([m]) => set.has(m)).map(([, short]) => short).join(',');
}

const BETA_STORAGE_CLASS = 'volume.beta.kubernetes.io/storage-class';

function storageClassOf(annotations: Record<string, string> | undefined, specClass: string | undefined): string {
  const ann = annotations?.[BETA_STORAGE_CLASS];
  return ann !== undefined ? ann : (specClass ?? '');
}

export const persistentVolumePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col('Capacity', 'string', 'Storage capacity of the volume.'),
    col('Access Modes', 'string', 'Ways the volume can be mounted.'),
    col('Reclaim Policy', 'string', 'What happens to the volume when its claim is released.'),
    col('Status', 'string', 'Lifecycle phase of the volume.'),
    col('Claim', 'string', 'Claim bound to the volume.'),
    col('StorageClass', 'string', 'Storage class of the volume.'),
    col('VolumeAttributesClass', 'string', 'Volume attributes class of the volume.'),
    col('Reason', 'string', 'Why the volume is in its phase.'),
    AGE_COLUMN,
    col('VolumeMode', 'string', 'Filesystem or Block.', 1),
  ],
  row(o, ctx) {
    const pv = as<PersistentVolume>(o);
    const spec = pv.spec ?? {};
    const claim = spec.claimRef ? `${spec.claimRef.namespace ?? ''}/${spec.claimRef.name ?? ''}` : '';
    const phase = pv.metadata?.deletionTimestamp ? 'Terminating' : (pv.status?.phase ?? '');
    return {
      cells: [
        pv.metadata?.name ?? '',
        scalar(spec.capacity?.storage, '0'),
        accessModes(spec.accessModes),
        spec.persistentVolumeReclaimPolicy ?? '',
        phase,
        claim,
        storageClassOf(pv.metadata?.annotations, spec.storageClassName),
        spec.volumeAttributesClassName ?? '<unset>',
        pv.status?.reason ?? '',
        age(pv.metadata?.creationTimestamp, ctx.now),
        spec.volumeMode ?? '<unset>',
      ],
    };
  },
};

export const persistentVolumeClaimPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col('Status', 'string', 'Lifecycle phase of the claim.'),
    col('Volume', 'string', 'Volume bound to the claim.'),
    col('Capacity', 'string', 'Capacity of the bound volume.'),
    col('Access Modes', 'string', 'Access modes of the bound volume.'),
    col('StorageClass', 'string', 'Storage class requested.'),
    col('VolumeAttributesClass', 'string', 'Volume attributes class requested.'),
    AGE_COLUMN,
    col('VolumeMode', 'string', 'Filesystem or Block.', 1),
  ],
  row(o, ctx) {
    const pvc = as<PersistentVolumeClaim>(o);
    const spec = pvc.spec ?? {};
    const bound = !!spec.volumeName;
    return {
      cells: [
        pvc.metadata?.name ?? '',
        pvc.metadata?.deletionTimestamp ? 'Terminating' : (pvc.status?.phase ?? ''),
        spec.volumeName ?? '',
        bound ? scalar(pvc.status?.capacity?.storage, '0') : '',
        bound ? accessModes(pvc.status?.accessModes) : '',
        storageClassOf(pvc.metadata?.annotations, spec.storageClassName),
        spec.volumeAttributesClassName ?? '<unset>',
        age(pvc.metadata?.creationTimestamp, ctx.now),
        spec.volumeMode ?? '<unset>',
      ],
    };
  },
};

export const resourceQuotaPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    col('Request', 'string', 'Used and hard limits of requested resources.'),
    col('Limit', 'string', 'Used and hard limits of resource limits.'),
    AGE_COLUMN,
  ],
  row(o, ctx) {
    const rq = as<ResourceQuota>(o);
    const hard = rq.status?.hard ?? {};
    const used = rq.status?.used ?? {};
    const requests: string[] = [];
    const limits: string[] = [];
    for (const name of Object.keys(hard).sort()) {
      const entry = `${name}: ${scalar(used[name], '0')}/${scalar(hard[name], '0')}`;
      const dot = name.indexOf('.');
      (dot > 0 && name.slice(0, dot) === 'limits' ? limits : requests).push(entry);
    }
    return { cells: [rq.metadata?.name ?? '', requests.join(', '), limits.join(', '), age(rq.metadata?.creationTimestamp, ctx.now)] };
  },
};
