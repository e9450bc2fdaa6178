// core/v1 kinds other than the pod spec itself.

import type { StatusCause } from '../errors.js';
import { parseQuantity, compareQuantities, quantityString } from '../quantity.js';
import { FieldPath, forbidden, GoLiteral, goQuote, goStringMap, goStringSlice, invalid, notSupported, path, required, tooLong } from './field.js';
import { arr, isObj, isSet, items, num, obj, sortedKeys, str, strMap, sub, type Obj } from './json.js';
import {
  IMMUTABLE,
  nameIsDNS1035Label,
  nameIsDNSLabel,
  nameIsDNSSubdomain,
  validateDNS1123Label,
  validateDNS1123Subdomain,
  validateFinalizerName,
  validateLabelName,
  validateLabels,
  validateLabelSelector,
  validateNonnegative,
  validateQualifiedName,
} from './meta.js';
import { ipBytes, isCIDR, isConfigMapKey, isIP, isValidLabelValue, isValidPortNum } from './names.js';
import { validatePodOnly, validatePodSpec, validatePodSpecUpdate, validatePodTemplateSpec, validateNodeSelector } from './podspec.js';
import { quantityAt, validateContainerResourceName, validateQuotaResourceName, validateResourceName, validateResourceQuantityValue, validateStorageRequest } from './resources.js';
import type { KindRules } from './types.js';

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const MAX_SECRET_SIZE = 1024 * 1024;
const IP_MSG = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';

// ---------------- Pod ----------------

function podAnnotations(meta: Obj, spec: Obj): StatusCause[] {
  const a = strMap(meta.annotations) ?? {};
  const p = path('metadata', 'annotations');
  const out: StatusCause[] = [];
  if ('kubernetes.io/config.mirror' in a && !str(spec.nodeName))
    out.push(invalid(p.key('kubernetes.io/config.mirror'), a['kubernetes.io/config.mirror']!, 'must set spec.nodeName if mirror pod annotation is set'));
  const cost = a['controller.kubernetes.io/pod-deletion-cost'];
  if (cost !== undefined && !(/^[+-]?[0-9]+$/.test(cost) && Number(cost) <= 2147483647 && Number(cost) >= -2147483648))
    out.push(invalid(p.key('controller.kubernetes.io/pod-deletion-cost'), cost, 'must be a 32bit integer'));
  return out;
}

export const pod: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const meta = sub(o, 'metadata');
    const spec = sub(o, 'spec');
    return [
      ...podAnnotations(meta, spec),
      ...validatePodSpec(o.spec, path('spec'), { isPod: true, podName: str(meta.name) }),
      ...validatePodOnly(spec, path('spec')),
    ];
  },
  createOnly(o) {
    const spec = sub(o, 'spec');
    const out: StatusCause[] = [];
    if (arr(spec.ephemeralContainers).length > 0) out.push(forbidden(path('spec', 'ephemeralContainers'), 'cannot be set on create'));
    if (str(spec.nodeName) && arr(spec.schedulingGates).length > 0) out.push(forbidden(path('spec', 'nodeName'), 'cannot be set until all schedulingGates have been cleared'));
    return out;
  },
  update(n, o) {
    const out: StatusCause[] = [];
    const na = strMap(sub(n, 'metadata').annotations) ?? {};
    const oa = strMap(sub(o, 'metadata').annotations) ?? {};
    const ap = path('metadata', 'annotations');
    if ('kubernetes.io/config.mirror' in oa && na['kubernetes.io/config.mirror'] !== oa['kubernetes.io/config.mirror'])
      out.push(forbidden(ap.key('kubernetes.io/config.mirror'), 'may not remove or update mirror pod annotation'));
    if (!('kubernetes.io/config.mirror' in oa) && 'kubernetes.io/config.mirror' in na) out.push(forbidden(ap.key('kubernetes.io/config.mirror'), 'may not add mirror pod annotation'));
    return [...out, ...validatePodSpecUpdate(n.spec, o.spec)];
  },
};

export const podTemplate: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec: (o) => validatePodTemplateSpec(o.template, path('template')),
};

// ---------------- ReplicationController ----------------

export const replicationController: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const spec = sub(o, 'spec');
    const p = path('spec');
    const out: StatusCause[] = [...validateNonnegative(spec.minReadySeconds, p.child('minReadySeconds'))];
    const selector = strMap(spec.selector) ?? {};
    if (Object.keys(selector).length === 0) out.push(required(p.child('selector')));
    out.push(...validateNonnegative(spec.replicas, p.child('replicas')));
    const tmpl = obj(spec.template);
    const tp = p.child('template');
    if (!tmpl) return [...out, required(tp)];
    const labels = strMap(sub(tmpl, 'metadata').labels);
    if (Object.keys(selector).length > 0 && !Object.entries(selector).every(([k, v]) => labels?.[k] === v))
      out.push(invalid(tp.child('metadata', 'labels'), goStringMap(labels), '`selector` does not match template `labels`'));
    out.push(...validatePodTemplateSpec(tmpl, tp));
    const rp = str(sub(tmpl, 'spec').restartPolicy);
    if (rp !== 'Always') out.push(notSupported(tp.child('spec', 'restartPolicy'), rp, ['Always']));
    if (isSet(sub(tmpl, 'spec').activeDeadlineSeconds)) out.push(forbidden(tp.child('spec', 'activeDeadlineSeconds'), 'activeDeadlineSeconds in ReplicationController is not Supported'));
    return out;
  },
};

// ---------------- Service ----------------

function clusterIPsOf(spec: Obj): string[] {
  const ips = arr(spec.clusterIPs).map(str);
  if (ips.length === 0 && str(spec.clusterIP)) return [str(spec.clusterIP)];
  return ips;
}

function isHeadless(spec: Obj): boolean {
  const ips = clusterIPsOf(spec);
  return ips.length === 1 && ips[0] === 'None';
}

function externallyAccessible(spec: Obj): boolean {
  const t = str(spec.type);
  return t === 'LoadBalancer' || t === 'NodePort' || (t === 'ClusterIP' && arr(spec.externalIPs).length > 0);
}

function nonSpecialIP(ip: string, p: FieldPath): StatusCause[] {
  const b = ipBytes(ip);
  if (!b) return [invalid(p, ip, 'must be a valid IP address')];
  const out: StatusCause[] = [];
  const v4 = b.length === 4;
  if (b.every((x) => x === 0)) out.push(invalid(p, ip, `may not be unspecified (${ip})`));
  if ((v4 && b[0] === 127) || (!v4 && b.slice(0, 15).every((x) => x === 0) && b[15] === 1)) out.push(invalid(p, ip, 'may not be in the loopback range (127.0.0.0/8, ::1/128)'));
  if ((v4 && b[0] === 169 && b[1] === 254) || (!v4 && b[0] === 0xfe && (b[1]! & 0xc0) === 0x80)) out.push(invalid(p, ip, 'may not be in the link-local range (169.254.0.0/16, fe80::/10)'));
  if ((v4 && b[0] === 224 && b[1] === 0 && b[2] === 0) || (!v4 && b[0] === 0xff && (b[1]! & 0x0f) === 2))
    out.push(invalid(p, ip, 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'));
  return out;
}

function goServicePort(protocol: string, port: number): GoLiteral {
  return new GoLiteral(
    `core.ServicePort{Name:"", Protocol:${goQuote(protocol)}, AppProtocol:(*string)(nil), Port:${port}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`,
  );
}

function validateServiceSpec(o: Obj): StatusCause[] {
  const meta = sub(o, 'metadata');
  const spec = sub(o, 'spec');
  const sp = path('spec');
  const out: StatusCause[] = [];
  const ann = strMap(meta.annotations) ?? {};
  const type = str(spec.type);
  const headless = isHeadless(spec);
  const ports = items(spec.ports);
  const ips = clusterIPsOf(spec);

  const hints = ann['service.kubernetes.io/topology-aware-hints'];
  const mode = ann['service.kubernetes.io/topology-mode'];
  if (hints !== undefined && mode !== undefined && hints !== mode)
    out.push(invalid(path('metadata', 'annotations').key('service.kubernetes.io/topology-mode'), mode, 'must match annotations[service.kubernetes.io/topology-aware-hints] when both are specified'));

  if (ports.length === 0 && !headless && type !== 'ExternalName') out.push(required(sp.child('ports')));
  if (type === 'LoadBalancer' && headless) out.push(invalid(sp.child('clusterIPs').index(0), 'None', 'may not be set to \'None\' for LoadBalancer services'));
  if (type === 'NodePort' && headless) out.push(invalid(sp.child('clusterIPs').index(0), 'None', "may not be set to 'None' for NodePort services"));
  if (type === 'ExternalName') {
    if (arr(spec.clusterIPs).length > 0 || str(spec.clusterIP)) out.push(forbidden(sp.child('clusterIPs'), 'may not be set for ExternalName services'));
    if (arr(spec.ipFamilies).length > 0) out.push(forbidden(sp.child('ipFamilies'), 'may not be set for ExternalName services'));
    if (isSet(spec.ipFamilyPolicy)) out.push(forbidden(sp.child('ipFamilyPolicy'), 'may not be set for ExternalName services'));
    const cname = str(spec.externalName).replace(/\.$/, '');
    if (cname) out.push(...validateDNS1123Subdomain(cname, sp.child('externalName')));
    else out.push(required(sp.child('externalName')));
  }

  const portNames = new Set<string>();
  ports.forEach((port, i) => {
    const pp = sp.child('ports').index(i);
    const name = str(port.name);
    if (ports.length > 1 && !name) out.push(required(pp.child('name')));
    else if (name) {
      out.push(...validateDNS1123Label(name, pp.child('name')));
      if (portNames.has(name)) out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${goQuote(name)}`, field: pp.child('name').toString() });
      else portNames.add(name);
    }
    const pn = num(port.port) ?? 0;
    out.push(...isValidPortNum(pn).map((m) => invalid(pp.child('port'), pn, m)));
    const proto = str(port.protocol);
    if (!proto) out.push(required(pp.child('protocol')));
    else if (!PROTOCOLS.includes(proto)) out.push(notSupported(pp.child('protocol'), proto, PROTOCOLS));
    const tp = port.targetPort;
    if (typeof tp === 'number') out.push(...isValidPortNum(tp).map((m) => invalid(pp.child('targetPort'), tp, m)));
    else if (typeof tp === 'string')
      for (const m of tp === '' ? ['must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)', 'must contain at least one letter (a-z)'] : portNameProblems(tp))
        out.push(invalid(pp.child('targetPort'), tp, m));
    if (isSet(port.appProtocol)) out.push(...validateQualifiedName(str(port.appProtocol), pp.child('appProtocol')));
  });

  if (isSet(spec.selector)) out.push(...validateLabels(spec.selector, sp.child('selector')));
  const aff = str(spec.sessionAffinity);
  if (!aff) out.push(required(sp.child('sessionAffinity')));
  else if (aff !== 'ClientIP' && aff !== 'None') out.push(notSupported(sp.child('sessionAffinity'), aff, ['ClientIP', 'None']));
  if (aff === 'ClientIP') {
    const cfg = obj(spec.sessionAffinityConfig);
    const cp = sp.child('sessionAffinityConfig');
    const cip = obj(cfg?.clientIP);
    if (!cfg) out.push(required(cp, 'when session affinity type is ClientIP'));
    else if (!cip) out.push(required(cp.child('clientIP'), 'when session affinity type is ClientIP'));
    else if (!isSet(cip.timeoutSeconds)) out.push(required(cp.child('clientIP', 'timeoutSeconds'), 'when session affinity type is ClientIP'));
    else {
      const t = num(cip.timeoutSeconds) ?? 0;
      if (t <= 0 || t > 86400) out.push(invalid(cp.child('clientIP', 'timeoutSeconds'), t, 'must be greater than 0 and less than 86400'));
    }
  } else if (aff === 'None' && isSet(spec.sessionAffinityConfig)) {
    out.push(forbidden(sp.child('sessionAffinityConfig'), 'must not be set when session affinity is None'));
  }

  if (type !== 'ExternalName') out.push(...clusterIPFields(spec, ips));

  arr(spec.externalIPs).forEach((ip, i) => {
    const ep = sp.child('externalIPs').index(i);
    if (!isIP(str(ip))) out.push(invalid(ep, str(ip), IP_MSG));
    else out.push(...nonSpecialIP(str(ip), ep));
  });

  const types = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
  if (!type) out.push(required(sp.child('type')));
  else if (!types.includes(type)) out.push(notSupported(sp.child('type'), type, types));
  if (type === 'ClusterIP')
    ports.forEach((port, i) => {
      if ((num(port.nodePort) ?? 0) !== 0) out.push(forbidden(sp.child('ports').index(i).child('nodePort'), "may not be used when `type` is 'ClusterIP'"));
    });
  const nodePorts = new Set<string>();
  ports.forEach((port, i) => {
    const np = num(port.nodePort) ?? 0;
    if (np === 0) return;
    const k = `${str(port.protocol)}/${np}`;
    if (nodePorts.has(k)) out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${np}`, field: sp.child('ports').index(i).child('nodePort').toString() });
    nodePorts.add(k);
  });
  const seenPorts = new Set<string>();
  ports.forEach((port, i) => {
    const k = `${str(port.protocol)}/${num(port.port) ?? 0}`;
    if (seenPorts.has(k))
      out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${goServicePort(str(port.protocol), num(port.port) ?? 0).text}`, field: sp.child('ports').index(i).toString() });
    seenPorts.add(k);
  });

  const ranges = arr(spec.loadBalancerSourceRanges).map(str);
  if (ranges.length > 0) {
    const rp = sp.child('LoadBalancerSourceRanges');
    if (type !== 'LoadBalancer') out.push(forbidden(rp, "may only be used when `type` is 'LoadBalancer'"));
    ranges.forEach((r, i) => {
      if (!isCIDR(r.trim())) out.push(invalid(rp.index(i), r.trim(), 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'));
    });
  }
  if (isSet(spec.allocateLoadBalancerNodePorts) && type !== 'LoadBalancer')
    out.push(forbidden(sp.child('allocateLoadBalancerNodePorts'), "may only be used when `type` is 'LoadBalancer'"));
  if (type === 'LoadBalancer' && !isSet(spec.allocateLoadBalancerNodePorts)) out.push(required(path('allocateLoadBalancerNodePorts')));
  if (type === 'LoadBalancer') {
    if (isSet(spec.loadBalancerClass)) out.push(...validateQualifiedName(str(spec.loadBalancerClass), sp.child('loadBalancerClass')));
  } else if (isSet(spec.loadBalancerClass)) out.push(forbidden(sp.child('loadBalancerClass'), "may only be used when `type` is 'LoadBalancer'"));

  const etp = str(spec.externalTrafficPolicy);
  if (!externallyAccessible(spec)) {
    if (etp) out.push(invalid(sp.child('externalTrafficPolicy'), etp, 'may only be set for externally-accessible services'));
  } else if (!etp) out.push(required(sp.child('externalTrafficPolicy')));
  else if (etp !== 'Cluster' && etp !== 'Local') out.push(notSupported(sp.child('externalTrafficPolicy'), etp, ['Cluster', 'Local']));
  const hc = num(spec.healthCheckNodePort) ?? 0;
  const needsHC = type === 'LoadBalancer' && etp === 'Local';
  if (!needsHC) {
    if (hc !== 0) out.push(invalid(sp.child('healthCheckNodePort'), hc, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
  } else if (hc === 0) out.push(required(sp.child('healthCheckNodePort')));
  else out.push(...isValidPortNum(hc).map((m) => invalid(sp.child('healthCheckNodePort'), hc, m)));

  if (!isSet(spec.internalTrafficPolicy)) {
    if (type === 'NodePort' || type === 'LoadBalancer' || type === 'ClusterIP') out.push(required(sp.child('internalTrafficPolicy')));
  } else if (!['Cluster', 'Local'].includes(str(spec.internalTrafficPolicy))) {
    out.push(notSupported(sp.child('internalTrafficPolicy'), str(spec.internalTrafficPolicy), ['Cluster', 'Local']));
  }
  if (isSet(spec.trafficDistribution) && str(spec.trafficDistribution) !== 'PreferClose')
    out.push(notSupported(sp.child('trafficDistribution'), str(spec.trafficDistribution), ['PreferClose']));
  return out;
}

function portNameProblems(s: string): string[] {
  const out: string[] = [];
  if (s.length > 15) out.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(s)) out.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (!/[a-z]/.test(s)) out.push('must contain at least one letter (a-z)');
  if (s.includes('--')) out.push('must not contain consecutive hyphens');
  if (s.startsWith('-') || s.endsWith('-')) out.push('must not begin or end with a hyphen');
  return out;
}

function clusterIPFields(spec: Obj, _ips: string[]): StatusCause[] {
  const sp = path('spec');
  const out: StatusCause[] = [];
  const cip = str(spec.clusterIP);
  // The strategy copies clusterIP into an empty clusterIPs before validation; accept that form too.
  const cips = arr(spec.clusterIPs).length === 0 && cip ? [cip] : arr(spec.clusterIPs).map(str);
  const cp = sp.child('clusterIPs');
  if (cip) {
    if (cips.length === 0) out.push(required(cp));
    else if (cips[0] !== cip) out.push(invalid(cp, goStringSlice(cips), 'first value must match `clusterIP`'));
  } else if (cips.length > 0) out.push(invalid(cp, goStringSlice(cips), 'must be empty when `clusterIP` is not specified'));
  const fams = arr(spec.ipFamilies).map(str);
  const seen = new Set<string>();
  fams.forEach((f, i) => {
    if (f !== 'IPv4' && f !== 'IPv6') out.push(notSupported(sp.child('ipFamilies').index(i), f, ['IPv4', 'IPv6']));
    if (seen.has(f)) out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${goQuote(f)}`, field: sp.child('ipFamilies').index(i).toString() });
    seen.add(f);
  });
  if (isSet(spec.ipFamilyPolicy)) {
    const pol = str(spec.ipFamilyPolicy);
    const valid = ['PreferDualStack', 'RequireDualStack', 'SingleStack'];
    if (!valid.includes(pol)) out.push(notSupported(sp.child('ipFamilyPolicy'), pol, valid));
  }
  let bad = false;
  cips.forEach((ip, i) => {
    if (i === 0 && ip === 'None') {
      if (cips.length > 1) {
        bad = true;
        out.push(invalid(cp, goStringSlice(cips), "'None' must be the first and only value"));
      }
      return;
    }
    if (!isIP(ip)) {
      bad = true;
      out.push(invalid(cp.index(i), ip, IP_MSG));
    }
  });
  if (cips.length > 2) out.push(invalid(cp, goStringSlice(cips), 'may only hold up to 2 values'));
  if (bad) return out;
  if (cips.length > 1 && (cips[0]!.includes(':') === cips[1]!.includes(':'))) out.push(invalid(cp, goStringSlice(cips), 'may specify no more than one IP for each IP family'));
  if (!(cips.length === 1 && cips[0] === 'None'))
    cips.forEach((ip, i) => {
      if (i >= fams.length) return;
      if (fams[i] === 'IPv4' && ip.includes(':')) out.push(invalid(cp.index(i), ip, `expected an IPv4 value as indicated by \`ipFamilies[${i}]\``));
      if (fams[i] === 'IPv6' && !ip.includes(':')) out.push(invalid(cp.index(i), ip, `expected an IPv6 value as indicated by \`ipFamilies[${i}]\``));
    });
  return out;
}

export const service: KindRules = {
  nameFn: nameIsDNS1035Label,
  spec: validateServiceSpec,
  update(n, o) {
    const ns = sub(n, 'spec');
    const os = sub(o, 'spec');
    const out: StatusCause[] = [];
    if (str(ns.type) === 'ExternalName' || str(os.type) === 'ExternalName') return out;
    const nh = isHeadless(ns);
    const oh = isHeadless(os);
    const nips = clusterIPsOf(ns);
    const oips = clusterIPsOf(os);
    const cp = path('spec', 'clusterIPs');
    if (!(nh && oh)) {
      if (nips.length === oips.length) {
        oips.forEach((ip, i) => {
          if (ip !== nips[i]) out.push(invalid(cp.index(i), goStringSlice(nips), 'may not change once set'));
        });
      } else if (oips.length > nips.length) {
        if (nips.length === 0) out.push(invalid(cp.index(0), goStringSlice(nips), 'primary clusterIP can not be unset'));
        else if (nips[0] !== oips[0]) out.push(invalid(cp.index(0), goStringSlice(nips), 'may not change once set'));
        if (nips.length === 1 && str(ns.ipFamilyPolicy) !== 'SingleStack')
          out.push(invalid(path('spec', 'ipFamilyPolicy'), isSet(ns.ipFamilyPolicy) ? str(ns.ipFamilyPolicy) : null, "must be set to 'SingleStack' when releasing the secondary clusterIP"));
      } else if (oips.length > 0 && nips[0] !== oips[0]) {
        out.push(invalid(cp.index(0), goStringSlice(nips), 'may not change once set'));
      }
    }
    if (nh === oh && !nh) {
      const nf = arr(ns.ipFamilies).map(str);
      const of = arr(os.ipFamilies).map(str);
      if (nf.length === of.length) {
        if (of.some((f, i) => f !== nf[i])) out.push(invalid(path('spec', 'ipFamilies').index(0), goStringSlice(nf), 'may not change once set'));
      } else if (of.length > nf.length) {
        if (nf.length > 0 && nf[0] !== of[0]) out.push(invalid(path('spec', 'ipFamilies').index(0), goStringSlice(nips), 'may not change once set'));
        if (nf.length === 1 && str(ns.ipFamilyPolicy) !== 'SingleStack')
          out.push(invalid(path('spec', 'ipFamilyPolicy'), isSet(ns.ipFamilyPolicy) ? str(ns.ipFamilyPolicy) : null, "must be set to 'SingleStack' when releasing the secondary ipFamily"));
      } else if (of.length > 0 && nf[0] !== of[0]) out.push(invalid(path('spec', 'ipFamilies').index(0), goStringSlice(nips), 'may not change once set'));
    }
    if (str(ns.type) === 'LoadBalancer' && str(os.type) === 'LoadBalancer' && str(ns.loadBalancerClass) !== str(os.loadBalancerClass))
      out.push(invalid(path('spec', 'loadBalancerClass'), isSet(ns.loadBalancerClass) ? str(ns.loadBalancerClass) : null, 'may not change once set'));
    const needsHC = (s: Obj) => str(s.type) === 'LoadBalancer' && str(s.externalTrafficPolicy) === 'Local';
    if (needsHC(ns) && needsHC(os) && (num(ns.healthCheckNodePort) ?? 0) !== (num(os.healthCheckNodePort) ?? 0))
      out.push(forbidden(path('spec', 'healthCheckNodePort'), IMMUTABLE));
    return out;
  },
};

// ---------------- Endpoints ----------------

export const endpoints: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const out: StatusCause[] = [];
    items(o.subsets).forEach((ss, i) => {
      const sp = path('subsets').index(i);
      if (arr(ss.addresses).length === 0 && arr(ss.notReadyAddresses).length === 0) out.push(required(sp, 'must specify `addresses` or `notReadyAddresses`'));
      for (const list of ['addresses', 'notReadyAddresses'])
        items(ss[list]).forEach((a, j) => {
          const ap = sp.child(list).index(j);
          const ip = str(a.ip);
          if (!isIP(ip)) out.push(invalid(ap.child('ip'), ip, IP_MSG));
          if (str(a.hostname)) out.push(...validateDNS1123Label(str(a.hostname), ap.child('hostname')));
          if (isSet(a.nodeName)) out.push(...nameIsDNSSubdomain(str(a.nodeName), false).map((m) => invalid(ap.child('nodeName'), str(a.nodeName), m)));
          out.push(...nonSpecialIP(ip, ap.child('ip')));
        });
      const ports = items(ss.ports);
      ports.forEach((port, j) => {
        const pp = sp.child('ports').index(j);
        const name = str(port.name);
        if (ports.length > 1 && !name) out.push(required(pp.child('name')));
        else if (name) out.push(...validateDNS1123Label(name, pp.child('name')));
        const pn = num(port.port) ?? 0;
        out.push(...isValidPortNum(pn).map((m) => invalid(pp.child('port'), pn, m)));
        const proto = str(port.protocol);
        if (!proto) out.push(required(pp.child('protocol')));
        else if (!PROTOCOLS.includes(proto)) out.push(notSupported(pp.child('protocol'), proto, PROTOCOLS));
        if (isSet(port.appProtocol)) out.push(...validateQualifiedName(str(port.appProtocol), pp.child('appProtocol')));
      });
    });
    return out;
  },
};

// ---------------- ConfigMap / Secret ----------------

function byteSize(v: unknown, base64: boolean): number {
  const s = typeof v === 'string' ? v : '';
  if (!base64) return Buffer.byteLength(s);
  return Buffer.from(s, 'base64').length;
}

export const configMap: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const out: StatusCause[] = [];
    let total = 0;
    const data = obj(o.data) ?? {};
    const bin = obj(o.binaryData) ?? {};
    for (const k of sortedKeys(data)) {
      out.push(...isConfigMapKey(k).map((m) => invalid(path('data').key(k), k, m)));
      if (k in bin) out.push(invalid(path('data').key(k), k, 'duplicate of key present in binaryData'));
      total += byteSize(data[k], false);
    }
    for (const k of sortedKeys(bin)) {
      out.push(...isConfigMapKey(k).map((m) => invalid(path('binaryData').key(k), k, m)));
      total += byteSize(bin[k], true);
    }
    if (total > MAX_SECRET_SIZE) out.push(tooLong(path(''), MAX_SECRET_SIZE));
    return out;
  },
  update(n, o) {
    const out: StatusCause[] = [];
    if (o.immutable === true) {
      if (n.immutable !== true) out.push(forbidden(path('immutable'), 'field is immutable when `immutable` is set'));
      if (JSON.stringify(sortedObj(n.data)) !== JSON.stringify(sortedObj(o.data))) out.push(forbidden(path('data'), 'field is immutable when `immutable` is set'));
      if (JSON.stringify(sortedObj(n.binaryData)) !== JSON.stringify(sortedObj(o.binaryData))) out.push(forbidden(path('binaryData'), 'field is immutable when `immutable` is set'));
    }
    return out;
  },
};

function sortedObj(v: unknown): unknown {
  const o = obj(v);
  if (!o || Object.keys(o).length === 0) return null;
  return Object.fromEntries(sortedKeys(o).map((k) => [k, o[k]]));
}

export const secret: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const out: StatusCause[] = [];
    const data = obj(o.data) ?? {};
    const dp = path('data');
    let total = 0;
    for (const k of sortedKeys(data)) {
      out.push(...isConfigMapKey(k).map((m) => invalid(dp.key(k), k, m)));
      total += byteSize(data[k], true);
    }
    if (total > MAX_SECRET_SIZE) out.push(tooLong(dp, MAX_SECRET_SIZE));
    const ann = strMap(sub(o, 'metadata').annotations) ?? {};
    switch (str(o.type)) {
      case 'kubernetes.io/service-account-token':
        if (!ann['kubernetes.io/service-account.name']) out.push(required(path('metadata', 'annotations').key('kubernetes.io/service-account.name')));
        break;
      case 'kubernetes.io/dockercfg':
      case 'kubernetes.io/dockerconfigjson': {
        const key = str(o.type) === 'kubernetes.io/dockercfg' ? '.dockercfg' : '.dockerconfigjson';
        if (!(key in data)) {
          out.push(required(dp.key(key)));
          break;
        }
        try {
          const parsed: unknown = JSON.parse(Buffer.from(str(data[key]), 'base64').toString('utf8'));
          if (!isObj(parsed)) throw new Error('json: cannot unmarshal into Go value of type map[string]interface {}');
        } catch (e) {
          out.push(invalid(dp.key(key), '<secret contents redacted>', e instanceof Error ? e.message : 'invalid JSON'));
        }
        break;
      }
      case 'kubernetes.io/basic-auth':
        if (!('username' in data) && !('password' in data)) out.push(required(dp.key('username')), required(dp.key('password')));
        break;
      case 'kubernetes.io/ssh-auth':
        if (!str(data['ssh-privatekey'])) out.push(required(dp.key('ssh-privatekey')));
        break;
      case 'kubernetes.io/tls':
        if (!('tls.crt' in data)) out.push(required(dp.key('tls.crt')));
        if (!('tls.key' in data)) out.push(required(dp.key('tls.key')));
        break;
      default:
        break;
    }
    return out;
  },
  update(n, o) {
    const out: StatusCause[] = [];
    if (str(n.type) !== str(o.type)) out.push(invalid(path('type'), str(n.type), IMMUTABLE));
    if (o.immutable === true) {
      if (n.immutable !== true) out.push(forbidden(path('immutable'), 'field is immutable when `immutable` is set'));
      if (JSON.stringify(sortedObj(n.data)) !== JSON.stringify(sortedObj(o.data))) out.push(forbidden(path('data'), 'field is immutable when `immutable` is set'));
    }
    return out;
  },
};

export const serviceAccount: KindRules = { nameFn: nameIsDNSSubdomain };

// ---------------- Namespace ----------------

export const namespace: KindRules = {
  nameFn: nameIsDNSLabel,
  spec(o) {
    return arr(sub(o, 'spec').finalizers).flatMap((f) => validateFinalizerName(str(f), path('spec', 'finalizers')));
  },
  update(n) {
    const out: StatusCause[] = [];
    const phase = str(sub(n, 'status').phase);
    if (!isSet(sub(n, 'metadata').deletionTimestamp)) {
      if (phase && phase !== 'Active') out.push(invalid(path('status', 'Phase'), phase, "may only be 'Active' if `deletionTimestamp` is empty"));
    } else if (phase && phase !== 'Terminating') out.push(invalid(path('status', 'Phase'), phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"));
    return out;
  },
};

// ---------------- Node ----------------

function nodeTaints(list: unknown, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  const seen = new Map<string, Set<string>>();
  items(list).forEach((t, i) => {
    const tp = p.index(i);
    out.push(...validateLabelName(str(t.key), tp.child('key')));
    const errs = isValidLabelValue(str(t.value));
    if (errs.length) out.push(invalid(tp.child('value'), str(t.value), errs.join(';')));
    const effect = str(t.effect);
    if (!effect) out.push(required(tp.child('effect')));
    else if (!['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(effect)) out.push(notSupported(tp.child('effect'), effect, ['NoSchedule', 'PreferNoSchedule', 'NoExecute']));
    const keys = seen.get(effect) ?? new Set<string>();
    if (keys.has(str(t.key))) {
      out.push({
        reason: 'FieldValueDuplicate',
        message: `Duplicate value: core.Taint{Key:${goQuote(str(t.key))}, Value:${goQuote(str(t.value))}, Effect:${goQuote(effect)}, TimeAdded:<nil>}: taints must be unique by key and effect pair`,
        field: tp.toString(),
      });
      return;
    }
    keys.add(str(t.key));
    seen.set(effect, keys);
  });
  return out;
}

function nodeResources(o: Obj): StatusCause[] {
  const out: StatusCause[] = [];
  const status = sub(o, 'status');
  for (const kind of ['capacity', 'allocatable']) {
    const rl = obj(status[kind]) ?? {};
    for (const k of sortedKeys(rl)) {
      const fp = path('status', kind, k);
      const q = quantityAt(rl[k], fp, out);
      if (q) out.push(...validateResourceQuantityValue(k, q, fp));
    }
  }
  return out;
}

export const node: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const spec = sub(o, 'spec');
    const out = [...nodeTaints(spec.taints, path('metadata', 'taints')), ...nodeResources(o)];
    const cidrs = arr(spec.podCIDRs).map(str);
    cidrs.forEach((c, i) => {
      if (!isCIDR(c)) out.push(invalid(path('spec', 'podCIDRs').index(i), c, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'));
    });
    if (cidrs.length > 2 || (cidrs.length === 2 && cidrs[0]!.includes(':') === cidrs[1]!.includes(':')))
      out.push(invalid(path('spec', 'podCIDRs'), goStringSlice(cidrs), 'may specify no more than one CIDR for each IP family'));
    return out;
  },
  update(n, o) {
    const ns = sub(n, 'spec');
    const os = sub(o, 'spec');
    const out: StatusCause[] = [];
    const oc = arr(os.podCIDRs).map(str);
    const nc = arr(ns.podCIDRs).map(str);
    if (oc.length > 0 && (oc.length !== nc.length || oc.some((c, i) => c !== nc[i])))
      out.push(forbidden(path('spec', 'podCIDRs'), 'node updates may not change podCIDR except from "" to valid'));
    if (str(os.providerID) && str(os.providerID) !== str(ns.providerID))
      out.push(forbidden(path('spec', 'providerID'), 'node updates may not change providerID except from "" to valid'));
    if (str(ns.externalID) !== str(os.externalID)) out.push(forbidden(path('spec', 'externalID'), 'may not be updated'));
    const seen = new Set<string>();
    items(sub(n, 'status').addresses).forEach((a, i) => {
      const k = `${str(a.type)}/${str(a.address)}`;
      if (seen.has(k))
        out.push({
          reason: 'FieldValueDuplicate',
          message: `Duplicate value: core.NodeAddress{Type:${goQuote(str(a.type))}, Address:${goQuote(str(a.address))}}`,
          field: path('status', 'addresses').index(i).toString(),
        });
      seen.add(k);
    });
    return out;
  },
};

// ---------------- PersistentVolume / Claim ----------------

const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
const PV_SOURCES = [
  'hostPath',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'glusterfs',
  'flocker',
  'nfs',
  'rbd',
  'quobyte',
  'cephfs',
  'iscsi',
  'cinder',
  'fc',
  'flexVolume',
  'azureFile',
  'vsphereVolume',
  'photonPersistentDisk',
  'portworxVolume',
  'azureDisk',
  'scaleIO',
  'local',
  'storageos',
  'csi',
];

function accessModes(modes: unknown, p: FieldPath, requiredDetail: string): StatusCause[] {
  const list = arr(modes).map(str);
  const out: StatusCause[] = [];
  if (list.length === 0) out.push(required(p, requiredDetail));
  let rwop = false;
  let other = false;
  for (const m of list) {
    if (!ACCESS_MODES.includes(m)) out.push(notSupported(p, m, ACCESS_MODES));
    if (m === 'ReadWriteOncePod') rwop = true;
    else if (ACCESS_MODES.includes(m)) other = true;
  }
  if (rwop && other) out.push(forbidden(p, 'may not use ReadWriteOncePod with other access modes'));
  return out;
}

export const persistentVolume: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const spec = sub(o, 'spec');
    const sp = path('spec');
    const out = accessModes(spec.accessModes, sp.child('accessModes'), '');
    const cap = obj(spec.capacity) ?? {};
    if (Object.keys(cap).length === 0) out.push(required(sp.child('capacity')));
    if (!('storage' in cap) || Object.keys(cap).length > 1)
      out.push(notSupported(sp.child('capacity'), new GoLiteral(`core.ResourceList{${sortedKeys(cap).map((k) => `${goQuote(k)}:${String(cap[k])}`).join(', ')}}`), ['storage']));
    for (const k of sortedKeys(cap)) {
      const fp = sp.child('capacity').key(k);
      const q = quantityAt(cap[k], fp, out);
      if (!q) continue;
      if (q.unscaled <= 0n) out.push(invalid(fp, quantityString(q), 'must be greater than zero'));
    }
    const rp = str(spec.persistentVolumeReclaimPolicy);
    if (rp && !['Delete', 'Recycle', 'Retain'].includes(rp)) out.push(notSupported(sp.child('persistentVolumeReclaimPolicy'), rp, ['Delete', 'Recycle', 'Retain']));
    let count = 0;
    for (const src of PV_SOURCES) {
      if (!isSet(spec[src])) continue;
      if (count > 0 && src !== 'flexVolume') {
        out.push(forbidden(sp.child(src === 'cephfs' ? 'cephFS' : src), 'may not specify more than 1 volume type'));
        continue;
      }
      count++;
      const s = sub(spec, src);
      if (src === 'hostPath' && !str(s.path)) out.push(required(sp.child('hostPath', 'path')));
      if (src === 'local') {
        if (!str(s.path)) out.push(required(sp.child('local', 'path')));
        if (!isSet(spec.nodeAffinity)) out.push(required(sp.child('nodeAffinity'), 'Local volume requires node affinity'));
      }
      if (src === 'nfs') {
        if (!str(s.server)) out.push(required(sp.child('nfs', 'server')));
        if (!str(s.path)) out.push(required(sp.child('nfs', 'path')));
        if (!str(s.path).startsWith('/')) out.push(invalid(sp.child('nfs', 'path'), str(s.path), 'must be an absolute path'));
      }
      if (src === 'csi') {
        if (!str(s.driver)) out.push(required(sp.child('csi', 'driver')));
        if (!str(s.volumeHandle)) out.push(required(sp.child('csi', 'volumeHandle')));
      }
    }
    if (count === 0) out.push(required(sp, 'must specify a volume type'));
    const na = obj(spec.nodeAffinity);
    if (na) {
      const req = obj(na.required);
      if (!req) out.push(required(sp.child('nodeAffinity', 'required'), 'must specify required node constraints'));
      else out.push(...validateNodeSelector(req, sp.child('nodeAffinity', 'required')));
    }
    if (str(spec.storageClassName)) out.push(...nameIsDNSSubdomain(str(spec.storageClassName), false).map((m) => invalid(sp.child('storageClassName'), str(spec.storageClassName), m)));
    if (isSet(spec.volumeMode) && !['Block', 'Filesystem'].includes(str(spec.volumeMode))) out.push(notSupported(sp.child('volumeMode'), str(spec.volumeMode), ['Block', 'Filesystem']));
    return out;
  },
  update(n, o) {
    const ns = sub(n, 'spec');
    const os = sub(o, 'spec');
    const out: StatusCause[] = [];
    const src = (s: Obj) => JSON.stringify(PV_SOURCES.map((k) => s[k] ?? null));
    if (src(ns) !== src(os)) out.push(forbidden(path('spec', 'persistentvolumesource'), 'spec.persistentvolumesource is immutable after creation'));
    if (str(ns.volumeMode) !== str(os.volumeMode)) out.push(invalid(path('volumeMode'), isSet(ns.volumeMode) ? str(ns.volumeMode) : null, IMMUTABLE));
    if (isSet(os.nodeAffinity) && JSON.stringify(ns.nodeAffinity) !== JSON.stringify(os.nodeAffinity))
      out.push(invalid(path('nodeAffinity'), new GoLiteral('&core.VolumeNodeAffinity{...}'), IMMUTABLE + ', except for updating from beta label to GA'));
    return out;
  },
};

function pvcSpec(specValue: unknown, p: FieldPath): StatusCause[] {
  const spec = obj(specValue) ?? {};
  const out = accessModes(spec.accessModes, p.child('accessModes'), 'at least 1 access mode is required');
  if (isSet(spec.selector)) out.push(...validateLabelSelector(spec.selector, p.child('selector')));
  const storage = sub(sub(spec, 'resources'), 'requests').storage;
  if (!isSet(storage)) out.push(required(p.child('resources').key('storage')));
  else out.push(...validateStorageRequest(storage, p.child('resources').key('storage')));
  if (str(spec.storageClassName)) out.push(...nameIsDNSSubdomain(str(spec.storageClassName), false).map((m) => invalid(p.child('storageClassName'), str(spec.storageClassName), m)));
  if (isSet(spec.volumeMode) && !['Block', 'Filesystem'].includes(str(spec.volumeMode))) out.push(notSupported(p.child('volumeMode'), str(spec.volumeMode), ['Block', 'Filesystem']));
  for (const f of ['dataSource', 'dataSourceRef']) {
    const ds = obj(spec[f]);
    if (!ds) continue;
    const dp = p.child(f);
    if (!str(ds.name)) out.push(required(dp.child('name')));
    if (!str(ds.kind)) out.push(required(dp.child('kind')));
    const group = str(ds.apiGroup);
    if (!group && str(ds.kind) !== 'PersistentVolumeClaim') out.push(invalid(dp, str(ds.kind), "must be 'PersistentVolumeClaim' when referencing the default apiGroup"));
    if (group) out.push(...validateDNS1123Subdomain(group, dp.child('apiGroup')));
  }
  return out;
}

export { pvcSpec as validatePersistentVolumeClaimSpec };

export const persistentVolumeClaim: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec: (o) => pvcSpec(o.spec, path('spec')),
  update(n, o) {
    const out: StatusCause[] = [];
    const ns = structuredClone(sub(n, 'spec'));
    const os = structuredClone(sub(o, 'spec'));
    if (!str(os.volumeName)) os.volumeName = ns.volumeName;
    const bound = str(sub(n, 'status').phase) === 'Bound';
    const newStorage = sub(sub(ns, 'resources'), 'requests').storage;
    const oldStorage = sub(sub(os, 'resources'), 'requests').storage;
    if (bound && isObj(ns.resources) && isObj(obj(ns.resources)!.requests)) (obj(obj(ns.resources)!.requests) as Obj).storage = oldStorage;
    if (!isSet(os.storageClassName) && isSet(ns.storageClassName)) os.storageClassName = ns.storageClassName;
    if (JSON.stringify(sortDeep(ns)) !== JSON.stringify(sortDeep(os)))
      out.push(forbidden(path('spec'), 'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims'));
    try {
      if (isSet(newStorage) && isSet(oldStorage) && compareQuantities(parseQuantity(newStorage as string | number), parseQuantity(oldStorage as string | number)) < 0)
        out.push(forbidden(path('spec', 'resources', 'requests', 'storage'), 'field can not be less than status.capacity'));
    } catch {
      // Unparsable quantities are reported by spec validation.
    }
    if (str(sub(n, 'spec').volumeMode) !== str(sub(o, 'spec').volumeMode))
      out.push(invalid(path('volumeMode'), isSet(sub(n, 'spec').volumeMode) ? str(sub(n, 'spec').volumeMode) : null, IMMUTABLE));
    return out;
  },
};

function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (isObj(v)) return Object.fromEntries(sortedKeys(v).filter((k) => isSet(v[k])).map((k) => [k, sortDeep(v[k])]));
  return v;
}

// ---------------- LimitRange / ResourceQuota ----------------

const LIMIT_TYPES = new Set(['Pod', 'Container', 'PersistentVolumeClaim']);

export const limitRange: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const out: StatusCause[] = [];
    const types = new Set<string>();
    items(sub(o, 'spec').limits).forEach((l, i) => {
      const ip = path('spec', 'limits').index(i);
      const type = str(l.type);
      const tErrs = validateQualifiedName(type, ip.child('type'));
      out.push(...tErrs);
      if (!tErrs.length && !type.includes('/') && !LIMIT_TYPES.has(type)) out.push(invalid(ip.child('type'), type, 'must be a standard limit type or fully qualified'));
      if (types.has(type)) out.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${goQuote(type)}`, field: ip.child('type').toString() });
      types.add(type);
      const nameFn = type === 'Pod' || type === 'Container' ? validateContainerResourceName : validateResourceName;
      const lists: Record<string, Map<string, ReturnType<typeof parseQuantity>>> = {};
      for (const field of ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio']) {
        const rl = obj(l[field]) ?? {};
        lists[field] = new Map();
        if (type === 'Pod' && (field === 'default' || field === 'defaultRequest')) {
          if (Object.keys(rl).length > 0) out.push(forbidden(ip.child(field), "may not be specified when `type` is 'Pod'"));
          continue;
        }
        for (const k of sortedKeys(rl)) {
          const fp = ip.child(field).key(k);
          out.push(...nameFn(k, fp));
          const q = quantityAt(rl[k], fp, out);
          if (q) lists[field]!.set(k, q);
        }
      }
      if (type === 'PersistentVolumeClaim' && !lists.min!.has('storage') && !lists.max!.has('storage'))
        out.push(required(ip.child('limits'), 'either minimum or maximum storage value is required, but neither was provided'));
      const keys = new Set<string>(Object.values(lists).flatMap((m) => [...m.keys()]));
      for (const k of [...keys].sort()) {
        const min = lists.min!.get(k);
        const max = lists.max!.get(k);
        const def = lists.default!.get(k);
        const defReq = lists.defaultRequest!.get(k);
        const ratio = lists.maxLimitRequestRatio!.get(k);
        const s = quantityString;
        if (min && max && compareQuantities(min, max) > 0) out.push(invalid(ip.child('min').key(k), s(min), `min value ${s(min)} is greater than max value ${s(max)}`));
        if (defReq && min && compareQuantities(min, defReq) > 0) out.push(invalid(ip.child('defaultRequest').key(k), s(defReq), `min value ${s(min)} is greater than default request value ${s(defReq)}`));
        if (defReq && max && compareQuantities(defReq, max) > 0) out.push(invalid(ip.child('defaultRequest').key(k), s(defReq), `default request value ${s(defReq)} is greater than max value ${s(max)}`));
        if (defReq && def && compareQuantities(defReq, def) > 0) out.push(invalid(ip.child('defaultRequest').key(k), s(defReq), `default request value ${s(defReq)} is greater than default limit value ${s(def)}`));
        if (def && min && compareQuantities(min, def) > 0) out.push(invalid(ip.child('default').key(k), s(min), `min value ${s(min)} is greater than default value ${s(def)}`));
        if (def && max && compareQuantities(def, max) > 0) out.push(invalid(ip.child('default').key(k), s(max), `default value ${s(def)} is greater than max value ${s(max)}`));
        if (ratio && compareQuantities(ratio, parseQuantity('1')) < 0) out.push(invalid(ip.child('maxLimitRequestRatio').key(k), s(ratio), `ratio ${s(ratio)} is less than 1`));
      }
    });
    return out;
  },
};

function quotaList(rl: unknown, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  const m = obj(rl) ?? {};
  for (const k of sortedKeys(m)) {
    const fp = p.key(k);
    out.push(...validateQuotaResourceName(k, fp));
    const q = quantityAt(m[k], fp, out);
    if (q) out.push(...validateResourceQuantityValue(k, q, fp));
  }
  return out;
}

const QUOTA_SCOPES = ['Terminating', 'NotTerminating', 'BestEffort', 'NotBestEffort', 'PriorityClass', 'CrossNamespacePodAffinity', 'VolumeAttributesClass'];

export const resourceQuota: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const spec = sub(o, 'spec');
    const out = quotaList(spec.hard, path('spec', 'hard'));
    const scopes = arr(spec.scopes).map(str);
    for (const s of scopes) if (!QUOTA_SCOPES.includes(s)) out.push(invalid(path('spec', 'scopes'), goStringSlice(scopes), 'unsupported scope'));
    if ((scopes.includes('BestEffort') && scopes.includes('NotBestEffort')) || (scopes.includes('Terminating') && scopes.includes('NotTerminating')))
      out.push(invalid(path('spec', 'scopes'), goStringSlice(scopes), 'conflicting scopes'));
    out.push(...quotaList(sub(o, 'status').hard, path('status', 'hard')));
    out.push(...quotaList(sub(o, 'status').used, path('status', 'used')));
    return out;
  },
  update(n, o) {
    const a = arr(sub(n, 'spec').scopes).map(str).sort();
    const b = arr(sub(o, 'spec').scopes).map(str).sort();
    return JSON.stringify([...new Set(a)]) === JSON.stringify([...new Set(b)]) ? [] : [invalid(path('spec', 'scopes'), goStringSlice(arr(sub(n, 'spec').scopes).map(str)), IMMUTABLE)];
  },
};

// ---------------- Event (core/v1) ----------------

export const event: KindRules = {
  nameFn: nameIsDNSSubdomain,
  skipMetaOnCreate: true,
  spec(o) {
    const meta = sub(o, 'metadata');
    const ns = str(meta.namespace);
    const io = sub(o, 'involvedObject');
    const ioNs = str(io.namespace);
    const out: StatusCause[] = [];
    const ip = path('involvedObject', 'namespace');
    if (!str(o.eventTime)) {
      if (!ioNs) {
        if (ns !== '' && ns !== 'default') out.push(invalid(ip, ioNs, 'does not match event.namespace'));
      } else if (ns !== ioNs) out.push(invalid(ip, ioNs, 'does not match event.namespace'));
    } else {
      if (!ioNs && ns !== 'default' && ns !== 'kube-system') out.push(invalid(ip, ioNs, 'does not match event.namespace'));
      const rc = str(o.reportingComponent);
      if (!rc) out.push(required(path('reportingComponent')));
      out.push(...validateQualifiedName(rc, path('reportingComponent')));
      const ri = str(o.reportingInstance);
      if (!ri) out.push(required(path('reportingInstance')));
      if (ri.length > 128) out.push(invalid(path('reportingInstance'), '', 'can have at most 128 characters'));
      if (!str(o.action)) out.push(required(path('action')));
      if (str(o.action).length > 128) out.push(invalid(path('action'), '', 'can have at most 128 characters'));
      if (!str(o.reason)) out.push(required(path('reason')));
      if (str(o.reason).length > 128) out.push(invalid(path('reason'), '', 'can have at most 128 characters'));
      if (str(o.message).length > 1024) out.push(invalid(path('message'), '', 'can have at most 1024 characters'));
    }
    out.push(...validateDNS1123Subdomain(ns, path('namespace')));
    return out;
  },
};

