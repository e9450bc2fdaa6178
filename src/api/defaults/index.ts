// Defaulting and the create/update preparation kube-apiserver's strategies and mutating admission plugins
// perform. The API server's write path is:
//
//   create: decode → findInvalidQuantity (400) → applyDefaults → name generation → uid → prepareForCreate
//           (also setJobSelector for Jobs) → validateCreate → store
//   update: decode → findInvalidQuantity (400) → applyDefaults → prepareForUpdate → validateUpdate → store
//
// All functions mutate the object in place.

import type { KubeObject } from '../object.js';
import { findKind } from '../resources.js';
import { arr, isSet, semanticEqual, ensureObj, items, num, obj, str, type Obj } from '../validation/json.js';
import * as cluster from './cluster.js';
import { admitPodCreate, defaultPodOnly, defaultPodSpec, initialPodStatus, type CreateContext } from './pod.js';
import { canonicalizeQuantities } from './quantities.js';
import * as wl from './workloads.js';

type Defaulter = (o: Obj) => void;

const DEFAULTERS: Record<string, Defaulter> = {
  '/v1/Pod': (o) => {
    defaultPodSpec(ensureObj(o, 'spec'));
    defaultPodOnly(o);
  },
  '/v1/PodTemplate': wl.defaultPodTemplateObject,
  '/v1/ReplicationController': wl.defaultReplicationController,
  '/v1/Service': cluster.defaultService,
  '/v1/Namespace': cluster.defaultNamespace,
  '/v1/Secret': cluster.defaultSecret,
  '/v1/PersistentVolume': cluster.defaultPersistentVolume,
  '/v1/PersistentVolumeClaim': cluster.defaultPersistentVolumeClaim,
  '/v1/Node': cluster.defaultNode,
  '/v1/Endpoints': cluster.defaultEndpoints,
  '/v1/LimitRange': cluster.defaultLimitRange,
  'apps/v1/Deployment': wl.defaultDeployment,
  'apps/v1/ReplicaSet': wl.defaultReplicaSet,
  'apps/v1/StatefulSet': wl.defaultStatefulSet,
  'apps/v1/DaemonSet': wl.defaultDaemonSet,
  'batch/v1/Job': wl.defaultJob,
  'batch/v1/CronJob': wl.defaultCronJob,
  'autoscaling/v2/HorizontalPodAutoscaler': cluster.defaultHPAv2,
  'autoscaling/v1/HorizontalPodAutoscaler': cluster.defaultHPAv1,
  'networking.k8s.io/v1/NetworkPolicy': cluster.defaultNetworkPolicy,
  'networking.k8s.io/v1/IngressClass': cluster.defaultIngressClass,
  'discovery.k8s.io/v1/EndpointSlice': cluster.defaultEndpointSlice,
  'rbac.authorization.k8s.io/v1/RoleBinding': cluster.defaultBinding,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': cluster.defaultBinding,
  'scheduling.k8s.io/v1/PriorityClass': cluster.defaultPriorityClass,
  'storage.k8s.io/v1/StorageClass': cluster.defaultStorageClass,
};

function asObj(o: KubeObject): Obj {
  return o as unknown as Obj;
}

/** Applies the defaults kube-apiserver fills in when it decodes an object of this group/version/kind
 *  (run on every create and update, and harmless to repeat). Also canonicalizes quantities. */
export function applyDefaults(group: string, version: string, kind: string, object: KubeObject): void {
  const o = asObj(object);
  DEFAULTERS[`${group}/${version}/${kind}`]?.(o);
  canonicalizeQuantities(group, kind, o);
}

// Kinds whose strategy sets metadata.generation to 1 on create and bumps it when the spec changes.
const GENERATION_KINDS = new Set([
  'apps/Deployment',
  'apps/ReplicaSet',
  'apps/StatefulSet',
  'apps/DaemonSet',
  '/ReplicationController',
  'batch/Job',
  'batch/CronJob',
  'policy/PodDisruptionBudget',
  'networking.k8s.io/NetworkPolicy',
  'networking.k8s.io/Ingress',
  'networking.k8s.io/IngressClass',
  'discovery.k8s.io/EndpointSlice',
]);

// What each strategy resets status to on create (Go zero values of non-omitempty fields included).
const INITIAL_STATUS: Record<string, () => Obj> = {
  'apps/Deployment': () => ({}),
  'apps/ReplicaSet': () => ({ replicas: 0 }),
  'apps/StatefulSet': () => ({ replicas: 0, availableReplicas: 0 }),
  'apps/DaemonSet': () => ({ currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 }),
  '/ReplicationController': () => ({ replicas: 0 }),
  'batch/Job': () => ({}),
  'batch/CronJob': () => ({}),
  'autoscaling/HorizontalPodAutoscaler': () => ({ currentReplicas: 0, desiredReplicas: 0 }),
  'policy/PodDisruptionBudget': () => ({ disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 }),
  '/Service': () => ({ loadBalancer: {} }),
  'networking.k8s.io/Ingress': () => ({ loadBalancer: {} }),
  // A claim waits for a volume; a volume is Pending until the PV controller finds it Available (1.32 also
  // stamps the phase's transition time, PersistentVolumeLastPhaseTransitionTime being GA).
  '/PersistentVolumeClaim': () => ({ phase: 'Pending' }),
  '/PersistentVolume': () => ({ phase: 'Pending', lastPhaseTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') }),
  '/ResourceQuota': () => ({}),
};

const DS_TEMPLATE_GENERATION = 'deprecated.daemonset.template.generation';

/** The strategy and admission mutations of a create, applied after applyDefaults and after the server
 *  has set name, namespace and uid: status reset, generation 1, the Namespace "kubernetes" finalizer,
 *  Service IP-family fields, Pod service account / tolerations / priority / QoS, Job selector, PVC default
 *  storage class. Re-applies defaults at the end. Throws a 403 StatusError when pod admission rejects. */
export function prepareForCreate(group: string, version: string, kind: string, object: KubeObject, ctx: CreateContext = {}): void {
  const o = asObj(object);
  const key = `${group}/${kind}`;
  const meta = ensureObj(o, 'metadata');
  const initial = INITIAL_STATUS[key];
  if (initial) o.status = initial();
  if (GENERATION_KINDS.has(key)) meta.generation = 1;
  switch (key) {
    case '/Pod':
      admitPodCreate(o, ctx);
      o.status = initialPodStatus(o);
      break;
    case '/Namespace': {
      o.status = { phase: 'Active' };
      const spec = ensureObj(o, 'spec');
      const fins = arr(spec.finalizers).map(str);
      if (!fins.includes('kubernetes')) spec.finalizers = [...fins, 'kubernetes'];
      break;
    }
    case '/Service': {
      const spec = ensureObj(o, 'spec');
      cluster.normalizeClusterIPs(spec);
      if (str(spec.type) !== 'ExternalName') {
        if (!isSet(spec.ipFamilyPolicy)) spec.ipFamilyPolicy = 'SingleStack';
        if (!Array.isArray(spec.ipFamilies) || spec.ipFamilies.length === 0) spec.ipFamilies = [str(spec.clusterIP).includes(':') ? 'IPv6' : 'IPv4'];
      }
      break;
    }
    case '/Node': {
      const spec = obj(o.spec);
      if (spec) delete spec.configSource;
      const status = obj(o.status);
      if (status) delete status.config;
      break;
    }
    case '/PersistentVolumeClaim': {
      const spec = ensureObj(o, 'spec');
      if (!isSet(spec.storageClassName) && ctx.defaultStorageClassName) spec.storageClassName = ctx.defaultStorageClassName;
      break;
    }
    case 'apps/DaemonSet':
      ensureObj(meta, 'annotations')[DS_TEMPLATE_GENERATION] = '1';
      break;
    case 'batch/Job':
      if (str(meta.uid)) wl.setJobSelector(o);
      break;
    default:
      break;
  }
  applyDefaults(group, version, kind, object);
}

function hasStatusSubresource(group: string, version: string, kind: string): boolean {
  return findKind(group, version, kind)?.subresources?.some((s) => s.name === 'status') ?? false;
}

function needsNodePorts(spec: Obj): boolean {
  const t = str(spec.type);
  return t === 'NodePort' || (t === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
}

// The service strategy keeps allocated values the client left out of a full replacement (kubectl replace,
// apply of a manifest without clusterIP or nodePort).
function patchServiceAllocations(ns: Obj, os: Obj): void {
  cluster.normalizeClusterIPs(ns);
  if (str(os.type) !== 'ExternalName' && str(ns.type) !== 'ExternalName') {
    if (!str(ns.clusterIP)) ns.clusterIP = os.clusterIP;
    if (!Array.isArray(ns.clusterIPs) || ns.clusterIPs.length === 0) {
      if (Array.isArray(os.clusterIPs)) ns.clusterIPs = [...os.clusterIPs];
    }
    if (!isSet(ns.ipFamilyPolicy) && isSet(os.ipFamilyPolicy)) ns.ipFamilyPolicy = os.ipFamilyPolicy;
    if ((!Array.isArray(ns.ipFamilies) || ns.ipFamilies.length === 0) && Array.isArray(os.ipFamilies)) ns.ipFamilies = [...os.ipFamilies];
    if (!isSet(ns.clusterIP)) delete ns.clusterIP;
    if (!isSet(ns.clusterIPs)) delete ns.clusterIPs;
  }
  if (needsNodePorts(os) && needsNodePorts(ns)) {
    const portsOf = (s: Obj) => new Set(items(s.ports).map((p) => num(p.nodePort) ?? 0).filter((n) => n !== 0));
    const oldUsed = portsOf(os);
    const newUsed = portsOf(ns);
    const byName = new Map(items(os.ports).map((p) => [str(p.name), num(p.nodePort) ?? 0]));
    for (const p of items(ns.ports)) {
      if ((num(p.nodePort) ?? 0) !== 0) continue;
      const old = byName.get(str(p.name)) ?? 0;
      if (old && !(oldUsed.has(old) && newUsed.has(old))) p.nodePort = old;
    }
  }
  const needsHC = (s: Obj) => str(s.type) === 'LoadBalancer' && str(s.externalTrafficPolicy) === 'Local';
  if (needsHC(os) && needsHC(ns) && !(num(ns.healthCheckNodePort) ?? 0)) ns.healthCheckNodePort = os.healthCheckNodePort;
}

function specOf(group: string, kind: string, o: Obj): unknown {
  if (group === '' && kind === 'PodTemplate') return o.template;
  return o.spec;
}

/** The strategy mutations of an update (main resource, not /status): status and other server-owned
 *  fields are carried over from the stored object, the Namespace's spec.finalizers kept, Service
 *  allocations patched in, generation bumped when the spec changed. Applied after applyDefaults. */
export function prepareForUpdate(group: string, version: string, kind: string, newObject: KubeObject, oldObject: KubeObject): void {
  const n = asObj(newObject);
  const o = asObj(oldObject);
  const key = `${group}/${kind}`;
  if (hasStatusSubresource(group, version, kind)) {
    if (isSet(o.status)) n.status = structuredClone(o.status);
    else delete n.status;
  }
  const nm = ensureObj(n, 'metadata');
  const om = obj(o.metadata) ?? {};
  switch (key) {
    case '/Namespace': {
      const spec = ensureObj(n, 'spec');
      const old = obj(o.spec)?.finalizers;
      if (old === undefined) delete spec.finalizers;
      else spec.finalizers = structuredClone(old);
      break;
    }
    case '/Service':
      patchServiceAllocations(ensureObj(n, 'spec'), obj(o.spec) ?? {});
      break;
    case 'apps/DaemonSet': {
      const annotations = ensureObj(nm, 'annotations');
      const oldGen = Number(str(obj(om.annotations)?.[DS_TEMPLATE_GENERATION]) || '1') || 1;
      const changed = !semanticEqual(obj(n.spec)?.template, obj(o.spec)?.template);
      annotations[DS_TEMPLATE_GENERATION] = String(changed ? oldGen + 1 : oldGen);
      break;
    }
    default:
      break;
  }
  if (GENERATION_KINDS.has(key)) {
    const oldGen = num(om.generation) ?? 1;
    nm.generation = semanticEqual(specOf(group, kind, n), specOf(group, kind, o)) ? oldGen : oldGen + 1;
  }
  applyDefaults(group, version, kind, newObject);
}

export { setJobSelector, JOB_NAME_LABEL, CONTROLLER_UID_LABEL, LEGACY_JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL } from './workloads.js';
export { podQOSClass, defaultPullPolicy, admitPodCreate, type CreateContext, type PriorityClassInfo } from './pod.js';
export { findInvalidQuantity, canonicalizeQuantities, forEachQuantity, type QuantityProblem } from './quantities.js';
export { podSpecsOf, podTemplatesOf } from './podspecs.js';
