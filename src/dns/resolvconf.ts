import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Upstream } from './forward.js';

// The node's own resolvers, where names outside the cluster go: the `nameserver` lines of resolv.conf,
// as CoreDNS's default `forward . /etc/resolv.conf` reads them.

export function parseResolvConf(text: string): Upstream[] {
  const out: Upstream[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const m = /^nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    // A scoped IPv6 address (fe80::1%eth0) is usable by the socket API as it is.
    const address = m[1]!;
    if (isIP(address.split('%')[0]!) === 0) continue;
    out.push({ address, port: 53 });
  }
  return out;
}

export function upstreamsFromResolvConf(path = '/etc/resolv.conf'): Upstream[] {
  try {
    return parseResolvConf(readFileSync(path, 'utf8'));
  } catch {
    return [];
  }
}
