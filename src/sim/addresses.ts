// Addresses of simulated nodes and their pods. They are labels only: nothing ever sends traffic to them, so
// they come from 240.0.0.0/4, the reserved block no network routes (the documentation ranges hold 768
// addresses, too few for thousands of nodes with a hundred pods each). Each node owns one /24: .1 is its
// InternalIP, .2–.254 are its pods' IPs. The block is a function of the node's name alone, so a restarted
// simulator finds the same addresses (spec.podCIDR may not change once set).

const BASE = 240 << 24;
const REGION_BITS = 6;
const ORDINAL_BITS = 14;
export const FIRST_POD_OFFSET = 2;
export const LAST_POD_OFFSET = 254;

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function dotted(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The first address of a node's /24: a region picked by the name prefix, then the node's ordinal. */
export function nodeBlock(prefix: string, ordinal: number): number {
  const region = fnv1a(prefix) & ((1 << REGION_BITS) - 1);
  const ord = ordinal & ((1 << ORDINAL_BITS) - 1);
  return (BASE | (region << (ORDINAL_BITS + 8)) | (ord << 8)) >>> 0;
}

export interface NodeAddresses {
  hostIP: string;
  podCIDR: string;
  /** The pod IP at `offset` (FIRST_POD_OFFSET..LAST_POD_OFFSET) in the node's block. */
  podIP(offset: number): string;
}

export function nodeAddresses(prefix: string, ordinal: number): NodeAddresses {
  const block = nodeBlock(prefix, ordinal);
  return {
    hostIP: dotted(block + 1),
    podCIDR: `${dotted(block)}/24`,
    podIP: (offset) => dotted(block + offset),
  };
}

/** The offset of `ip` inside the /24 whose InternalIP is `hostIP`, or undefined when it lies elsewhere. */
export function offsetInBlock(hostIP: string, ip: string | undefined): number | undefined {
  if (!ip) return undefined;
  const h = hostIP.split('.');
  const p = ip.split('.');
  if (p.length !== 4 || h[0] !== p[0] || h[1] !== p[1] || h[2] !== p[2]) return undefined;
  const n = Number(p[3]);
  return Number.isInteger(n) ? n : undefined;
}
