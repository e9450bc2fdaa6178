import { isIPv4, isIPv6 } from 'node:net';

// Small, pure helpers for the names cluster DNS serves: case folding, the dashed-IP labels of pod and
// endpoint names, and the reverse (PTR) names of IPv4 and IPv6 addresses.

/** Lower-case and without the trailing root dot: how every name is compared. */
export function canonicalName(name: string): string {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  return n.toLowerCase();
}

/** `10.1.2.3` → `10-1-2-3`; `fd00::1` → `fd00--1`: a single DNS label for an address. */
export function dashedIP(ip: string): string {
  return ip.replace(/[.:]/g, '-');
}

/** The inverse of dashedIP, or undefined when the label is no address. */
export function ipFromDashed(label: string): string | undefined {
  const v4 = label.replace(/-/g, '.');
  if (isIPv4(v4)) return v4;
  const v6 = label.replace(/-/g, ':');
  if (isIPv6(v6)) return canonicalIPv6(v6);
  return undefined;
}

/** RFC 5952 form, as the API server stores ClusterIPs and endpoint addresses. */
export function canonicalIPv6(ip: string): string {
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

export type ReverseName = { kind: 'ip'; ip: string } | { kind: 'partial' } | { kind: 'invalid' };

/**
 * Parse a name under in-addr.arpa or ip6.arpa (already canonical). A name with fewer labels than a whole
 * address (a reverse zone's inner node, e.g. `10.in-addr.arpa`) is 'partial'.
 */
export function parseReverseName(name: string): ReverseName | undefined {
  if (name === 'in-addr.arpa' || name === 'ip6.arpa') return { kind: 'partial' };
  if (name.endsWith('.in-addr.arpa')) {
    const labels = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (labels.some((l) => !/^\d{1,3}$/.test(l) || Number(l) > 255)) return { kind: 'invalid' };
    if (labels.length < 4) return { kind: 'partial' };
    if (labels.length > 4) return { kind: 'invalid' };
    return { kind: 'ip', ip: labels.reverse().map(Number).join('.') };
  }
  if (name.endsWith('.ip6.arpa')) {
    const nibbles = name.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.some((l) => !/^[0-9a-f]$/.test(l))) return { kind: 'invalid' };
    if (nibbles.length < 32) return { kind: 'partial' };
    if (nibbles.length > 32) return { kind: 'invalid' };
    const hex = nibbles.reverse().join('');
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4));
    return { kind: 'ip', ip: canonicalIPv6(groups.join(':')) };
  }
  return undefined;
}

/** `name` is `zone` or a name below it. */
export function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}
