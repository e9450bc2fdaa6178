import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect } from 'node:net';
import { isIPv6 } from 'node:net';
import * as packet from 'dns-packet';
import type { Answer, DecodedPacket, Question } from 'dns-packet';
import { EDNS_PAYLOAD, isTruncated } from './message.js';

// Forwarding of names outside the cluster zone to the node's own resolvers, as CoreDNS's forward plugin
// does for a cluster: over UDP, again over TCP when the answer was truncated, the next upstream when one
// does not answer in time, and SERVFAIL (undefined here) when none does. Answers are relayed as the
// upstream encoded them, with the client's id put back; a small cache keeps them no longer than their TTL.

export interface Upstream {
  address: string;
  port: number;
}

interface Pending {
  upstream: Upstream;
  resolve(msg: Buffer | undefined): void;
}

interface CacheEntry {
  packet: DecodedPacket;
  storedAt: number;
  expiresAt: number;
}

/** Upper bound on how long a forwarded answer is kept, whatever its TTL says. */
const MAX_CACHE_TTL_S = 300;

export class Forwarder {
  private readonly sockets = new Map<'udp4' | 'udp6', UdpSocket>();
  private readonly pending = new Map<number, Pending>();
  private readonly cache = new Map<string, CacheEntry>();
  private nextId = Math.floor(Math.random() * 0x10000);
  private closed = false;

  constructor(
    private readonly opts: { upstreams: Upstream[]; timeoutMs: number; cacheEntries: number; log(m: string): void; now?: () => number },
  ) {}

  /**
   * The upstream's answer to `query` (raw, id set to the query's), or undefined when no upstream answered.
   * `cacheKey` names the question for the cache; without it nothing is cached.
   */
  async forward(query: Buffer, opts: { tcp: boolean; cacheKey?: string; question?: Question }): Promise<Buffer | undefined> {
    const clientId = query.readUInt16BE(0);
    if (opts.cacheKey) {
      const hit = this.fromCache(opts.cacheKey, clientId, opts.question);
      if (hit) return hit;
    }
    const ups = this.opts.upstreams;
    if (ups.length === 0) return undefined;
    const perTry = Math.max(50, Math.floor(this.opts.timeoutMs / ups.length));
    for (const up of ups) {
      let res = opts.tcp ? await this.overTcp(up, query, perTry) : await this.overUdp(up, query, perTry);
      if (res && !opts.tcp && isTruncated(res)) res = (await this.overTcp(up, query, perTry)) ?? res;
      if (!res) continue;
      const out = Buffer.from(res);
      out.writeUInt16BE(clientId, 0);
      if (opts.cacheKey) this.store(opts.cacheKey, out);
      return out;
    }
    return undefined;
  }

  /** Resolve a name upstream (an ExternalName's target) and return the decoded answer. */
  async lookup(name: string, type: string): Promise<DecodedPacket | undefined> {
    const q = packet.encode({
      type: 'query',
      id: 0,
      flags: packet.RECURSION_DESIRED,
      questions: [{ name, type: type as packet.RecordType, class: 'IN' }],
      additionals: [{ name: '.', type: 'OPT', udpPayloadSize: EDNS_PAYLOAD, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
    });
    const res = await this.forward(q, { tcp: false, cacheKey: `${name}|${type}|IN|1` });
    if (!res) return undefined;
    try {
      return packet.decode(res);
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.pending.values()) p.resolve(undefined);
    this.pending.clear();
    await Promise.all([...this.sockets.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.sockets.clear();
  }

  private socket(family: 'udp4' | 'udp6'): UdpSocket {
    let s = this.sockets.get(family);
    if (s) return s;
    s = createSocket(family);
    s.on('message', (msg, rinfo) => {
      if (msg.length < 12) return;
      const p = this.pending.get(msg.readUInt16BE(0));
      // Only the server we asked may answer: anything else is a stray or a spoof.
      if (!p || p.upstream.port !== rinfo.port || normalise(p.upstream.address) !== normalise(rinfo.address)) return;
      this.pending.delete(msg.readUInt16BE(0));
      p.resolve(msg);
    });
    s.on('error', (e) => this.opts.log(`dns forward socket (${family}): ${e.message}`));
    this.sockets.set(family, s);
    return s;
  }

  private allocateId(): number | undefined {
    for (let i = 0; i < 0x10000; i++) {
      this.nextId = (this.nextId + 1) & 0xffff;
      if (!this.pending.has(this.nextId)) return this.nextId;
    }
    return undefined;
  }

  private overUdp(up: Upstream, query: Buffer, timeoutMs: number): Promise<Buffer | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const id = this.allocateId();
    if (id === undefined) return Promise.resolve(undefined);
    const msg = Buffer.from(query);
    msg.writeUInt16BE(id, 0);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(undefined);
      }, timeoutMs);
      this.pending.set(id, {
        upstream: up,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
      this.socket(isIPv6(up.address) ? 'udp6' : 'udp4').send(msg, up.port, up.address, (err) => {
        if (!err) return;
        this.opts.log(`dns forward to ${up.address}:${up.port}: ${err.message}`);
        this.pending.get(id)?.resolve(undefined);
        this.pending.delete(id);
      });
    });
  }

  private overTcp(up: Upstream, query: Buffer, timeoutMs: number): Promise<Buffer | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const sock = connect({ host: up.address, port: up.port });
      let buf: Buffer = Buffer.alloc(0);
      const done = (m: Buffer | undefined) => {
        clearTimeout(timer);
        sock.destroy();
        resolve(m);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      sock.on('connect', () => {
        const len = Buffer.alloc(2);
        len.writeUInt16BE(query.length);
        sock.write(Buffer.concat([len, query]));
      });
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      });
      sock.on('error', (e) => {
        this.opts.log(`dns forward over TCP to ${up.address}:${up.port}: ${e.message}`);
        done(undefined);
      });
      sock.on('close', () => done(undefined));
    });
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  private store(key: string, res: Buffer): void {
    if (this.opts.cacheEntries <= 0 || isTruncated(res)) return;
    let p: DecodedPacket;
    try {
      p = packet.decode(res);
    } catch {
      return;
    }
    const rcode = res.readUInt16BE(2) & 0xf;
    // Positive answers and NXDOMAIN/NODATA with an SOA are cacheable (RFC 2308); SERVFAIL and the rest are not.
    if (rcode !== 0 && rcode !== 3) return;
    const ttl = cacheTtl(p);
    if (ttl === undefined || ttl <= 0) return;
    if (this.cache.size >= this.opts.cacheEntries) this.cache.delete(this.cache.keys().next().value!);
    const now = this.now();
    this.cache.set(key, { packet: p, storedAt: now, expiresAt: now + Math.min(ttl, MAX_CACHE_TTL_S) * 1000 });
  }

  private fromCache(key: string, id: number, question: Question | undefined): Buffer | undefined {
    const e = this.cache.get(key);
    if (!e) return undefined;
    const now = this.now();
    if (now >= e.expiresAt) {
      this.cache.delete(key);
      return undefined;
    }
    // Serve what is left of each TTL, as a recursive resolver does, so downstream caches expire together.
    const elapsed = Math.floor((now - e.storedAt) / 1000);
    const age = (list: Answer[] | undefined) => list?.map((a) => (a.type === 'OPT' ? a : { ...a, ttl: Math.max(0, (a.ttl ?? 0) - elapsed) }) as Answer);
    try {
      const questions = question ? [question] : e.packet.questions;
      return packet.encode({ ...e.packet, id, questions, answers: age(e.packet.answers), authorities: age(e.packet.authorities), additionals: age(e.packet.additionals) });
    } catch {
      this.cache.delete(key);
      return undefined;
    }
  }
}

/** The smallest TTL among answers and authorities; for a negative answer, the SOA's bound (RFC 2308 §5). */
function cacheTtl(p: DecodedPacket): number | undefined {
  const records = [...(p.answers ?? []), ...(p.authorities ?? [])].filter((a) => a.type !== 'OPT');
  if (records.length === 0) return undefined;
  let ttl = Infinity;
  for (const r of records) {
    let t = r.ttl ?? 0;
    if (r.type === 'SOA' && (p.answers ?? []).length === 0) t = Math.min(t, r.data.minimum ?? t);
    ttl = Math.min(ttl, t);
  }
  return ttl;
}

function normalise(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
