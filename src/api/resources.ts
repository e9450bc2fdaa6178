// Every resource kite serves: its REST name, kind, scope and discovery facts. The schema registry describes
// the fields of each kind; this table says where the kind lives in the URL space.

export interface SubresourceInfo {
  name: string;
  /** The kind the subresource speaks, when it is not the parent's (scale → autoscaling/v1 Scale). */
  group?: string;
  version?: string;
  kind: string;
  verbs: string[];
}

export interface ResourceInfo {
  group: string;
  version: string;
  kind: string;
  /** Plural, lower-case REST name. */
  resource: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  subresources?: SubresourceInfo[];
  verbs: string[];
  /** The group/version objects are stored in when several versions are served (HPA v1 and v2). */
  storageVersion?: string;
  /** Not stored: a create is a question the server answers (access reviews, token reviews). */
  virtual?: boolean;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function sr(name: string, kind: string, verbs = ['get', 'patch', 'update'], group?: string, version?: string): SubresourceInfo {
  return { name, kind, verbs, group, version };
}

function r(
  group: string,
  version: string,
  kind: string,
  resource: string,
  namespaced: boolean,
  extra: Partial<ResourceInfo> = {},
): ResourceInfo {
  return { group, version, kind, resource, singular: kind.toLowerCase(), namespaced, verbs: ALL_VERBS, ...extra };
}

const status = (kind: string) => sr('status', kind);
const scale = sr('scale', 'Scale', ['get', 'patch', 'update'], 'autoscaling', 'v1');

export const RESOURCES: readonly ResourceInfo[] = [
  // core/v1
  r('', 'v1', 'Namespace', 'namespaces', false, { shortNames: ['ns'], subresources: [status('Namespace'), sr('finalize', 'Namespace', ['update'])], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] }),
  r('', 'v1', 'Pod', 'pods', true, {
    shortNames: ['po'],
    categories: ['all'],
    subresources: [
      sr('binding', 'Binding', ['create']),
      sr('eviction', 'Eviction', ['create'], 'policy', 'v1'),
      status('Pod'),
      sr('log', 'Pod', ['get']),
      sr('exec', 'PodExecOptions', ['create', 'get']),
      sr('attach', 'PodAttachOptions', ['create', 'get']),
      sr('portforward', 'PodPortForwardOptions', ['create', 'get']),
      sr('proxy', 'PodProxyOptions', ['create', 'delete', 'get', 'patch', 'update']),
    ],
  }),
  r('', 'v1', 'Service', 'services', true, { shortNames: ['svc'], categories: ['all'], subresources: [status('Service'), sr('proxy', 'ServiceProxyOptions', ['create', 'delete', 'get', 'patch', 'update'])], verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] }),
  r('', 'v1', 'Endpoints', 'endpoints', true, { shortNames: ['ep'], singular: 'endpoints' }),
  r('', 'v1', 'ConfigMap', 'configmaps', true, { shortNames: ['cm'] }),
  r('', 'v1', 'Secret', 'secrets', true),
  r('', 'v1', 'Event', 'events', true, { shortNames: ['ev'] }),
  r('', 'v1', 'Node', 'nodes', false, { shortNames: ['no'], subresources: [status('Node'), sr('proxy', 'NodeProxyOptions', ['create', 'delete', 'get', 'patch', 'update'])] }),
  r('', 'v1', 'ServiceAccount', 'serviceaccounts', true, { shortNames: ['sa'], subresources: [sr('token', 'TokenRequest', ['create'], 'authentication.k8s.io', 'v1')] }),
  r('', 'v1', 'PersistentVolume', 'persistentvolumes', false, { shortNames: ['pv'], subresources: [status('PersistentVolume')] }),
  r('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true, { shortNames: ['pvc'], subresources: [status('PersistentVolumeClaim')] }),
  r('', 'v1', 'LimitRange', 'limitranges', true, { shortNames: ['limits'] }),
  r('', 'v1', 'ResourceQuota', 'resourcequotas', true, { shortNames: ['quota'], subresources: [status('ResourceQuota')] }),
  r('', 'v1', 'ReplicationController', 'replicationcontrollers', true, { shortNames: ['rc'], categories: ['all'], subresources: [status('ReplicationController'), scale] }),
  r('', 'v1', 'PodTemplate', 'podtemplates', true),
  // apps/v1
  r('apps', 'v1', 'Deployment', 'deployments', true, { shortNames: ['deploy'], categories: ['all'], subresources: [scale, status('Deployment')] }),
  r('apps', 'v1', 'ReplicaSet', 'replicasets', true, { shortNames: ['rs'], categories: ['all'], subresources: [scale, status('ReplicaSet')] }),
  r('apps', 'v1', 'StatefulSet', 'statefulsets', true, { shortNames: ['sts'], categories: ['all'], subresources: [scale, status('StatefulSet')] }),
  r('apps', 'v1', 'DaemonSet', 'daemonsets', true, { shortNames: ['ds'], categories: ['all'], subresources: [status('DaemonSet')] }),
  r('apps', 'v1', 'ControllerRevision', 'controllerrevisions', true),
  // batch/v1
  r('batch', 'v1', 'Job', 'jobs', true, { categories: ['all'], subresources: [status('Job')] }),
  r('batch', 'v1', 'CronJob', 'cronjobs', true, { shortNames: ['cj'], categories: ['all'], subresources: [status('CronJob')] }),
  // autoscaling: v2 is preferred and the storage version; v1 is converted on the way in and out.
  r('autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true, { shortNames: ['hpa'], categories: ['all'], subresources: [status('HorizontalPodAutoscaler')] }),
  r('autoscaling', 'v1', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', true, { shortNames: ['hpa'], categories: ['all'], subresources: [status('HorizontalPodAutoscaler')], storageVersion: 'v2' }),
  // networking.k8s.io/v1
  r('networking.k8s.io', 'v1', 'Ingress', 'ingresses', true, { shortNames: ['ing'], subresources: [status('Ingress')] }),
  r('networking.k8s.io', 'v1', 'IngressClass', 'ingressclasses', false),
  r('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies', true, { shortNames: ['netpol'] }),
  // coordination, discovery, events, policy
  r('coordination.k8s.io', 'v1', 'Lease', 'leases', true),
  r('discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices', true),
  r('events.k8s.io', 'v1', 'Event', 'events', true, { shortNames: ['ev'] }),
  r('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true, { shortNames: ['pdb'], subresources: [status('PodDisruptionBudget')] }),
  // rbac.authorization.k8s.io/v1
  r('rbac.authorization.k8s.io', 'v1', 'Role', 'roles', true),
  r('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings', true),
  r('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false),
  r('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', false),
  // authorization and authentication: questions, not stored objects
  r('authorization.k8s.io', 'v1', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews', false, { verbs: ['create'], virtual: true }),
  r('authorization.k8s.io', 'v1', 'SelfSubjectRulesReview', 'selfsubjectrulesreviews', false, { verbs: ['create'], virtual: true }),
  r('authorization.k8s.io', 'v1', 'SubjectAccessReview', 'subjectaccessreviews', false, { verbs: ['create'], virtual: true }),
  r('authorization.k8s.io', 'v1', 'LocalSubjectAccessReview', 'localsubjectaccessreviews', true, { verbs: ['create'], virtual: true }),
  r('authentication.k8s.io', 'v1', 'SelfSubjectReview', 'selfsubjectreviews', false, { verbs: ['create'], virtual: true }),
  // scheduling, storage
  r('scheduling.k8s.io', 'v1', 'PriorityClass', 'priorityclasses', false, { shortNames: ['pc'] }),
  r('storage.k8s.io', 'v1', 'StorageClass', 'storageclasses', false, { shortNames: ['sc'] }),
];

/** The group/version that owns a resource's storage key. */
export function storageGroupVersion(info: ResourceInfo): string {
  return `${info.group}/${info.storageVersion ?? info.version}`;
}

export function groupVersion(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

export function apiVersionOf(info: ResourceInfo): string {
  return groupVersion(info.group, info.version);
}

export function findResource(group: string, version: string, resource: string): ResourceInfo | undefined {
  return RESOURCES.find((x) => x.group === group && x.version === version && x.resource === resource);
}

export function findKind(group: string, version: string, kind: string): ResourceInfo | undefined {
  return RESOURCES.find((x) => x.group === group && x.version === version && x.kind === kind);
}

/** Group → versions in preference order (the first listed is preferred). */
export function groupVersions(): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const x of RESOURCES) {
    const vs = m.get(x.group) ?? [];
    if (!vs.includes(x.version)) vs.push(x.version);
    m.set(x.group, vs);
  }
  return m;
}
