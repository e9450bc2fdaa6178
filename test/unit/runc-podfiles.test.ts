import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayOf, PodNetwork } from '../../src/runtime/cni/network.js';
import { splitRule } from '../../src/runtime/cni/hostports.js';
import type { PodSandboxConfig } from '../../src/runtime/interface.js';
import { hostNetworkHostsFile, hostsFile, resolvConf } from '../../src/runtime/runc/podfiles.js';
import { parseCriLogLine } from '../../src/runtime/runc/streams.js';

const pod: PodSandboxConfig = {
  podUid: 'u',
  name: 'web-0',
  namespace: 'default',
  attempt: 0,
  hostname: 'web-0',
  hostnameFqdn: 'web-0.web.default.svc.cluster.local',
  dns: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'], options: ['ndots:5'] },
  hostAliases: [{ ip: '10.0.0.9', hostnames: ['foo.local', 'bar.local'] }],
  portMappings: [],
  hostNetwork: false,
  shareProcessNamespace: false,
  labels: {},
  annotations: {},
};

test('/etc/hosts: localhost, the pod IP with FQDN and hostname, host aliases', () => {
  const text = hostsFile(pod, '10.88.1.7');
  assert.match(text, /^127\.0\.0\.1\tlocalhost$/m);
  assert.match(text, /^10\.88\.1\.7\tweb-0\.web\.default\.svc\.cluster\.local\tweb-0$/m);
  assert.match(text, /^10\.0\.0\.9\tfoo\.local\tbar\.local$/m);
  assert.ok(text.endsWith('\n'));
  assert.match(hostNetworkHostsFile('127.0.0.1 localhost', pod), /^127\.0\.0\.1 localhost\n\n# Entries added by HostAliases\.\n10\.0\.0\.9\tfoo\.local\tbar\.local\n$/);
});

test('/etc/resolv.conf from the pod DNS config', () => {
  assert.equal(resolvConf(pod.dns), 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');
  assert.equal(resolvConf({ servers: [], searches: [], options: [] }), '');
});

test('CNI: gateway of the pod CIDR, portmap only with host ports', () => {
  assert.equal(gatewayOf('10.88.1.0/24'), '10.88.1.1');
  assert.equal(gatewayOf('10.244.3.128/25'), '10.244.3.129');
  assert.throws(() => gatewayOf('fd00::/64'), /IPv4 subnet/);
  const net = new PodNetwork({ dataDir: '/d/cni', bridge: 'kiteb0', podCidr: '10.88.1.0/24', mtu: 1400 });
  const plain = net.networkList(false);
  assert.deepEqual(plain.plugins.map((p) => p.type), ['bridge']);
  assert.equal(plain.plugins[0]!.hairpinMode, true);
  assert.equal(plain.plugins[0]!.mtu, 1400);
  assert.deepEqual(net.networkList(true).plugins.map((p) => p.type), ['bridge', 'portmap']);
});

test('CRI log lines and iptables rules parse', () => {
  assert.deepEqual(parseCriLogLine('2026-11-21T22:59:05.084011587+00:00 stdout F line 1'), { stream: 'stdout', partial: false, content: 'line 1' });
  assert.deepEqual(parseCriLogLine('2026-11-21T22:59:05.084011587+00:00 stderr P '), { stream: 'stderr', partial: true, content: '' });
  assert.equal(parseCriLogLine('garbage'), undefined);
  assert.deepEqual(splitRule('-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ'), [
    '-A', 'POSTROUTING', '-m', 'comment', '--comment', 'CNI portfwd requiring masquerade', '-j', 'CNI-HOSTPORT-MASQ',
  ]);
});
