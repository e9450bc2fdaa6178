import type { KubeObject } from '../../api/object.js';
import { StatusError, invalid, type StatusCause } from '../../api/errors.js';

// ClusterIP and NodePort allocation for Services. The allocated set is rebuilt from the stored services
// (the source of truth) and kept in memory; writes that allocate are serialised so two creates never pick the
// same address. Messages follow kube-apiserver's.

export interface Cidr {
  base: number;
  bits: number;
  text: string;
}

export function parseCidr(text: string): Cidr {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`invalid CIDR "${text}": expected a.b.c.d/n`);
  const bits = Number(m[5]);
  const ip = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
  if (bits < 8 || bits > 30) throw new Error(`invalid CIDR "${text}": prefix length must be between 8 and 30`);
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return { base: (ip & mask) >>> 0, bits, text };
}

export function ipToString(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function ipToNumber(s: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (!m) return undefined;
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

export class ServiceAllocator {
  private usedIps = new Set<number>();
  private usedPorts = new Set<number>();
  private size: number;
  private nextIp = 2;
  private nextPort: number;

  constructor(
    readonly cidr: Cidr,
    readonly portRange: { min: number; max: number },
  ) {
    this.size = 2 ** (32 - cidr.bits);
    this.nextPort = portRange.min;
  }

  /** The first address of the range belongs to the `kubernetes` service. */
  get kubernetesServiceIp(): string {
    return ipToString(this.cidr.base + 1);
  }

  load(services: KubeObject[]): void {
    this.usedIps.clear();
    this.usedPorts.clear();
    for (const s of services) this.reserveExisting(s);
  }

  private reserveExisting(svc: KubeObject): void {
    const spec = (svc.spec ?? {}) as { clusterIP?: string; ports?: Array<{ nodePort?: number }> };
    const n = spec.clusterIP ? ipToNumber(spec.clusterIP) : undefined;
    if (n !== undefined) this.usedIps.add(n);
    for (const p of spec.ports ?? []) if (p.nodePort) this.usedPorts.add(p.nodePort);
  }

  private inRange(n: number): boolean {
    return n > this.cidr.base && n < this.cidr.base + this.size - 1;
  }

  /** Allocate what a new or updated service needs; `old` is the stored version on update. */
  allocate(svc: KubeObject, old: KubeObject | undefined): void {
    const spec = (svc.spec ??= {}) as {
      type?: string;
      clusterIP?: string;
      clusterIPs?: string[];
      ports?: Array<{ nodePort?: number; port?: number; protocol?: string }>;
    };
    const name = svc.metadata.name ?? '';
    const type = spec.type ?? 'ClusterIP';
    const causes: StatusCause[] = [];
    const oldSpec = (old?.spec ?? {}) as typeof spec;
    const oldIp = oldSpec.clusterIP;
    const oldPorts = new Set((oldSpec.ports ?? []).map((p) => p.nodePort).filter((x): x is number => !!x));

    if (type === 'ExternalName') {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    } else if (old && oldIp) {
      spec.clusterIP ??= oldIp;
    } else if (spec.clusterIP === 'None') {
      spec.clusterIPs = ['None'];
    } else if (spec.clusterIP) {
      const n = ipToNumber(spec.clusterIP);
      if (n === undefined || !this.inRange(n)) {
        causes.push({ reason: 'FieldValueInvalid', field: 'spec.clusterIPs', message: `Invalid value: []string{"${spec.clusterIP}"}: failed to allocate IP ${spec.clusterIP}: the provided IP (${spec.clusterIP}) is not in the valid range. The range of valid IPs is ${this.cidr.text}` });
      } else if (this.usedIps.has(n)) {
        causes.push({ reason: 'FieldValueInvalid', field: 'spec.clusterIPs', message: `Invalid value: []string{"${spec.clusterIP}"}: failed to allocate IP ${spec.clusterIP}: provided IP is already allocated` });
      } else {
        this.usedIps.add(n);
      }
      spec.clusterIPs = [spec.clusterIP];
    } else {
      spec.clusterIP = ipToString(this.pickIp(name));
      spec.clusterIPs = [spec.clusterIP];
    }

    if (type === 'NodePort' || type === 'LoadBalancer') {
      for (let i = 0; i < (spec.ports ?? []).length; i++) {
        const p = spec.ports![i]!;
        if (p.nodePort) {
          if (oldPorts.has(p.nodePort)) continue;
          if (p.nodePort < this.portRange.min || p.nodePort > this.portRange.max) {
            causes.push({ reason: 'FieldValueInvalid', field: `spec.ports[${i}].nodePort`, message: `Invalid value: ${p.nodePort}: provided port is not in the valid range. The range of valid ports is ${this.portRange.min}-${this.portRange.max}` });
          } else if (this.usedPorts.has(p.nodePort)) {
            causes.push({ reason: 'FieldValueInvalid', field: `spec.ports[${i}].nodePort`, message: `Invalid value: ${p.nodePort}: provided port is already allocated` });
          } else {
            this.usedPorts.add(p.nodePort);
          }
        } else {
          p.nodePort = this.pickPort(name);
        }
      }
    } else {
      for (const p of spec.ports ?? []) delete p.nodePort;
    }
    if (causes.length) {
      this.release(svc, old);
      throw invalid('Service', '', name, causes);
    }
  }

  /** Give back what `svc` holds and `keep` (the surviving version, if any) does not. */
  release(svc: KubeObject, keep?: KubeObject): void {
    const spec = (svc.spec ?? {}) as { clusterIP?: string; ports?: Array<{ nodePort?: number }> };
    const k = (keep?.spec ?? {}) as typeof spec;
    const n = spec.clusterIP ? ipToNumber(spec.clusterIP) : undefined;
    if (n !== undefined && spec.clusterIP !== k.clusterIP) this.usedIps.delete(n);
    const kept = new Set((k.ports ?? []).map((p) => p.nodePort));
    for (const p of spec.ports ?? []) if (p.nodePort && !kept.has(p.nodePort)) this.usedPorts.delete(p.nodePort);
  }

  private pickIp(name: string): number {
    for (let i = 0; i < this.size; i++) {
      const off = ((this.nextIp + i - 2) % (this.size - 3)) + 2;
      const n = this.cidr.base + off;
      if (!this.usedIps.has(n)) {
        this.usedIps.add(n);
        this.nextIp = off + 1;
        return n;
      }
    }
    throw new StatusError(500, 'InternalError', `Internal error occurred: failed to allocate a serviceIP for service "${name}": range is full`);
  }

  private pickPort(name: string): number {
    const span = this.portRange.max - this.portRange.min + 1;
    for (let i = 0; i < span; i++) {
      const p = this.portRange.min + ((this.nextPort - this.portRange.min + i) % span);
      if (!this.usedPorts.has(p)) {
        this.usedPorts.add(p);
        this.nextPort = p + 1;
        return p;
      }
    }
    throw new StatusError(500, 'InternalError', `Internal error occurred: failed to allocate a nodePort for service "${name}": range is full`);
  }
}
