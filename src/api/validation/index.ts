// Entry points: validateCreate / validateUpdate for every kind kite serves. Both return the StatusCauses of
// a 422 (empty = valid); the API server turns them into a Status with errors.invalid(kind, group, name, causes).
// Objects are expected to be defaulted (applyDefaults) and, on create, to have their name generated.

import type { StatusCause } from '../errors.js';
import { findKind } from '../resources.js';
import { dedupe } from './field.js';
import { obj, type Obj } from './json.js';
import { nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
import * as apps from './apps.js';
import * as batch from './batch.js';
import * as core from './core.js';
import { horizontalPodAutoscaler } from './autoscaling.js';
import * as networking from './networking.js';
import * as misc from './misc.js';
import type { KindRules } from './types.js';

const RULES: Record<string, KindRules> = {
  '/Pod': core.pod,
  '/PodTemplate': core.podTemplate,
  '/ReplicationController': core.replicationController,
  '/Service': core.service,
  '/Endpoints': core.endpoints,
  '/ConfigMap': core.configMap,
  '/Secret': core.secret,
  '/ServiceAccount': core.serviceAccount,
  '/Namespace': core.namespace,
  '/Node': core.node,
  '/PersistentVolume': core.persistentVolume,
  '/PersistentVolumeClaim': core.persistentVolumeClaim,
  '/LimitRange': core.limitRange,
  '/ResourceQuota': core.resourceQuota,
  '/Event': core.event,
  'apps/Deployment': apps.deployment,
  'apps/ReplicaSet': apps.replicaSet,
  'apps/StatefulSet': apps.statefulSet,
  'apps/DaemonSet': apps.daemonSet,
  'apps/ControllerRevision': apps.controllerRevision,
  'batch/Job': batch.job,
  'batch/CronJob': batch.cronJob,
  'autoscaling/HorizontalPodAutoscaler': horizontalPodAutoscaler,
  'networking.k8s.io/Ingress': networking.ingress,
  'networking.k8s.io/IngressClass': networking.ingressClass,
  'networking.k8s.io/NetworkPolicy': networking.networkPolicy,
  'policy/PodDisruptionBudget': misc.podDisruptionBudget,
  'rbac.authorization.k8s.io/Role': misc.role,
  'rbac.authorization.k8s.io/ClusterRole': misc.clusterRole,
  'rbac.authorization.k8s.io/RoleBinding': misc.roleBinding,
  'rbac.authorization.k8s.io/ClusterRoleBinding': misc.clusterRoleBinding,
  'scheduling.k8s.io/PriorityClass': misc.priorityClass,
  'storage.k8s.io/StorageClass': misc.storageClass,
  'coordination.k8s.io/Lease': misc.lease,
  'discovery.k8s.io/EndpointSlice': misc.endpointSlice,
  'events.k8s.io/Event': misc.eventsV1Event,
};

const FALLBACK: KindRules = { nameFn: nameIsDNSSubdomain };

function rulesFor(group: string, kind: string): KindRules {
  return RULES[`${group}/${kind}`] ?? FALLBACK;
}

function isNamespaced(group: string, version: string, kind: string): boolean {
  return findKind(group, version, kind)?.namespaced ?? true;
}

/** The name rule for a kind (DNS subdomain, DNS-1123 label, DNS-1035 label or path segment). */
export function nameRuleFor(group: string, kind: string): (name: string, prefix: boolean) => string[] {
  return rulesFor(group, kind).nameFn;
}

/** Validation of a new object. */
export function validateCreate(group: string, version: string, kind: string, object: unknown): StatusCause[] {
  const o: Obj = obj(object) ?? {};
  const rules = rulesFor(group, kind);
  const out: StatusCause[] = [];
  if (!rules.skipMetaOnCreate) out.push(...validateObjectMeta(o.metadata, { namespaced: isNamespaced(group, version, kind), nameFn: rules.nameFn }));
  if (rules.spec) out.push(...rules.spec(o));
  if (rules.createOnly) out.push(...rules.createOnly(o));
  return dedupe(out);
}

/** Validation of a replacement for a stored object (PUT, PATCH, apply). */
export function validateUpdate(group: string, version: string, kind: string, newObject: unknown, oldObject: unknown): StatusCause[] {
  const n: Obj = obj(newObject) ?? {};
  const o: Obj = obj(oldObject) ?? {};
  const rules = rulesFor(group, kind);
  const out: StatusCause[] = [...validateObjectMetaUpdate(n.metadata, o.metadata)];
  if (rules.specOnUpdate) out.push(...rules.specOnUpdate(n, o));
  else if (rules.spec) out.push(...rules.spec(n));
  if (rules.update) out.push(...rules.update(n, o));
  return dedupe(out);
}

/** ObjectMeta checks alone, for kinds the API server handles generically. */
export function validateObjectMetaFor(group: string, version: string, kind: string, metadata: unknown): StatusCause[] {
  return validateObjectMeta(metadata, { namespaced: isNamespaced(group, version, kind), nameFn: rulesFor(group, kind).nameFn });
}

export { validateObjectMeta, validateObjectMetaUpdate } from './meta.js';
export { FieldPath } from './field.js';
export { cronScheduleError, parseCronSchedule, nextActivation, type CronSchedule } from './cron.js';
