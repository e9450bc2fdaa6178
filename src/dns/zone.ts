import { isIPv4 } from 'node:net';
import type { Answer, SrvAnswer, StringAnswer } from 'dns-packet';
import type { ClusterIndex, DnsEndpoint, DnsService } from './clusterindex.js';
import { ipFromDashed, parseReverseName } from './names.js';

// The records of the cluster zone, after the Kubernetes DNS-based service discovery specification
// (schema 1.1.0): services, headless services' endpoints, named ports as SRV, ExternalName as CNAME, the
// deprecated dashed pod names, PTR records for what the cluster owns, and SOA-backed negative answers.
// Everything is computed from the in-memory ClusterIndex; this module knows nothing of sockets or bytes.

export const SCHEMA_VERSION = '1.1.0';

export type Rcode = 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED' | 'FORMERR' | 'NOTIMP';

export interface ZoneAnswer {
  rcode: Rcode;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  /** An ExternalName's target outside the zone: its records are the upstream's to give. */
  chase?: string;
}

const MAX_CHASE = 8;

export class ClusterZone {
  /** SOA serial: when this server started; clients only compare it for zone transfers, which we do not do. */
  private readonly serial = Math.floor(Date.now() / 1000) >>> 0;

  constructor(
    private readonly index: ClusterIndex,
    readonly zone: string,
    readonly ttl: number,
  ) {}

  /**
   * The answer for a canonical (lower-case, no trailing dot) name, or undefined when the name is not this
   * server's to answer (outside the zone, or a reverse name of an address the cluster does not own).
   */
  answer(name: string, type: string, depth = 0): ZoneAnswer | undefined {
    const rev = parseReverseName(name);
    if (rev) return rev.kind === 'ip' && type === 'PTR' ? this.reverse(name, rev.ip) : undefined;
    if (name !== this.zone && !name.endsWith(`.${this.zone}`)) return undefined;
    const rel = name === this.zone ? [] : name.slice(0, -this.zone.length - 1).split('.');
    const res = this.inZone(name, rel, type);
    if (res.chase && depth < MAX_CHASE && (res.chase === this.zone || res.chase.endsWith(`.${this.zone}`))) {
      // An ExternalName pointing back into the cluster: follow it here rather than upstream.
      const next = this.answer(res.chase, type, depth + 1);
      if (next) return { ...next, answers: [...res.answers, ...next.answers], chase: next.chase };
    }
    return res;
  }

  soa(): Answer {
    return {
      name: this.zone,
      type: 'SOA',
      ttl: this.ttl,
      class: 'IN',
      data: { mname: `ns.dns.${this.zone}`, rname: `hostmaster.${this.zone}`, serial: this.serial, refresh: 7200, retry: 1800, expire: 86400, minimum: this.ttl },
    };
  }

  private inZone(name: string, rel: string[], type: string): ZoneAnswer {
    const n = rel.length;
    if (n === 0) {
      if (type === 'SOA') return this.ok([this.soa()]);
      return this.nodata();
    }
    if (n === 1 && rel[0] === 'dns-version') {
      return type === 'TXT' ? this.ok([{ name, type: 'TXT', ttl: this.ttl, class: 'IN', data: [SCHEMA_VERSION] }]) : this.nodata();
    }
    // The SOA names this server as ns.dns.<zone>; the name exists even though it has no address here.
    if (n <= 2 && rel[n - 1] === 'dns' && (n === 1 || rel[0] === 'ns')) return this.nodata();
    const kind = rel[n - 1];
    if (kind === 'svc') return this.serviceTree(name, rel, type);
    if (kind === 'pod') return this.podTree(name, rel, type);
    return this.nxdomain();
  }

  /** `[...].<svc>.<ns>.svc.<zone>`; rel ends with 'svc'. */
  private serviceTree(name: string, rel: string[], type: string): ZoneAnswer {
    const n = rel.length;
    if (n === 1) return this.nodata();
    const ns = rel[n - 2]!;
    if (n === 2) return this.index.hasNamespace(ns) ? this.nodata() : this.nxdomain();
    const svc = this.index.service(ns, rel[n - 3]!);
    if (!svc) return this.nxdomain();
    if (n === 3) return this.serviceRecords(name, svc, type);
    if (n === 4) {
      const label = rel[0]!;
      if (label.startsWith('_')) return this.portsOf(svc).some((p) => `_${p.protocol}` === label) ? this.nodata() : this.nxdomain();
      return this.endpointRecords(name, svc, label, type);
    }
    if (n === 5 && rel[0]!.startsWith('_') && rel[1]!.startsWith('_')) return this.srvRecords(name, svc, rel[0]!.slice(1), rel[1]!.slice(1), type);
    return this.nxdomain();
  }

  /** `<a-b-c-d>.<ns>.pod.<zone>`: any well-formed address answers, as kube-dns did ("pods insecure"). */
  private podTree(name: string, rel: string[], type: string): ZoneAnswer {
    if (rel.length <= 2) return this.nodata();
    if (rel.length > 3) return this.nxdomain();
    const ip = ipFromDashed(rel[0]!);
    if (!ip) return this.nxdomain();
    return this.addressAnswer(name, [ip], type);
  }

  private serviceRecords(name: string, svc: DnsService, type: string): ZoneAnswer {
    if (svc.kind === 'ExternalName') {
      if (!svc.externalName) return this.nodata();
      const cname: Answer = { name, type: 'CNAME', ttl: this.ttl, class: 'IN', data: svc.externalName };
      if (type === 'CNAME') return this.ok([cname]);
      return { ...this.ok([cname]), chase: svc.externalName };
    }
    if (svc.kind === 'ClusterIP') {
      if (type === 'SRV') return this.srvAnswer(svc.ports.map((p) => ({ port: p.port, target: name, ips: svc.clusterIPs })), name);
      return this.addressAnswer(name, svc.clusterIPs, type);
    }
    const eps = this.index.endpoints(svc.namespace, svc.name);
    // The spec: a headless service without ready endpoints does not exist.
    if (eps.length === 0) return this.nxdomain();
    if (type === 'SRV') return this.srvAnswer(eps.flatMap((ep) => ep.ports.map((p) => this.endpointTarget(svc, ep, p.port))), name);
    return this.addressAnswer(
      name,
      eps.flatMap((ep) => ep.addresses),
      type,
    );
  }

  private endpointRecords(name: string, svc: DnsService, hostname: string, type: string): ZoneAnswer {
    const ips = this.index
      .endpoints(svc.namespace, svc.name)
      .filter((ep) => ep.hostname === hostname)
      .flatMap((ep) => ep.addresses);
    if (ips.length === 0) return this.nxdomain();
    return this.addressAnswer(name, ips, type);
  }

  private srvRecords(name: string, svc: DnsService, port: string, proto: string, type: string): ZoneAnswer {
    const matches = (p: { name: string; protocol: string }) => p.name !== '' && p.name === port && p.protocol === proto;
    const targets: Array<{ port: number; target: string; ips: string[] }> = [];
    if (svc.kind === 'Headless') {
      for (const ep of this.index.endpoints(svc.namespace, svc.name)) for (const p of ep.ports) if (matches(p)) targets.push(this.endpointTarget(svc, ep, p.port));
    } else {
      const target = svc.kind === 'ExternalName' ? svc.externalName : `${svc.name}.${svc.namespace}.svc.${this.zone}`;
      if (target) for (const p of svc.ports) if (matches(p)) targets.push({ port: p.port, target, ips: svc.clusterIPs });
    }
    if (targets.length === 0) return this.nxdomain();
    if (type !== 'SRV') return this.nodata();
    return this.srvAnswer(targets, name);
  }

  private endpointTarget(svc: DnsService, ep: DnsEndpoint, port: number): { port: number; target: string; ips: string[] } {
    return { port, target: `${ep.hostname}.${svc.name}.${svc.namespace}.svc.${this.zone}`, ips: ep.addresses };
  }

  /** SRV records (equal priority, weight shared), with the targets' addresses in the additional section. */
  private srvAnswer(targets: Array<{ port: number; target: string; ips: string[] }>, owner: string): ZoneAnswer {
    if (targets.length === 0) return this.nodata();
    const weight = Math.max(1, Math.floor(100 / targets.length));
    const answers: SrvAnswer[] = [];
    const additionals: Answer[] = [];
    const added = new Set<string>();
    for (const t of targets) {
      answers.push({ name: owner, type: 'SRV', ttl: this.ttl, class: 'IN', data: { priority: 0, weight, port: t.port, target: t.target } });
      for (const ip of t.ips) {
        const k = `${t.target}|${ip}`;
        if (added.has(k)) continue;
        added.add(k);
        additionals.push(this.address(t.target, ip));
      }
    }
    return { rcode: 'NOERROR', answers, authorities: [], additionals };
  }

  private reverse(name: string, ip: string): ZoneAnswer | undefined {
    const names = this.index.namesForIP(ip);
    if (names.length === 0) return undefined;
    return this.ok(names.map((target): StringAnswer => ({ name, type: 'PTR', ttl: this.ttl, class: 'IN', data: target })));
  }

  private addressAnswer(name: string, ips: string[], type: string): ZoneAnswer {
    const want = (ip: string) => (type === 'ANY' ? true : type === 'A' ? isIPv4(ip) : type === 'AAAA' ? !isIPv4(ip) : false);
    const seen = new Set<string>();
    const answers: Answer[] = [];
    for (const ip of ips) {
      if (!want(ip) || seen.has(ip)) continue;
      seen.add(ip);
      answers.push(this.address(name, ip));
    }
    return answers.length ? this.ok(answers) : this.nodata();
  }

  private address(name: string, ip: string): StringAnswer {
    return { name, type: isIPv4(ip) ? 'A' : 'AAAA', ttl: this.ttl, class: 'IN', data: ip };
  }

  private portsOf(svc: DnsService): Array<{ protocol: string }> {
    if (svc.kind !== 'Headless') return svc.ports;
    return this.index.endpoints(svc.namespace, svc.name).flatMap((ep) => ep.ports);
  }

  private ok(answers: Answer[]): ZoneAnswer {
    return { rcode: 'NOERROR', answers, authorities: [], additionals: [] };
  }

  /** The name exists but has no records of the asked type: NOERROR, no answers, the SOA for negative caching. */
  private nodata(): ZoneAnswer {
    return { rcode: 'NOERROR', answers: [], authorities: [this.soa()], additionals: [] };
  }

  private nxdomain(): ZoneAnswer {
    return { rcode: 'NXDOMAIN', answers: [], authorities: [this.soa()], additionals: [] };
  }
}
