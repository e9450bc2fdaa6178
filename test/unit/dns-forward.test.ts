import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import * as packet from 'dns-packet';
import type { DecodedPacket, RecordType, StringAnswer } from 'dns-packet';
import { ClusterIndex } from '../../src/dns/clusterindex.js';
import { ClusterZone } from '../../src/dns/zone.js';
import { Responder } from '../../src/dns/responder.js';
import { Forwarder, type Upstream } from '../../src/dns/forward.js';
import { listenDns } from '../../src/dns/listeners.js';
import { startStaticDns, type StaticDns } from '../../src/dns/staticserver.js';
import { freePort } from '../helpers/cluster.js';

// Forwarding through real loopback sockets: cluster DNS on 127.0.0.1 in front of stub upstream resolvers
// this test starts (never the host's resolver), over UDP and TCP.

const ZONE = 'cluster.local';

async function serve(t: { after(fn: () => Promise<void>): void }, upstreams: Upstream[], opts: { timeoutMs?: number; now?: () => number } = {}) {
  const index = new ClusterIndex(ZONE);
  index.upsertService({ metadata: { namespace: 'default', name: 'kubernetes' }, spec: { clusterIP: '10.43.0.1', clusterIPs: ['10.43.0.1'] } });
  const forwarder = new Forwarder({ upstreams, timeoutMs: opts.timeoutMs ?? 2000, cacheEntries: 100, log: () => undefined, now: opts.now });
  const responder = new Responder(new ClusterZone(index, ZONE, 5), index, forwarder, () => true);
  const port = await freePort();
  const listener = await listenDns({ address: '127.0.0.1', port }, responder.handle, () => undefined);
  t.after(async () => {
    await listener.close();
    await forwarder.close();
  });
  return { port, forwarder };
}

function query(name: string, type: RecordType, id = 1000): Buffer {
  return packet.encode({ type: 'query', id, flags: packet.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }] });
}

function udpAsk(port: number, msg: Buffer): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error('no UDP answer within 5 s'));
    }, 5000);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(packet.decode(m));
    });
    s.send(msg, port, '127.0.0.1');
  });
}

/** Several queries on one TCP connection, answers collected by id. */
function tcpAsk(port: number, msgs: Buffer[]): Promise<DecodedPacket[]> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port });
    const out: DecodedPacket[] = [];
    let buf: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('no TCP answer within 5 s'));
    }, 5000);
    sock.on('connect', () => sock.write(Buffer.concat(msgs.map((m) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m])))));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(packet.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length === msgs.length) {
        clearTimeout(timer);
        sock.destroy();
        resolve(out);
      }
    });
    sock.on('error', reject);
  });
}

async function stub(t: { after(fn: () => Promise<void>): void }, opts: { truncateUdp?: boolean; silent?: boolean } = {}): Promise<StaticDns> {
  const s = await startStaticDns({
    records: { 'example.org': [{ name: 'example.org', type: 'A', ttl: 120, class: 'IN', data: '192.0.2.7' }] },
    ...opts,
  });
  t.after(() => s.stop());
  return s;
}

const rcode = (p: DecodedPacket) => (p as DecodedPacket & { rcode: string }).rcode;
const addrs = (p: DecodedPacket) => (p.answers ?? []).filter((a) => a.type === 'A').map((a) => (a as StringAnswer).data);

test('names outside the cluster are forwarded over UDP with the client id restored, and cached', async (t) => {
  const up = await stub(t);
  const { port } = await serve(t, [{ address: up.address, port: up.port }]);
  const r = await udpAsk(port, query('example.org', 'A', 4321));
  assert.equal(r.id, 4321);
  assert.deepEqual(addrs(r), ['192.0.2.7']);
  const again = await udpAsk(port, query('EXAMPLE.org', 'A', 17));
  assert.equal(again.id, 17);
  assert.equal(again.questions?.[0]?.name, 'EXAMPLE.org');
  assert.deepEqual(addrs(again), ['192.0.2.7']);
  assert.equal(up.counts.udp, 1, 'the second query is answered from the cache');
  const nx = await udpAsk(port, query('missing.example.org', 'A'));
  assert.equal(rcode(nx), 'NXDOMAIN');
  // Cluster names never reach the upstream.
  assert.deepEqual(addrs(await udpAsk(port, query('kubernetes.default.svc.cluster.local', 'A'))), ['10.43.0.1']);
  assert.equal(up.counts.udp + up.counts.tcp, 2);
});

test('a truncated upstream answer is fetched again over TCP', async (t) => {
  const up = await stub(t, { truncateUdp: true });
  const { port } = await serve(t, [{ address: up.address, port: up.port }]);
  const r = await udpAsk(port, query('example.org', 'A'));
  assert.equal(r.flag_tc, false);
  assert.deepEqual(addrs(r), ['192.0.2.7']);
  assert.deepEqual(up.counts, { udp: 1, tcp: 1 });
});

test('a dead upstream is skipped for the next; with none alive the client gets SERVFAIL', async (t) => {
  const dead = await stub(t, { silent: true });
  const alive = await stub(t);
  const both = await serve(t, [dead, alive].map((s) => ({ address: s.address, port: s.port })), { timeoutMs: 600 });
  assert.deepEqual(addrs(await udpAsk(both.port, query('example.org', 'A'))), ['192.0.2.7']);
  const none = await serve(t, [{ address: dead.address, port: dead.port }], { timeoutMs: 300 });
  const r = await udpAsk(none.port, query('example.org', 'A', 55));
  assert.equal(r.id, 55);
  assert.equal(rcode(r), 'SERVFAIL');
});

test('TCP clients: pipelined queries on one connection, cluster and forwarded names', async (t) => {
  const up = await stub(t);
  const { port } = await serve(t, [{ address: up.address, port: up.port }]);
  const res = await tcpAsk(port, [query('kubernetes.default.svc.cluster.local', 'A', 1), query('example.org', 'A', 2), query('ghost.default.svc.cluster.local', 'A', 3)]);
  const byId = new Map(res.map((r) => [r.id, r]));
  assert.deepEqual(addrs(byId.get(1)!), ['10.43.0.1']);
  assert.deepEqual(addrs(byId.get(2)!), ['192.0.2.7']);
  assert.equal(rcode(byId.get(3)!), 'NXDOMAIN');
  assert.equal(up.counts.tcp, 1, 'a TCP client is forwarded over TCP');
});

test('the forward cache serves what is left of a TTL and drops the answer when it expires', async (t) => {
  const up = await stub(t);
  let now = 1_000_000;
  const f = new Forwarder({ upstreams: [{ address: up.address, port: up.port }], timeoutMs: 2000, cacheEntries: 10, log: () => undefined, now: () => now });
  t.after(() => f.close());
  const key = 'example.org|A|IN|0';
  const first = packet.decode((await f.forward(query('example.org', 'A', 1), { tcp: false, cacheKey: key }))!);
  assert.equal((first.answers?.[0] as StringAnswer).ttl, 120);
  now += 100_000;
  const cached = packet.decode((await f.forward(query('example.org', 'A', 2), { tcp: false, cacheKey: key }))!);
  assert.equal(cached.id, 2);
  assert.equal((cached.answers?.[0] as StringAnswer).ttl, 20);
  assert.equal(up.counts.udp, 1);
  now += 21_000;
  await f.forward(query('example.org', 'A', 3), { tcp: false, cacheKey: key });
  assert.equal(up.counts.udp, 2, 'an expired answer is asked for again');
});
