// Defaults for kinds without pod templates.

import { arr, defaultPtr, defaultStr, ensureObj, isObj, isSet, items, obj, str, type Obj } from '../validation/json.js';
import { defaultPVCSpec } from './pod.js';

export function defaultService(o: Obj): void {
  const spec = ensureObj(o, 'spec');
  defaultStr(spec, 'sessionAffinity', 'None');
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP') {
    const timeout = obj(obj(obj(spec.sessionAffinityConfig)?.clientIP))?.timeoutSeconds;
    if (!isSet(timeout)) spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  }
  defaultStr(spec, 'type', 'ClusterIP');
  for (const port of items(spec.ports)) {
    defaultStr(port, 'protocol', 'TCP');
    if (!isSet(port.targetPort) || port.targetPort === 0 || port.targetPort === '') port.targetPort = port.port;
  }
  const type = str(spec.type);
  const external = type === 'LoadBalancer' || type === 'NodePort' || (type === 'ClusterIP' && arr(spec.externalIPs).length > 0);
  if (external) defaultStr(spec, 'externalTrafficPolicy', 'Cluster');
  if (!isSet(spec.internalTrafficPolicy) && (type === 'NodePort' || type === 'LoadBalancer' || type === 'ClusterIP')) spec.internalTrafficPolicy = 'Cluster';
  if (type === 'LoadBalancer') {
    defaultPtr(spec, 'allocateLoadBalancerNodePorts', true);
    for (const ing of items(obj(obj(o.status)?.loadBalancer)?.ingress)) if (str(ing.ip) && !isSet(ing.ipMode)) ing.ipMode = 'VIP';
  }
}

/** The service strategy's clusterIP/clusterIPs normalization (run on create and update). */
export function normalizeClusterIPs(spec: Obj): void {
  const ip = str(spec.clusterIP);
  const ips = arr(spec.clusterIPs).map(str);
  if (ip && ips.length === 0) spec.clusterIPs = [ip];
  else if (!ip && ips.length > 0) spec.clusterIP = ips[0];
}

export function defaultNamespace(o: Obj): void {
  const meta = ensureObj(o, 'metadata');
  const name = str(meta.name);
  if (name) ensureObj(meta, 'labels')['kubernetes.io/metadata.name'] = name;
  defaultStr(ensureObj(o, 'status'), 'phase', 'Active');
}

export function defaultSecret(o: Obj): void {
  defaultStr(o, 'type', 'Opaque');
}

export function defaultPersistentVolume(o: Obj): void {
  defaultStr(ensureObj(o, 'status'), 'phase', 'Pending');
  const spec = ensureObj(o, 'spec');
  defaultStr(spec, 'persistentVolumeReclaimPolicy', 'Retain');
  defaultPtr(spec, 'volumeMode', 'Filesystem');
  const hp = obj(spec.hostPath);
  if (hp) defaultPtr(hp, 'type', '');
}

export function defaultPersistentVolumeClaim(o: Obj): void {
  defaultStr(ensureObj(o, 'status'), 'phase', 'Pending');
  defaultPVCSpec(ensureObj(o, 'spec'));
}

export function defaultNode(o: Obj): void {
  const status = obj(o.status);
  if (status && isObj(status.capacity) && !isSet(status.allocatable)) status.allocatable = { ...status.capacity };
}

export function defaultEndpoints(o: Obj): void {
  for (const ss of items(o.subsets)) for (const port of items(ss.ports)) defaultStr(port, 'protocol', 'TCP');
}

export function defaultEndpointSlice(o: Obj): void {
  for (const port of items(o.ports)) {
    defaultPtr(port, 'name', '');
    defaultPtr(port, 'protocol', 'TCP');
  }
}

export function defaultLimitRange(o: Obj): void {
  for (const item of items(obj(o.spec)?.limits)) {
    if (str(item.type) !== 'Container') continue;
    const def = ensureObj(item, 'default');
    const defReq = ensureObj(item, 'defaultRequest');
    for (const [k, v] of Object.entries(obj(item.max) ?? {})) if (!(k in def)) def[k] = v;
    for (const [k, v] of Object.entries(def)) if (!(k in defReq)) defReq[k] = v;
    for (const [k, v] of Object.entries(obj(item.min) ?? {})) if (!(k in defReq)) defReq[k] = v;
    // Empty maps are omitted on the wire.
    if (Object.keys(def).length === 0) delete item.default;
    if (Object.keys(defReq).length === 0) delete item.defaultRequest;
  }
}

export function defaultNetworkPolicy(o: Obj): void {
  const spec = ensureObj(o, 'spec');
  for (const dir of ['ingress', 'egress']) for (const rule of items(spec[dir])) for (const port of items(rule.ports)) defaultPtr(port, 'protocol', 'TCP');
  if (arr(spec.policyTypes).length === 0) spec.policyTypes = arr(spec.egress).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
}

export function defaultIngressClass(o: Obj): void {
  const params = obj(obj(o.spec)?.parameters);
  if (params) defaultPtr(params, 'scope', 'Cluster');
}

const RBAC_GROUP = 'rbac.authorization.k8s.io';

export function defaultBinding(o: Obj): void {
  const ref = obj(o.roleRef);
  if (ref) defaultStr(ref, 'apiGroup', RBAC_GROUP);
  for (const s of items(o.subjects)) {
    if (str(s.apiGroup)) continue;
    if (s.kind === 'ServiceAccount') s.apiGroup = '';
    else if (s.kind === 'User' || s.kind === 'Group') s.apiGroup = RBAC_GROUP;
  }
}

export function defaultPriorityClass(o: Obj): void {
  defaultPtr(o, 'preemptionPolicy', 'PreemptLowerPriority');
}

export function defaultStorageClass(o: Obj): void {
  defaultPtr(o, 'reclaimPolicy', 'Delete');
  defaultPtr(o, 'volumeBindingMode', 'Immediate');
}

function scalingRules(rules: unknown, scaleUp: boolean): Obj {
  const r: Obj = obj(rules) ? { ...(rules as Obj) } : {};
  defaultPtr(r, 'stabilizationWindowSeconds', scaleUp ? 0 : 300);
  defaultPtr(r, 'selectPolicy', 'Max');
  if (!isSet(r.policies))
    r.policies = scaleUp
      ? [
          { type: 'Pods', value: 4, periodSeconds: 15 },
          { type: 'Percent', value: 100, periodSeconds: 15 },
        ]
      : [{ type: 'Percent', value: 100, periodSeconds: 15 }];
  return r;
}

export function defaultHPAv2(o: Obj): void {
  const spec = ensureObj(o, 'spec');
  defaultPtr(spec, 'minReplicas', 1);
  if (arr(spec.metrics).length === 0) spec.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
  const b = obj(spec.behavior);
  if (b) {
    b.scaleUp = scalingRules(b.scaleUp, true);
    b.scaleDown = scalingRules(b.scaleDown, false);
  }
}

export function defaultHPAv1(o: Obj): void {
  defaultPtr(ensureObj(o, 'spec'), 'minReplicas', 1);
}
