import type { DnsConfig, PodSandboxConfig } from '../interface.js';

// The files every container of a pod sees at /etc/hosts, /etc/resolv.conf and /etc/hostname. They are written
// once per sandbox and bind-mounted into each container, so all containers agree on them.

export function hostsFile(config: PodSandboxConfig, podIP: string | undefined): string {
  const lines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  if (podIP) {
    const names = config.hostnameFqdn && config.hostnameFqdn !== config.hostname ? [config.hostnameFqdn, config.hostname] : [config.hostname];
    lines.push(`${podIP}\t${names.join('\t')}`);
  }
  if (config.hostAliases.length) {
    lines.push('', '# Entries added by HostAliases.');
    for (const a of config.hostAliases) lines.push(`${a.ip}\t${a.hostnames.join('\t')}`);
  }
  return `${lines.join('\n')}\n`;
}

export function resolvConf(dns: DnsConfig): string {
  const lines: string[] = [];
  if (dns.searches.length) lines.push(`search ${dns.searches.join(' ')}`);
  for (const s of dns.servers) lines.push(`nameserver ${s}`);
  if (dns.options.length) lines.push(`options ${dns.options.join(' ')}`);
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** hostNetwork pods use the node's resolver, with the pod's host aliases added to the node's hosts file. */
export function hostNetworkHostsFile(nodeHosts: string, config: PodSandboxConfig): string {
  let text = nodeHosts.endsWith('\n') || nodeHosts === '' ? nodeHosts : `${nodeHosts}\n`;
  if (config.hostAliases.length) {
    text += '\n# Entries added by HostAliases.\n';
    for (const a of config.hostAliases) text += `${a.ip}\t${a.hostnames.join('\t')}\n`;
  }
  return text;
}
