import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as packet from 'dns-packet';
import type { Answer, DecodedPacket, RecordType, SrvAnswer, StringAnswer } from 'dns-packet';
import type { KubeObject } from '../../src/api/object.js';
import { ClusterIndex } from '../../src/dns/clusterindex.js';
import { ClusterZone } from '../../src/dns/zone.js';
import { Responder } from '../../src/dns/responder.js';
import type { Forwarder } from '../../src/dns/forward.js';
import type { Transport } from '../../src/dns/listeners.js';
import { parseResolvConf } from '../../src/dns/resolvconf.js';
import { ipFromDashed, parseReverseName } from '../../src/dns/names.js';

// Answers of cluster DNS for every record type, from a fixture index, through the same Responder the
// listeners call (bytes in, bytes out, decoded with dns-packet as a client would).

const ZONE = 'cluster.local';

function service(ns: string, name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name }, spec };
}

interface Ep {
  ip: string;
  hostname?: string;
  ready?: boolean;
}
function slice(ns: string, svc: string, name: string, eps: Ep[], ports: Array<{ name?: string; port: number; protocol?: string }>, addressType = 'IPv4'): KubeObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': svc } },
    addressType,
    ports: ports.map((p) => ({ protocol: 'TCP', ...p })),
    endpoints: eps.map((e) => ({ addresses: [e.ip], hostname: e.hostname, conditions: e.ready === undefined ? {} : { ready: e.ready } })),
  };
}

interface Lookups {
  forwarded: Buffer[];
  lookups: Array<{ name: string; type: string }>;
}

function fixture(opts: { ttl?: number; synced?: boolean } = {}) {
  const index = new ClusterIndex(ZONE);
  index.upsertService(service('default', 'kubernetes', { clusterIP: '10.43.0.1', clusterIPs: ['10.43.0.1'], ports: [{ name: 'https', port: 443, protocol: 'TCP' }] }));
  index.upsertService(
    service('shop', 'web', {
      clusterIP: '10.43.0.10',
      clusterIPs: ['10.43.0.10'],
      ports: [
        { name: 'http', port: 80, protocol: 'TCP' },
        { port: 8080, protocol: 'TCP' },
        { name: 'dns', port: 53, protocol: 'UDP' },
      ],
    }),
  );
  index.upsertService(service('shop', 'db', { clusterIP: 'None', clusterIPs: ['None'], ports: [{ name: 'pg', port: 5432 }] }));
  index.upsertSlice(
    slice(
      'shop',
      'db',
      'db-abc',
      [{ ip: '10.42.0.5', hostname: 'db-0', ready: true }, { ip: '10.42.0.6', hostname: 'db-1', ready: true }, { ip: '10.42.0.7', hostname: 'db-2', ready: false }, { ip: '10.42.0.8' }],
      [{ name: 'pg', port: 5432 }],
    ),
  );
  index.upsertService(service('shop', 'empty', { clusterIP: 'None', ports: [{ name: 'x', port: 1 }] }));
  index.upsertService(service('shop', 'ext', { type: 'ExternalName', externalName: 'www.example.com' }));
  index.upsertService(service('shop', 'inner', { type: 'ExternalName', externalName: 'web.shop.svc.cluster.local.' }));
  index.upsertService(service('shop', 'many', { clusterIP: 'None' }));
  const many: Ep[] = [];
  for (let i = 1; i <= 60; i++) many.push({ ip: `10.42.1.${i}`, ready: true });
  index.upsertSlice(slice('shop', 'many', 'many-1', many, [{ name: 'http', port: 80 }]));

  const seen: Lookups = { forwarded: [], lookups: [] };
  const forwarder: Pick<Forwarder, 'forward' | 'lookup'> = {
    async forward(query) {
      seen.forwarded.push(query);
      const q = packet.decode(query);
      return packet.encode({ type: 'response', id: q.id, flags: packet.RECURSION_AVAILABLE, questions: q.questions, answers: [{ name: 'upstream.example', type: 'A', ttl: 60, data: '192.0.2.1' }] });
    },
    async lookup(name, type) {
      seen.lookups.push({ name, type });
      const answers: Answer[] = type === 'A' ? [{ name, type: 'A', ttl: 300, class: 'IN', data: '192.0.2.80' }] : [];
      return packet.decode(packet.encode({ type: 'response', id: 0, flags: packet.RECURSION_AVAILABLE, questions: [{ name, type: type as RecordType }], answers }));
    },
  };
  let synced = opts.synced ?? true;
  const responder = new Responder(new ClusterZone(index, ZONE, opts.ttl ?? 5), index, forwarder, () => synced);
  async function ask(name: string, type: RecordType, o: { transport?: Transport; edns?: number; id?: number } = {}): Promise<{ res: DecodedPacket; bytes: Buffer }> {
    const q = packet.encode({
      type: 'query',
      id: o.id ?? 4242,
      flags: packet.RECURSION_DESIRED,
      questions: [{ name, type, class: 'IN' }],
      additionals: o.edns ? [{ name: '.', type: 'OPT', udpPayloadSize: o.edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
    });
    const bytes = await responder.handle(q, o.transport ?? 'udp');
    assert.ok(bytes, `no response to ${name} ${type}`);
    return { res: packet.decode(bytes), bytes };
  }
  return { index, ask, seen, setSynced: (v: boolean) => (synced = v) };
}

const rcode = (p: DecodedPacket) => (p as DecodedPacket & { rcode: string }).rcode;
const data = (p: DecodedPacket, type = 'A') => (p.answers ?? []).filter((a) => a.type === type).map((a) => (a as StringAnswer).data).sort();

function assertNegative(p: DecodedPacket, code: 'NXDOMAIN' | 'NOERROR', ttl = 5): void {
  assert.equal(rcode(p), code);
  assert.equal(p.answers?.length ?? 0, 0);
  const soa = p.authorities?.[0];
  assert.equal(soa?.type, 'SOA');
  assert.equal(soa.name, ZONE);
  assert.equal(soa.type === 'SOA' && soa.data.minimum, ttl);
  assert.equal(soa.ttl, ttl);
}

test('a ClusterIP service answers A with its ClusterIP, authoritatively, TTL 5, id and question echoed', async () => {
  const { ask } = fixture();
  const { res } = await ask('web.shop.svc.cluster.local', 'A', { id: 777 });
  assert.equal(res.id, 777);
  assert.equal(rcode(res), 'NOERROR');
  assert.ok(res.flag_qr && res.flag_aa && res.flag_rd && res.flag_ra);
  assert.deepEqual(res.questions, [{ name: 'web.shop.svc.cluster.local', type: 'A', class: 'IN' }]);
  assert.deepEqual(data(res), ['10.43.0.10']);
  assert.equal((res.answers?.[0] as StringAnswer).ttl, 5);
  const k = await ask('kubernetes.default.svc.cluster.local.', 'A');
  assert.deepEqual(data(k.res), ['10.43.0.1']);
});

test('names are matched case-insensitively and the question comes back as it was asked', async () => {
  const { ask } = fixture();
  await ask('web.shop.svc.cluster.local', 'A'); // fill the pre-encoded answer
  const { res } = await ask('WeB.ShOp.SVC.Cluster.Local', 'A', { id: 9 });
  assert.equal(res.id, 9);
  assert.equal(res.questions?.[0]?.name, 'WeB.ShOp.SVC.Cluster.Local');
  assert.deepEqual(data(res), ['10.43.0.10']);
});

test('a headless service answers with its ready endpoint addresses, and its hostnames resolve', async () => {
  const { ask } = fixture();
  assert.deepEqual(data((await ask('db.shop.svc.cluster.local', 'A')).res), ['10.42.0.5', '10.42.0.6', '10.42.0.8']);
  assert.deepEqual(data((await ask('db-0.db.shop.svc.cluster.local', 'A')).res), ['10.42.0.5']);
  assert.deepEqual(data((await ask('db-1.db.shop.svc.cluster.local', 'A')).res), ['10.42.0.6']);
  // Not ready: not published.
  assertNegative((await ask('db-2.db.shop.svc.cluster.local', 'A')).res, 'NXDOMAIN');
  // An endpoint without a hostname is named by its dashed address.
  assert.deepEqual(data((await ask('10-42-0-8.db.shop.svc.cluster.local', 'A')).res), ['10.42.0.8']);
  // Without ready endpoints a headless service does not exist.
  assertNegative((await ask('empty.shop.svc.cluster.local', 'A')).res, 'NXDOMAIN');
});

test('SRV records for named ports, with the targets addresses in the additional section', async () => {
  const { ask } = fixture();
  const web = (await ask('_http._tcp.web.shop.svc.cluster.local', 'SRV')).res;
  assert.equal(rcode(web), 'NOERROR');
  const srv = (web.answers ?? []) as SrvAnswer[];
  assert.equal(srv.length, 1);
  assert.equal(srv[0]!.name, '_http._tcp.web.shop.svc.cluster.local');
  assert.equal(srv[0]!.data.port, 80);
  assert.equal(srv[0]!.data.target, 'web.shop.svc.cluster.local');
  assert.deepEqual(
    (web.additionals ?? []).map((a) => [a.name, (a as StringAnswer).data]),
    [['web.shop.svc.cluster.local', '10.43.0.10']],
  );
  assert.equal(((await ask('_dns._udp.web.shop.svc.cluster.local', 'SRV')).res.answers?.[0] as SrvAnswer).data.port, 53);
  assertNegative((await ask('_http._udp.web.shop.svc.cluster.local', 'SRV')).res, 'NXDOMAIN');
  assertNegative((await ask('_nope._tcp.web.shop.svc.cluster.local', 'SRV')).res, 'NXDOMAIN');
  // The SRV name exists, so another type is NODATA.
  assertNegative((await ask('_http._tcp.web.shop.svc.cluster.local', 'A')).res, 'NOERROR');

  const db = (await ask('_pg._tcp.db.shop.svc.cluster.local', 'SRV')).res;
  const targets = ((db.answers ?? []) as SrvAnswer[]).map((a) => `${a.data.target}:${a.data.port}`).sort();
  assert.deepEqual(targets, ['10-42-0-8.db.shop.svc.cluster.local:5432', 'db-0.db.shop.svc.cluster.local:5432', 'db-1.db.shop.svc.cluster.local:5432']);
  assert.deepEqual(data({ ...db, answers: db.additionals }), ['10.42.0.5', '10.42.0.6', '10.42.0.8']);
});

test('ExternalName answers with a CNAME, followed upstream or inside the cluster', async () => {
  const { ask, seen } = fixture();
  const ext = (await ask('ext.shop.svc.cluster.local', 'A')).res;
  assert.equal(rcode(ext), 'NOERROR');
  assert.deepEqual(
    (ext.answers ?? []).map((a) => [a.type, a.name, (a as StringAnswer).data]),
    [
      ['CNAME', 'ext.shop.svc.cluster.local', 'www.example.com'],
      ['A', 'www.example.com', '192.0.2.80'],
    ],
  );
  assert.deepEqual(seen.lookups, [{ name: 'www.example.com', type: 'A' }]);
  const cname = (await ask('ext.shop.svc.cluster.local', 'CNAME')).res;
  assert.deepEqual(data(cname, 'CNAME'), ['www.example.com']);
  const inner = (await ask('inner.shop.svc.cluster.local', 'A')).res;
  assert.deepEqual(
    (inner.answers ?? []).map((a) => [a.type, (a as StringAnswer).data]),
    [
      ['CNAME', 'web.shop.svc.cluster.local'],
      ['A', '10.43.0.10'],
    ],
  );
  assert.equal(seen.lookups.length, 1, 'an in-cluster target is not looked up upstream');
});

test('pod A records from dashed addresses', async () => {
  const { ask } = fixture();
  assert.deepEqual(data((await ask('10-42-0-9.shop.pod.cluster.local', 'A')).res), ['10.42.0.9']);
  assertNegative((await ask('10-42-0-999.shop.pod.cluster.local', 'A')).res, 'NXDOMAIN');
  assertNegative((await ask('10-42-0-9.shop.pod.cluster.local', 'AAAA')).res, 'NOERROR');
});

test('PTR for ClusterIPs and endpoint addresses; other reverse names are forwarded', async () => {
  const { ask, seen } = fixture();
  assert.deepEqual(data((await ask('10.0.43.10.in-addr.arpa', 'PTR')).res, 'PTR'), ['web.shop.svc.cluster.local']);
  assert.deepEqual(data((await ask('5.0.42.10.in-addr.arpa', 'PTR')).res, 'PTR'), ['db-0.db.shop.svc.cluster.local']);
  assert.deepEqual(data((await ask('8.0.42.10.in-addr.arpa', 'PTR')).res, 'PTR'), ['10-42-0-8.db.shop.svc.cluster.local']);
  assert.equal(seen.forwarded.length, 0);
  await ask('1.2.0.192.in-addr.arpa', 'PTR');
  assert.equal(seen.forwarded.length, 1);
});

test('AAAA of an IPv4-only name is NODATA with the SOA; missing names are NXDOMAIN with the SOA', async () => {
  const { ask } = fixture();
  assertNegative((await ask('web.shop.svc.cluster.local', 'AAAA')).res, 'NOERROR');
  assertNegative((await ask('db.shop.svc.cluster.local', 'AAAA')).res, 'NOERROR');
  assertNegative((await ask('ghost.default.svc.cluster.local', 'A')).res, 'NXDOMAIN');
  // What a pod's search path makes of an already qualified name (ndots:5).
  assertNegative((await ask('ghost.default.svc.cluster.local.svc.cluster.local', 'A')).res, 'NXDOMAIN');
  assertNegative((await ask('web.shop.svc.cluster.local.shop.svc.cluster.local', 'A')).res, 'NXDOMAIN');
  assertNegative((await ask('web.shop.svc.cluster.local.cluster.local', 'A')).res, 'NXDOMAIN');
  assertNegative((await ask('nothing.cluster.local', 'A')).res, 'NXDOMAIN');
  assertNegative((await ask('nons.svc.cluster.local', 'A')).res, 'NXDOMAIN');
  // Names that exist without records of their own.
  assertNegative((await ask('shop.svc.cluster.local', 'A')).res, 'NOERROR');
  assertNegative((await ask('svc.cluster.local', 'A')).res, 'NOERROR');
  assertNegative((await ask('cluster.local', 'A')).res, 'NOERROR');
  const soa = (await ask('cluster.local', 'SOA')).res;
  assert.equal(soa.answers?.[0]?.type, 'SOA');
  const ver = (await ask('dns-version.cluster.local', 'TXT')).res;
  assert.equal(ver.answers?.[0]?.type, 'TXT');
});

test('the TTL option sets record TTLs and the negative TTL', async () => {
  const { ask } = fixture({ ttl: 30 });
  assert.equal(((await ask('web.shop.svc.cluster.local', 'A')).res.answers?.[0] as StringAnswer).ttl, 30);
  assertNegative((await ask('ghost.shop.svc.cluster.local', 'A')).res, 'NXDOMAIN', 30);
});

test('over UDP an answer above 512 bytes is truncated (TC) unless EDNS0 allows more; TCP gets it whole', async () => {
  const { ask } = fixture();
  const udp = await ask('many.shop.svc.cluster.local', 'A');
  assert.ok(udp.bytes.length <= 512, `${udp.bytes.length} bytes`);
  assert.equal(udp.res.flag_tc, true);
  assert.ok((udp.res.answers?.length ?? 0) < 60);
  const edns = await ask('many.shop.svc.cluster.local', 'A', { edns: 4096 });
  assert.equal(edns.res.flag_tc, false);
  assert.equal(edns.res.answers?.length, 60);
  assert.ok(edns.res.additionals?.some((a) => a.type === 'OPT'), 'EDNS0 is answered with an OPT record');
  const tcp = await ask('many.shop.svc.cluster.local', 'A', { transport: 'tcp' });
  assert.equal(tcp.res.flag_tc, false);
  assert.equal(tcp.res.answers?.length, 60);
  // SRV with additionals: the additionals go before TC is needed.
  const small = await ask('_http._tcp.many.shop.svc.cluster.local', 'SRV');
  assert.ok(small.bytes.length <= 512);
});

test('changes to services and endpoints show in the next answer', async () => {
  const { ask, index } = fixture();
  assert.deepEqual(data((await ask('web.shop.svc.cluster.local', 'A')).res), ['10.43.0.10']);
  index.upsertService(service('shop', 'web', { clusterIP: '10.43.0.11', clusterIPs: ['10.43.0.11'] }));
  assert.deepEqual(data((await ask('web.shop.svc.cluster.local', 'A')).res), ['10.43.0.11']);
  index.deleteService(service('shop', 'web', {}));
  assertNegative((await ask('web.shop.svc.cluster.local', 'A')).res, 'NXDOMAIN');
  index.deleteSlice(slice('shop', 'db', 'db-abc', [], []));
  assertNegative((await ask('db.shop.svc.cluster.local', 'A')).res, 'NXDOMAIN');
  index.upsertSlice(slice('shop', 'db', 'db-v6', [{ ip: 'fd00::5', hostname: 'db-0' }], [], 'IPv6'));
  assert.deepEqual(data((await ask('db-0.db.shop.svc.cluster.local', 'AAAA')).res, 'AAAA'), ['fd00::5']);
});

test('before the informers sync, cluster names get SERVFAIL, not a false NXDOMAIN', async () => {
  const f = fixture({ synced: false });
  assert.equal(rcode((await f.ask('web.shop.svc.cluster.local', 'A')).res), 'SERVFAIL');
  f.setSynced(true);
  assert.deepEqual(data((await f.ask('web.shop.svc.cluster.local', 'A')).res), ['10.43.0.10']);
});

test('names outside the cluster domain are forwarded as sent', async () => {
  const { ask, seen } = fixture();
  const { res } = await ask('example.org', 'A', { id: 31 });
  assert.equal(res.id, 31);
  assert.deepEqual(data(res), ['192.0.2.1']);
  assert.equal(packet.decode(seen.forwarded[0]!).questions?.[0]?.name, 'example.org');
});

test('malformed queries get FORMERR, other opcodes NOTIMP, responses are ignored', async () => {
  const { index } = fixture();
  const responder = new Responder(new ClusterZone(index, ZONE, 5), index, { forward: async () => undefined, lookup: async () => undefined }, () => true);
  const garbage = Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0x3f, 0x61]);
  const r1 = packet.decode((await responder.handle(garbage, 'udp'))!);
  assert.equal(r1.id, 0x1234);
  assert.equal(rcode(r1), 'FORMERR');
  const notify = Buffer.from(garbage.subarray(0, 12));
  notify[2] = 0x20; // opcode 4 (NOTIFY)
  assert.equal(rcode(packet.decode((await responder.handle(notify, 'udp'))!)), 'NOTIMP');
  const resp = Buffer.from(garbage.subarray(0, 12));
  resp[2] = 0x80;
  assert.equal(await responder.handle(resp, 'udp'), undefined);
  assert.equal(await responder.handle(Buffer.from([1, 2, 3]), 'udp'), undefined);
});

test('resolv.conf nameservers, and name helpers', () => {
  assert.deepEqual(parseResolvConf('# c\nsearch example\nnameserver 10.0.0.2\nnameserver  fd00::53 # x\nnameserver bogus\noptions ndots:5\n'), [
    { address: '10.0.0.2', port: 53 },
    { address: 'fd00::53', port: 53 },
  ]);
  assert.equal(ipFromDashed('fd00--1'), 'fd00::1');
  assert.equal(ipFromDashed('1-2-3'), undefined);
  assert.deepEqual(parseReverseName('4.3.2.1.in-addr.arpa'), { kind: 'ip', ip: '1.2.3.4' });
  assert.deepEqual(parseReverseName('2.1.in-addr.arpa'), { kind: 'partial' });
  assert.deepEqual(parseReverseName(`1.${'0.'.repeat(27)}0.0.d.f.ip6.arpa`), { kind: 'ip', ip: 'fd00::1' });
  assert.equal(parseReverseName('example.com'), undefined);
});
