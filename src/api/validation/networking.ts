// networking.k8s.io/v1: Ingress, IngressClass, NetworkPolicy.

import type { StatusCause } from '../errors.js';
import { FieldPath, forbidden, GoLiteral, invalid, notSupported, path, required, tooLong } from './field.js';
import { arr, isSet, items, num, obj, str, strMap, sub, type Obj } from './json.js';
import { IMMUTABLE, nameIsDNS1035Label, nameIsDNSLabel, nameIsDNSSubdomain, validateLabelSelector } from './meta.js';
import { isCIDR, isDNS1123Subdomain, isIP, isPathSegmentName, isValidPortName, isValidPortNum, isWildcardDNS1123Subdomain } from './names.js';
import type { KindRules } from './types.js';

const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];

function ingressBackend(b: Obj, p: FieldPath): StatusCause[] {
  const hasRes = isSet(b.resource);
  const svc = obj(b.service);
  if (hasRes && svc) return [invalid(p, '', 'cannot set both resource and service backends')];
  if (hasRes) return typedLocalRef(sub(b, 'resource'), p.child('resource'));
  if (!svc) return [invalid(p, '', 'resource or service backend is required')];
  const out: StatusCause[] = [];
  const name = str(svc.name);
  if (!name) out.push(required(p.child('service', 'name')));
  else out.push(...nameIsDNS1035Label(name, false).map((m) => invalid(p.child('service', 'name'), name, m)));
  const port = sub(svc, 'port');
  const pn = str(port.name);
  const pnum = num(port.number) ?? 0;
  if (pn && pnum !== 0) out.push(invalid(p, '', 'cannot set both port name & port number'));
  else if (pn) out.push(...isValidPortName(pn).map((m) => invalid(p.child('service', 'port', 'name'), pn, m)));
  else if (pnum !== 0) out.push(...isValidPortNum(pnum).map((m) => invalid(p.child('service', 'port', 'number'), pnum, m)));
  else out.push(required(p, 'port name or number is required'));
  return out;
}

function typedLocalRef(r: Obj, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  if (isSet(r.apiGroup)) out.push(...isDNS1123Subdomain(str(r.apiGroup)).map((m) => invalid(p.child('apiGroup'), str(r.apiGroup), m)));
  for (const f of ['kind', 'name']) {
    const v = str(r[f]);
    if (!v) out.push(required(p.child(f)));
    else out.push(...isPathSegmentName(v).map((m) => invalid(p.child(f), v, m)));
  }
  return out;
}

function httpPath(hp: Obj, p: FieldPath): StatusCause[] {
  if (!isSet(hp.pathType)) return [required(p.child('pathType'), 'pathType must be specified')];
  const out: StatusCause[] = [];
  const pt = str(hp.pathType);
  const pth = str(hp.path);
  if (pt === 'Exact' || pt === 'Prefix') {
    if (!pth.startsWith('/')) out.push(invalid(p.child('path'), pth, 'must be an absolute path'));
    if (pth) {
      for (const seq of ['//', '/./', '/../', '%2f', '%2F']) if (pth.includes(seq)) out.push(invalid(p.child('path'), pth, `must not contain '${seq}'`));
      for (const suf of ['/..', '/.']) if (pth.endsWith(suf)) out.push(invalid(p.child('path'), pth, `cannot end with '${suf}'`));
    }
  } else if (pt === 'ImplementationSpecific') {
    if (pth && !pth.startsWith('/')) out.push(invalid(p.child('path'), pth, 'must be an absolute path'));
  } else {
    out.push(notSupported(p.child('pathType'), pt, PATH_TYPES));
  }
  out.push(...ingressBackend(sub(hp, 'backend'), p.child('backend')));
  return out;
}

function ingressSpec(o: Obj): StatusCause[] {
  const spec = sub(o, 'spec');
  const sp = path('spec');
  const out: StatusCause[] = [];
  const rules = items(spec.rules);
  if (rules.length === 0 && !isSet(spec.defaultBackend))
    out.push(invalid(sp, new GoLiteral(Array.isArray(spec.rules) ? '[]networking.IngressRule{}' : '[]networking.IngressRule(nil)'), 'either `defaultBackend` or `rules` must be specified'));
  if (isSet(spec.defaultBackend)) out.push(...ingressBackend(sub(spec, 'defaultBackend'), sp.child('defaultBackend')));
  rules.forEach((r, i) => {
    const rp = sp.child('rules').index(i);
    const host = str(r.host);
    if (host) {
      if (isIP(host)) out.push(invalid(rp.child('host'), host, 'must be a DNS name, not an IP address'));
      if (host.includes('*')) out.push(...isWildcardDNS1123Subdomain(host).map((m) => invalid(rp.child('host'), host, m)));
      else out.push(...isDNS1123Subdomain(host).map((m) => invalid(rp.child('host'), host, m)));
    }
    const http = obj(r.http);
    if (http) {
      const paths = items(http.paths);
      if (paths.length === 0) out.push(required(rp.child('http', 'paths')));
      paths.forEach((hp, j) => out.push(...httpPath(hp, rp.child('http', 'paths').index(j))));
    }
  });
  items(spec.tls).forEach((t, i) => {
    const tp = sp.child('tls').index(i);
    arr(t.hosts).forEach((h, j) => {
      const host = str(h);
      const fn = host.includes('*') ? isWildcardDNS1123Subdomain : isDNS1123Subdomain;
      out.push(...fn(host).map((m) => invalid(tp.child('hosts').index(j), host, m)));
    });
    const sn = str(t.secretName);
    if (sn) out.push(...nameIsDNSSubdomain(sn, false).map((m) => invalid(tp.child('secretName'), sn, m)));
  });
  if (isSet(spec.ingressClassName)) {
    const icn = str(spec.ingressClassName);
    out.push(...nameIsDNSSubdomain(icn, false).map((m) => invalid(sp.child('ingressClassName'), icn, m)));
  }
  return out;
}

export const ingress: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec: ingressSpec,
  createOnly(o) {
    const ann = strMap(sub(o, 'metadata').annotations) ?? {};
    const cls = ann['kubernetes.io/ingress.class'];
    const icn = sub(o, 'spec').ingressClassName;
    if (cls !== undefined && isSet(icn) && cls !== str(icn)) return [invalid(path('annotations', 'kubernetes.io/ingress.class'), cls, 'must match `ingressClassName` when both are specified')];
    return [];
  },
};

export const ingressClass: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const spec = sub(o, 'spec');
    const sp = path('spec');
    const out: StatusCause[] = [];
    const ctrl = str(spec.controller);
    if (!ctrl) out.push(required(sp.child('controller')));
    else {
      if (ctrl.length > 250) out.push(tooLong(sp.child('controller'), 250));
      const segs = ctrl.split('/');
      if (segs.length < 2 || !segs[0] || !segs.slice(1).join('/')) out.push(invalid(sp.child('controller'), ctrl, 'must be a domain-prefixed path (such as "acme.io/foo")'));
      else out.push(...isDNS1123Subdomain(segs[0]!).map((m) => invalid(sp.child('controller'), segs[0]!, m)));
    }
    const params = obj(spec.parameters);
    if (params) {
      const pp = sp.child('parameters');
      if (isSet(params.apiGroup)) out.push(...isDNS1123Subdomain(str(params.apiGroup)).map((m) => invalid(pp.child('apiGroup'), str(params.apiGroup), m)));
      for (const f of ['kind', 'name']) {
        const v = str(params[f]);
        if (!v) out.push(required(pp.child(f)));
        else out.push(...isPathSegmentName(v).map((m) => invalid(pp.child(f), v, m)));
      }
      if (!isSet(params.scope)) out.push(required(pp.child('scope')));
      else {
        const scope = str(params.scope);
        if (scope !== 'Cluster' && scope !== 'Namespace') out.push(notSupported(pp.child('scope'), scope, ['Cluster', 'Namespace']));
        else if (scope === 'Namespace') {
          if (!isSet(params.namespace)) out.push(required(pp.child('namespace'), "`parameters.scope` is set to 'Namespace'"));
          else out.push(...nameIsDNSLabel(str(params.namespace), false).map((m) => invalid(pp.child('namespace'), str(params.namespace), m)));
        } else if (isSet(params.namespace)) out.push(forbidden(pp.child('namespace'), "`parameters.scope` is set to 'Cluster'"));
      }
    }
    return out;
  },
  update(n, o) {
    const a = str(sub(n, 'spec').controller);
    return a === str(sub(o, 'spec').controller) ? [] : [invalid(path('spec', 'controller'), a, IMMUTABLE)];
  },
};

function npPort(port: Obj, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  if (isSet(port.protocol) && !['TCP', 'UDP', 'SCTP'].includes(str(port.protocol))) out.push(notSupported(p.child('protocol'), str(port.protocol), ['TCP', 'UDP', 'SCTP']));
  const pv = port.port;
  const end = num(port.endPort);
  if (typeof pv === 'number') {
    out.push(...isValidPortNum(pv).map((m) => invalid(p.child('port'), pv, m)));
    if (end !== undefined) {
      if (end < pv) out.push(invalid(p.child('endPort'), end, 'must be greater than or equal to `port`'));
      out.push(...isValidPortNum(end).map((m) => invalid(p.child('endPort'), end, m)));
    }
  } else if (typeof pv === 'string') {
    if (end !== undefined) out.push(invalid(p.child('endPort'), end, 'may not be specified when `port` is non-numeric'));
    out.push(...isValidPortName(pv).map((m) => invalid(p.child('port'), pv, m)));
  } else if (end !== undefined) {
    out.push(invalid(p.child('endPort'), end, 'may not be specified when `port` is not specified'));
  }
  return out;
}

function npPeer(peer: Obj, p: FieldPath): StatusCause[] {
  const out: StatusCause[] = [];
  let n = 0;
  if (isSet(peer.podSelector)) {
    n++;
    out.push(...validateLabelSelector(peer.podSelector, p.child('podSelector')));
  }
  if (isSet(peer.namespaceSelector)) {
    n++;
    out.push(...validateLabelSelector(peer.namespaceSelector, p.child('namespaceSelector')));
  }
  const ipb = obj(peer.ipBlock);
  if (ipb) {
    n++;
    const bp = p.child('ipBlock');
    const cidr = str(ipb.cidr);
    if (!cidr) out.push(required(bp.child('cidr')));
    else if (!isCIDR(cidr)) out.push(invalid(bp.child('cidr'), cidr, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'));
    else
      arr(ipb.except).forEach((e, i) => {
        const ex = str(e);
        if (!isCIDR(ex)) out.push(invalid(bp.child('except').index(i), ex, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'));
        else if (!cidrStrictSubset(cidr, ex)) out.push(invalid(bp.child('except').index(i), ex, 'must be a strict subset of `cidr`'));
      });
  }
  if (n === 0) out.push(required(p, 'must specify a peer'));
  else if (n > 1 && ipb) out.push(forbidden(p, 'may not specify both ipBlock and another peer'));
  return out;
}

function cidrBits(c: string): { bits: bigint; len: number; width: number } {
  const [ip, l] = c.split('/') as [string, string];
  const v6 = ip.includes(':');
  const width = v6 ? 128 : 32;
  let bits = 0n;
  if (!v6) for (const part of ip.split('.')) bits = (bits << 8n) | BigInt(Number(part));
  else {
    const [h, t] = ip.split('::') as [string, string | undefined];
    const hs = h ? h.split(':') : [];
    const ts = t !== undefined && t ? t.split(':') : [];
    const groups = [...hs, ...new Array<string>(8 - hs.length - ts.length).fill('0'), ...ts];
    for (const g of groups) bits = (bits << 16n) | BigInt(parseInt(g || '0', 16));
  }
  return { bits, len: Number(l), width };
}

function cidrStrictSubset(outer: string, inner: string): boolean {
  try {
    const o = cidrBits(outer);
    const i = cidrBits(inner);
    if (o.width !== i.width || o.len >= i.len) return false;
    const shift = BigInt(o.width - o.len);
    return o.bits >> shift === i.bits >> shift;
  } catch {
    return false;
  }
}

export const networkPolicy: KindRules = {
  nameFn: nameIsDNSSubdomain,
  spec(o) {
    const spec = sub(o, 'spec');
    const sp = path('spec');
    const out = validateLabelSelector(spec.podSelector ?? {}, sp.child('podSelector'));
    for (const [dir, peers] of [
      ['ingress', 'from'],
      ['egress', 'to'],
    ] as const)
      items(spec[dir]).forEach((rule, i) => {
        const rp = sp.child(dir).index(i);
        items(rule.ports).forEach((port, j) => out.push(...npPort(port, rp.child('ports').index(j))));
        items(rule[peers]).forEach((peer, j) => out.push(...npPeer(peer, rp.child(peers).index(j))));
      });
    const types = arr(spec.policyTypes).map(str);
    if (types.length > 2) return [...out, invalid(sp.child('policyTypes'), new GoLiteral(`&[]networking.PolicyType{${types.map((t) => JSON.stringify(t)).join(', ')}}`), 'may not specify more than two policyTypes')];
    types.forEach((t, i) => {
      if (t !== 'Ingress' && t !== 'Egress') out.push(notSupported(sp.child('policyTypes').index(i), t, ['Ingress', 'Egress']));
    });
    return out;
  },
};
