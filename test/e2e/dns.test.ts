import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import * as packet from 'dns-packet';
import type { DecodedPacket, RecordType, SrvAnswer, StringAnswer } from 'dns-packet';
import { configFromKubeconfig, RestClient } from '../../src/client/rest.js';
import { startClusterDns, type ClusterDns } from '../../src/dns/server.js';
import { startStaticDns, type StaticDns } from '../../src/dns/staticserver.js';
import { freePort, run, startCluster, waitFor, type Cluster } from '../helpers/cluster.js';

// Cluster DNS against a real `kite server --disable-agent`: services made with kubectl, a headless service
// whose EndpointSlices the real controller builds from pods with a hostname and subdomain (as a StatefulSet
// makes them), one with hand-made slices, ExternalName, and forwarding to a stub upstream this test starts
// on 127.0.0.1 (never the host's resolver). Queried with dns-packet over UDP and TCP, and with busybox nslookup.

let c: Cluster;
let client: RestClient;
let dns: ClusterDns;
let upstream: StaticDns;
let port: number;

before(async () => {
  c = await startCluster({ extraArgs: ['--disable-controllers', 'scheduler'] });
  client = new RestClient(configFromKubeconfig(c.kubeconfig, 'kite-dns-test'));
  upstream = await startStaticDns({ records: { 'example.org': [{ name: 'example.org', type: 'A', ttl: 60, class: 'IN', data: '192.0.2.7' }] } });
  port = await freePort();
  dns = await startClusterDns({ client, listen: [{ address: '127.0.0.1', port }], clusterDomain: 'cluster.local', upstreams: [{ address: upstream.address, port: upstream.port }], log: () => undefined });
  await dns.ready();
});

after(async () => {
  await dns?.stop();
  client?.close();
  await upstream?.stop();
  await c?.stop();
});

let nextId = 1;
function encodeQuery(name: string, type: RecordType): Buffer {
  nextId = (nextId + 1) & 0xffff;
  return packet.encode({ type: 'query', id: nextId, flags: packet.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }] });
}

function ask(name: string, type: RecordType = 'A'): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`no answer for ${name} ${type} within 3 s`));
    }, 3000);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(packet.decode(m));
    });
    s.send(encodeQuery(name, type), port, '127.0.0.1');
  });
}

function askTcp(name: string, type: RecordType = 'A'): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no TCP answer for ${name} within 3 s`));
    }, 3000);
    sock.on('connect', () => {
      const q = encodeQuery(name, type);
      sock.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 0xff]), q]));
    });
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        sock.destroy();
        resolve(packet.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
      }
    });
    sock.on('error', reject);
  });
}

const rcode = (p: DecodedPacket) => (p as DecodedPacket & { rcode: string }).rcode;
const records = (p: DecodedPacket, type = 'A') =>
  (p.answers ?? [])
    .filter((a) => a.type === type)
    .map((a) => (a as StringAnswer).data)
    .sort();

/** Poll until the answer to `name` is `want` (the informers see the change shortly after kubectl returns). */
async function expectA(name: string, want: string[]): Promise<void> {
  await waitFor(`${name} to resolve to ${want.join(',') || 'NXDOMAIN'}`, async () => {
    const r = await ask(name);
    return want.length === 0 ? rcode(r) === 'NXDOMAIN' : JSON.stringify(records(r)) === JSON.stringify([...want].sort());
  });
}

async function apply(yaml: string): Promise<void> {
  const r = await c.kubectl(['apply', '-f', '-'], { input: yaml });
  assert.equal(r.code, 0, r.stderr);
}

test('kubernetes.default and a ClusterIP service made with kubectl resolve; deleted, it is NXDOMAIN', async () => {
  const kubeIP = (await c.k('get', 'service', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}')).trim();
  await expectA('kubernetes.default.svc.cluster.local', [kubeIP]);
  const k = await ask('Kubernetes.Default.SVC.cluster.local.');
  assert.equal(k.flag_aa, true);
  assert.equal((k.answers?.[0] as StringAnswer).ttl, 5);

  await c.k('create', 'service', 'clusterip', 'web', '--tcp=80:8080');
  const ip = (await c.k('get', 'service', 'web', '-o', 'jsonpath={.spec.clusterIP}')).trim();
  await expectA('web.default.svc.cluster.local', [ip]);
  assert.deepEqual(records(await askTcp('web.default.svc.cluster.local')), [ip]);

  const srv = await ask('_80-8080._tcp.web.default.svc.cluster.local', 'SRV');
  assert.equal(((srv.answers ?? [])[0] as SrvAnswer | undefined)?.data.port, 80, 'kubectl names the port 80-8080');

  const ptrName = `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  assert.deepEqual(records(await ask(ptrName, 'PTR'), 'PTR'), ['web.default.svc.cluster.local']);

  const aaaa = await ask('web.default.svc.cluster.local', 'AAAA');
  assert.equal(rcode(aaaa), 'NOERROR');
  assert.equal(aaaa.answers?.length ?? 0, 0);
  assert.equal(aaaa.authorities?.[0]?.type, 'SOA');

  const ghost = await ask('ghost.default.svc.cluster.local');
  assert.equal(rcode(ghost), 'NXDOMAIN');
  assert.equal(ghost.authorities?.[0]?.type, 'SOA');

  await c.k('delete', 'service', 'web');
  await expectA('web.default.svc.cluster.local', []);
});

test('StatefulSet-style pods: the endpointslice controller publishes hostnames through the subdomain', async () => {
  await apply('apiVersion: v1\nkind: Node\nmetadata: {name: dns-n1}\n');
  await apply(`apiVersion: v1
kind: Service
metadata: {name: pets}
spec:
  clusterIP: None
  selector: {app: pets}
  ports: [{name: http, port: 80, targetPort: 8080}]
`);
  for (const [i, ip] of [
    [0, '10.42.1.10'],
    [1, '10.42.1.11'],
  ] as const) {
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: web-${i}, labels: {app: pets}}
spec:
  hostname: web-${i}
  subdomain: pets
  nodeName: dns-n1
  containers: [{name: c, image: nginx, ports: [{name: http, containerPort: 8080}]}]
`);
    const status = {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      hostIP: '192.168.0.1',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') }],
    };
    await c.k('patch', 'pod', `web-${i}`, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status }));
  }
  await expectA('pets.default.svc.cluster.local', ['10.42.1.10', '10.42.1.11']);
  await expectA('web-0.pets.default.svc.cluster.local', ['10.42.1.10']);
  await expectA('web-1.pets.default.svc.cluster.local', ['10.42.1.11']);
  const srv = await ask('_http._tcp.pets.default.svc.cluster.local', 'SRV');
  assert.deepEqual(
    ((srv.answers ?? []) as SrvAnswer[]).map((a) => `${a.data.target}:${a.data.port}`).sort(),
    ['web-0.pets.default.svc.cluster.local:8080', 'web-1.pets.default.svc.cluster.local:8080'],
  );
  assert.deepEqual(records({ ...srv, answers: srv.additionals }), ['10.42.1.10', '10.42.1.11']);
  assert.deepEqual(records(await ask('10.1.42.10.in-addr.arpa', 'PTR'), 'PTR'), ['web-0.pets.default.svc.cluster.local']);

  // Not ready any more: gone from DNS.
  await c.k('patch', 'pod', 'web-1', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'False' }] } }));
  await expectA('pets.default.svc.cluster.local', ['10.42.1.10']);
  await expectA('web-1.pets.default.svc.cluster.local', []);
});

test('a headless service with hand-made EndpointSlices; pod names; ExternalName; forwarding to the stub upstream', async () => {
  await c.k('create', 'namespace', 'dns-e2e');
  await apply(`apiVersion: v1
kind: Service
metadata: {name: db, namespace: dns-e2e}
spec:
  clusterIP: None
  ports: [{name: pg, port: 5432}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: db-1, namespace: dns-e2e, labels: {kubernetes.io/service-name: db}}
addressType: IPv4
ports: [{name: pg, port: 5432, protocol: TCP}]
endpoints:
- {addresses: [10.42.2.5], hostname: db-0, conditions: {ready: true}}
- {addresses: [10.42.2.6], conditions: {ready: true}}
- {addresses: [10.42.2.7], hostname: db-2, conditions: {ready: false}}
`);
  await expectA('db.dns-e2e.svc.cluster.local', ['10.42.2.5', '10.42.2.6']);
  await expectA('db-0.db.dns-e2e.svc.cluster.local', ['10.42.2.5']);
  await expectA('10-42-2-6.db.dns-e2e.svc.cluster.local', ['10.42.2.6']);
  assert.equal(rcode(await ask('db-2.db.dns-e2e.svc.cluster.local')), 'NXDOMAIN');
  // What ndots:5 with the pod's search path asks first for an already qualified name.
  assert.equal(rcode(await ask('db.dns-e2e.svc.cluster.local.dns-e2e.svc.cluster.local')), 'NXDOMAIN');
  assert.deepEqual(records(await ask('10-42-9-9.dns-e2e.pod.cluster.local')), ['10.42.9.9']);

  await c.k('create', 'service', 'externalname', 'ext', '-n', 'dns-e2e', '--external-name', 'example.org');
  await waitFor('ext to be a CNAME', async () => (await ask('ext.dns-e2e.svc.cluster.local')).answers?.some((a) => a.type === 'CNAME'));
  const ext = await ask('ext.dns-e2e.svc.cluster.local');
  assert.deepEqual(
    (ext.answers ?? []).map((a) => `${a.type} ${(a as StringAnswer).data}`),
    ['CNAME example.org', 'A 192.0.2.7'],
  );

  const before = upstream.counts.udp;
  const fwd = await ask('example.org');
  assert.equal(rcode(fwd), 'NOERROR');
  assert.deepEqual(records(fwd), ['192.0.2.7']);
  assert.equal(rcode(await ask('nothing.example.org')), 'NXDOMAIN');
  assert.ok(upstream.counts.udp > before, 'the stub upstream was asked');
});

test('busybox nslookup resolves cluster and forwarded names through cluster DNS', async () => {
  const server = `127.0.0.1:${port}`;
  const kubeIP = (await c.k('get', 'service', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}')).trim();
  const r = await run('busybox', ['nslookup', 'kubernetes.default.svc.cluster.local', server], { timeoutMs: 15_000 });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`Address: ${kubeIP.replace(/\./g, '\\.')}`));
  const fwd = await run('busybox', ['nslookup', 'example.org', server], { timeoutMs: 15_000 });
  assert.equal(fwd.code, 0, fwd.stdout + fwd.stderr);
  assert.match(fwd.stdout, /Address: 192\.0\.2\.7/);
  const nx = await run('busybox', ['nslookup', 'ghost.default.svc.cluster.local', server], { timeoutMs: 15_000 });
  assert.match(nx.stdout + nx.stderr, /NXDOMAIN/);
});
