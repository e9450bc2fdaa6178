// The smaller groups: policy, rbac.authorization.k8s.io, scheduling.k8s.io, storage.k8s.io,
// coordination.k8s.io, discovery.k8s.io, events.k8s.io.

import type { StatusCause } from '../errors.js';
import { FieldPath, forbidden, goStruct, GoLiteral, goQuote, invalid, notSupported, path, required, tooLong, tooMany } from './field.js';
import { arr, isSet, items, num, obj, semanticEqual, sortedKeys, str, sub, type Obj } from './json.js';
import {
  IMMUTABLE,
  nameIsDNSSubdomain,
  nameIsPathSegment,
  validateDNS1123Label,
  validateLabelSelector,
  validateNonnegative,
  validateQualifiedName,
} from './meta.js';
import { ipFamilyOf, isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidPortNum } from './names.js';
import { isNotMoreThan100Percent, validatePositiveIntOrPercent } from './apps.js';
import type { KindRules } from './types.js';

// ---------------- policy/v1 PodDisruptionBudget ----------------

export const podDisruptionBudget: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const spec = sub(o, 'spec');
    const sp = path('spec');
    const out: StatusCause[] = [];
    if (isSet(spec.minAvailable) && isSet(spec.maxUnavailable)) out.push(invalid(sp, goStruct('policy.PodDisruptionBudgetSpec', spec), 'minAvailable and maxUnavailable cannot be both set'));
    for (const f of ['minAvailable', 'maxUnavailable'])
      if (isSet(spec[f])) out.push(...validatePositiveIntOrPercent(spec[f], sp.child(f)), ...isNotMoreThan100Percent(spec[f], sp.child(f)));
    out.push(...validateLabelSelector(spec.selector, sp.child('selector')));
    if (isSet(spec.unhealthyPodEvictionPolicy) && !['AlwaysAllow', 'IfHealthyBudget'].includes(str(spec.unhealthyPodEvictionPolicy)))
      out.push(notSupported(sp.child('unhealthyPodEvictionPolicy'), str(spec.unhealthyPodEvictionPolicy), ['AlwaysAllow', 'IfHealthyBudget']));
    return out;
  },
};

// ---------------- rbac.authorization.k8s.io/v1 ----------------

const RBAC_GROUP = 'rbac.authorization.k8s.io';

function policyRules(rules: unknown, p: FieldPath, namespaced: boolean): StatusCause[] {
  const out: StatusCause[] = [];
  items(rules).forEach((r, i) => {
    const rp = p.index(i);
    if (arr(r.verbs).length === 0) out.push(required(rp.child('verbs'), 'verbs must contain at least one value'));
    const nonResource = arr(r.nonResourceURLs);
    if (nonResource.length > 0) {
      if (namespaced) out.push(invalid(rp.child('nonResourceURLs'), new GoLiteral(`[]string{${nonResource.map((u) => goQuote(str(u))).join(', ')}}`), 'namespaced rules cannot apply to non-resource URLs'));
      if (arr(r.apiGroups).length > 0 || arr(r.resources).length > 0 || arr(r.resourceNames).length > 0)
        out.push(invalid(rp.child('nonResourceURLs'), new GoLiteral(`[]string{${nonResource.map((u) => goQuote(str(u))).join(', ')}}`), 'rules cannot apply to both regular resources and non-resource URLs'));
      return;
    }
    if (arr(r.apiGroups).length === 0) out.push(required(rp.child('apiGroups'), 'resource rules must supply at least one api group'));
    if (arr(r.resources).length === 0) out.push(required(rp.child('resources'), 'resource rules must supply at least one resource'));
  });
  return out;
}

function roleRef(ref: Obj, p: FieldPath, allowedKinds: string[]): StatusCause[] {
  const out: StatusCause[] = [];
  if (str(ref.apiGroup) !== RBAC_GROUP) out.push(notSupported(p.child('apiGroup'), str(ref.apiGroup), [RBAC_GROUP]));
  if (!allowedKinds.includes(str(ref.kind))) out.push(notSupported(p.child('kind'), str(ref.kind), allowedKinds));
  const name = str(ref.name);
  if (!name) out.push(required(p.child('name')));
  else out.push(...nameIsPathSegment(name, false).map((m) => invalid(p.child('name'), name, m)));
  return out;
}

function subjects(list: unknown, p: FieldPath, namespaced: boolean): StatusCause[] {
  const out: StatusCause[] = [];
  items(list).forEach((s, i) => {
    const sp = p.index(i);
    const name = str(s.name);
    if (!name) out.push(required(sp.child('name')));
    const group = str(s.apiGroup);
    switch (str(s.kind)) {
      case 'ServiceAccount':
        if (name) out.push(...nameIsDNSSubdomain(name, false).map((m) => invalid(sp.child('name'), name, m)));
        if (group) out.push(notSupported(sp.child('apiGroup'), group, ['']));
        if (!namespaced && !str(s.namespace)) out.push(required(sp.child('namespace')));
        break;
      case 'User':
      case 'Group':
        if (group !== RBAC_GROUP) out.push(notSupported(sp.child('apiGroup'), group, [RBAC_GROUP]));
        break;
      default:
        out.push(notSupported(sp.child('kind'), str(s.kind), ['ServiceAccount', 'User', 'Group']));
    }
  });
  return out;
}

function goRoleRef(ref: Obj): GoLiteral {
  return new GoLiteral(`rbac.RoleRef{APIGroup:${goQuote(str(ref.apiGroup))}, Kind:${goQuote(str(ref.kind))}, Name:${goQuote(str(ref.name))}}`);
}

function roleRefImmutable(n: Obj, o: Obj): StatusCause[] {
  return semanticEqual(n.roleRef, o.roleRef) ? [] : [invalid(path('roleRef'), goRoleRef(sub(n, 'roleRef')), 'cannot change roleRef')];
}

export const role: KindRules = { nameFn: nameIsPathSegment, spec: (o) => policyRules(o.rules, path('rules'), true) };

export const clusterRole: KindRules = {
  nameFn: nameIsPathSegment,
  spec(o) {
    const out = policyRules(o.rules, path('rules'), false);
    const agg = obj(o.aggregationRule);
    if (agg) {
      const sels = items(agg.clusterRoleSelectors);
      if (sels.length === 0) out.push(required(path('aggregationRule', 'clusterRoleSelectors'), 'at least one clusterRoleSelector required if aggregationRule is non-nil'));
      sels.forEach((s, i) => out.push(...validateLabelSelector(s, path('aggregationRule', 'clusterRoleSelectors').index(i))));
    }
    return out;
  },
};

export const roleBinding: KindRules = {
  nameFn: nameIsPathSegment,
  spec: (o) => [...roleRef(sub(o, 'roleRef'), path('roleRef'), ['Role', 'ClusterRole']), ...subjects(o.subjects, path('subjects'), true)],
  update: roleRefImmutable,
};

export const clusterRoleBinding: KindRules = {
  nameFn: nameIsPathSegment,
  spec: (o) => [...roleRef(sub(o, 'roleRef'), path('roleRef'), ['ClusterRole']), ...subjects(o.subjects, path('subjects'), false)],
  update: roleRefImmutable,
};

// ---------------- scheduling.k8s.io/v1 PriorityClass ----------------

const SYSTEM_PRIORITY_CLASSES: Record<string, number> = { 'system-node-critical': 2000001000, 'system-cluster-critical': 2000000000 };

export const priorityClass: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const name = str(sub(o, 'metadata').name);
    const value = num(o.value) ?? 0;
    const out: StatusCause[] = [];
    if (name.startsWith('system-')) {
      const known = SYSTEM_PRIORITY_CLASSES[name];
      const err = known === undefined ? `${name} is not a known system priority class` : known !== value ? `value of ${name} PriorityClass must be ${known}` : o.globalDefault === true ? `globalDefault of ${name} PriorityClass must be false` : '';
      if (err) out.push(forbidden(path('metadata', 'name'), `priority class names with 'system-' prefix are reserved for system use only. error: ${err}`));
    } else if (value > 1000000000) {
      out.push(forbidden(path('value'), 'maximum allowed value of a user defined priority is 1000000000'));
    }
    if (isSet(o.preemptionPolicy) && !['PreemptLowerPriority', 'Never'].includes(str(o.preemptionPolicy)))
      out.push(notSupported(path('preemptionPolicy'), str(o.preemptionPolicy), ['PreemptLowerPriority', 'Never']));
    return out;
  },
  update(n, o) {
    const out: StatusCause[] = [];
    if ((num(n.value) ?? 0) !== (num(o.value) ?? 0)) out.push(forbidden(path('value'), 'may not be changed in an update.'));
    if (str(n.preemptionPolicy) !== str(o.preemptionPolicy)) out.push(invalid(path('preemptionPolicy'), isSet(n.preemptionPolicy) ? str(n.preemptionPolicy) : null, IMMUTABLE));
    return out;
  },
};

// ---------------- storage.k8s.io/v1 StorageClass ----------------

export const storageClass: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const out: StatusCause[] = [];
    const prov = str(o.provisioner);
    if (!prov) out.push(required(path('provisioner')));
    else {
      if (prov.length > 63) out.push(tooLong(path('provisioner'), 63));
      out.push(...isQualifiedName(prov.toLowerCase()).map((m) => invalid(path('provisioner'), prov, m)));
    }
    const params = obj(o.parameters) ?? {};
    let size = 0;
    for (const k of sortedKeys(params)) {
      if (!k) out.push(invalid(path('parameters'), k, 'field can not be empty.'));
      size += k.length + str(params[k]).length;
    }
    if (size > 256 * 1024) out.push(tooLong(path('parameters'), 256 * 1024));
    if (isSet(o.reclaimPolicy) && !['Delete', 'Retain'].includes(str(o.reclaimPolicy))) out.push(notSupported(path('reclaimPolicy'), str(o.reclaimPolicy), ['Delete', 'Retain']));
    if (!isSet(o.volumeBindingMode)) out.push(required(path('volumeBindingMode')));
    else if (!['Immediate', 'WaitForFirstConsumer'].includes(str(o.volumeBindingMode)))
      out.push(notSupported(path('volumeBindingMode'), str(o.volumeBindingMode), ['Immediate', 'WaitForFirstConsumer']));
    return out;
  },
  update(n, o) {
    const out: StatusCause[] = [];
    if (!semanticEqual(n.parameters, o.parameters)) out.push(forbidden(path('parameters'), 'updates to parameters are forbidden.'));
    if (str(n.provisioner) !== str(o.provisioner)) out.push(forbidden(path('provisioner'), 'updates to provisioner are forbidden.'));
    if (str(n.reclaimPolicy) !== str(o.reclaimPolicy)) out.push(forbidden(path('reclaimPolicy'), 'updates to reclaimPolicy are forbidden.'));
    if (str(n.volumeBindingMode) !== str(o.volumeBindingMode)) out.push(invalid(path('volumeBindingMode'), isSet(n.volumeBindingMode) ? str(n.volumeBindingMode) : null, IMMUTABLE));
    return out;
  },
};

// ---------------- coordination.k8s.io/v1 Lease ----------------

export const lease: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const spec = sub(o, 'spec');
    const out: StatusCause[] = [];
    const d = num(spec.leaseDurationSeconds);
    if (d !== undefined && d <= 0) out.push(invalid(path('spec', 'leaseDurationSeconds'), d, 'must be greater than 0'));
    out.push(...validateNonnegative(spec.leaseTransitions, path('spec', 'leaseTransitions')));
    return out;
  },
};

// ---------------- discovery.k8s.io/v1 EndpointSlice ----------------

const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];

export const endpointSlice: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const out: StatusCause[] = [];
    const at = str(o.addressType);
    if (!at) out.push(required(path('addressType')));
    else if (!ADDRESS_TYPES.includes(at)) out.push(notSupported(path('addressType'), at, ADDRESS_TYPES));
    const eps = items(o.endpoints);
    if (eps.length > 1000) out.push(tooMany(path('endpoints'), eps.length, 1000));
    eps.forEach((ep, i) => {
      const epp = path('endpoints').index(i);
      const addrs = arr(ep.addresses).map(str);
      if (addrs.length === 0) out.push(required(epp.child('addresses'), 'must contain at least 1 address'));
      else if (addrs.length > 100) out.push(tooMany(epp.child('addresses'), addrs.length, 100));
      addrs.forEach((a, j) => {
        const ap = epp.child('addresses').index(j);
        if (at === 'IPv4' && ipFamilyOf(a) !== 'IPv4') out.push(invalid(ap, a, 'must be a valid IPv4 address'));
        else if (at === 'IPv6' && ipFamilyOf(a) !== 'IPv6') out.push(invalid(ap, a, 'must be a valid IPv6 address'));
        else if (at === 'FQDN') {
          const errs = isDNS1123Subdomain(a.replace(/\.$/, ''));
          if (errs.length) out.push(invalid(ap, a.replace(/\.$/, ''), errs.join(',')));
          else if (a.replace(/\.$/, '').split('.').length < 2) out.push(invalid(ap, a, 'should be a domain with at least two segments separated by dots'));
        }
      });
      if (isSet(ep.nodeName)) out.push(...nameIsDNSSubdomain(str(ep.nodeName), false).map((m) => invalid(epp.child('nodeName'), str(ep.nodeName), m)));
      if (isSet(ep.hostname)) out.push(...validateDNS1123Label(str(ep.hostname), epp.child('hostname')));
    });
    const ports = items(o.ports);
    if (ports.length > 100) out.push(tooMany(path('ports'), ports.length, 100));
    const names = new Set<string>();
    ports.forEach((port, i) => {
      const pp = path('ports').index(i);
      const name = str(port.name);
      if (name) out.push(...isDNS1123Label(name).map((m) => invalid(pp.child('name'), name, m)));
      if (names.has(name)) out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${goQuote(name)}`, field: pp.child('name').toString() });
      names.add(name);
      const proto = str(port.protocol);
      if (!proto) out.push(required(pp.child('protocol')));
      else if (!['SCTP', 'TCP', 'UDP'].includes(proto)) out.push(notSupported(pp.child('protocol'), proto, ['SCTP', 'TCP', 'UDP']));
      if (isSet(port.port)) {
        const pn = num(port.port) ?? 0;
        out.push(...isValidPortNum(pn).map((m) => invalid(pp.child('port'), pn, m)));
      }
      if (isSet(port.appProtocol)) out.push(...validateQualifiedName(str(port.appProtocol), pp.child('appProtocol')));
    });
    return out;
  },
  update(n, o) {
    return str(n.addressType) === str(o.addressType) ? [] : [invalid(path('addressType'), str(n.addressType), IMMUTABLE)];
  },
};

// ---------------- events.k8s.io/v1 Event ----------------

export const eventsV1Event: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const out: StatusCause[] = [];
    const ns = str(sub(o, 'metadata').namespace);
    const regNs = str(sub(o, 'regarding').namespace);
    if (!regNs && ns !== 'default' && ns !== 'kube-system') out.push(invalid(path('involvedObject', 'namespace'), regNs, 'does not match event.namespace'));
    if (regNs && regNs !== ns) out.push(invalid(path('involvedObject', 'namespace'), regNs, 'does not match event.namespace'));
    const rc = str(o.reportingController);
    if (!rc) out.push(required(path('reportingController')));
    out.push(...validateQualifiedName(rc, path('reportingController')));
    const ri = str(o.reportingInstance);
    if (!ri) out.push(required(path('reportingInstance')));
    if (ri.length > 128) out.push(invalid(path('reportingInstance'), '', 'can have at most 128 characters'));
    if (!str(o.action)) out.push(required(path('action')));
    if (str(o.action).length > 128) out.push(invalid(path('action'), '', 'can have at most 128 characters'));
    if (!str(o.reason)) out.push(required(path('reason')));
    if (str(o.reason).length > 128) out.push(invalid(path('reason'), '', 'can have at most 128 characters'));
    if (str(o.note).length > 1024) out.push(invalid(path('message'), '', 'can have at most 1024 characters'));
    if (!str(o.eventTime)) out.push(required(path('eventTime')));
    const type = str(o.type);
    if (type !== 'Normal' && type !== 'Warning') out.push(invalid(path('type'), '', `has invalid value: ${type}`));
    for (const [f, shown] of [
      ['deprecatedFirstTimestamp', 'firstTimestamp'],
      ['deprecatedLastTimestamp', 'lastTimestamp'],
    ] as const)
      if (isSet(o[f])) out.push(invalid(path(shown), '', 'needs to be unset'));
    if ((num(o.deprecatedCount) ?? 0) !== 0) out.push(invalid(path('count'), '', 'needs to be unset'));
    const src = obj(o.deprecatedSource);
    if (src && (str(src.component) || str(src.host))) out.push(invalid(path('source'), '', 'needs to be unset'));
    const series = obj(o.series);
    if (series) {
      if ((num(series.count) ?? 0) < 2) out.push(invalid(path('series', 'count'), '', 'should be at least 2'));
      if (!str(series.lastObservedTime)) out.push(required(path('series', 'lastObservedTime')));
    }
    return out;
  },
  update(n, o) {
    const out: StatusCause[] = [];
    const keep = ['series', 'deprecatedCount', 'deprecatedLastTimestamp', 'note', 'metadata'];
    const strip = (e: Obj) => Object.fromEntries(Object.entries(e).filter(([k]) => !keep.includes(k)));
    for (const k of new Set([...Object.keys(strip(n)), ...Object.keys(strip(o))]))
      if (!semanticEqual(n[k], o[k])) out.push(invalid(path(k), typeof n[k] === 'string' ? (n[k] as string) : new GoLiteral('{...}'), IMMUTABLE));
    return out;
  },
};
