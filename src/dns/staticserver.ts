import { createSocket } from 'node:dgram';
import { createServer, type Socket } from 'node:net';
import * as packet from 'dns-packet';
import type { Answer } from 'dns-packet';

// A tiny fixed-answer DNS server on loopback: the upstream resolver that tests and benchmarks forward to,
// so nothing ever loads the host's real resolver. Not used by cluster DNS itself.

export interface StaticDnsOptions {
  address?: string;
  /** 0 picks a free port; UDP and TCP then share the port UDP got. */
  port?: number;
  /** Answers by lower-case name; names not listed get NXDOMAIN. */
  records: Record<string, Answer[]>;
  /** Answer UDP queries with TC and no records, so clients must ask again over TCP. */
  truncateUdp?: boolean;
  /** Never answer: a dead upstream. */
  silent?: boolean;
}

export interface StaticDns {
  address: string;
  port: number;
  /** Queries received so far, by transport. */
  counts: { udp: number; tcp: number };
  stop(): Promise<void>;
}

export async function startStaticDns(opts: StaticDnsOptions): Promise<StaticDns> {
  const address = opts.address ?? '127.0.0.1';
  const counts = { udp: 0, tcp: 0 };
  const answer = (msg: Buffer, udp: boolean): Buffer | undefined => {
    if (opts.silent) return undefined;
    let q: packet.DecodedPacket;
    try {
      q = packet.decode(msg);
    } catch {
      return undefined;
    }
    const question = q.questions?.[0];
    if (!question) return undefined;
    const all = opts.records[question.name.toLowerCase().replace(/\.$/, '')];
    const answers = (all ?? []).filter((a) => a.type === question.type || a.type === 'CNAME');
    const truncated = udp && opts.truncateUdp;
    const flags = packet.RECURSION_AVAILABLE | ((q.flags ?? 0) & packet.RECURSION_DESIRED) | (truncated ? packet.TRUNCATED_RESPONSE : 0) | (all ? 0 : 3);
    return packet.encode({ type: 'response', id: q.id, flags, questions: [question], answers: truncated ? [] : answers });
  };

  const udp = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(opts.port ?? 0, address, () => resolve());
  });
  udp.on('message', (msg, rinfo) => {
    counts.udp++;
    const res = answer(msg, true);
    if (res) udp.send(res, rinfo.port, rinfo.address);
  });
  const port = udp.address().port;

  const conns = new Set<Socket>();
  const tcp = createServer((sock) => {
    conns.add(sock);
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => undefined);
    let buf: Buffer = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        counts.tcp++;
        const res = answer(msg, false);
        if (!res) continue;
        const len = Buffer.alloc(2);
        len.writeUInt16BE(res.length);
        sock.write(Buffer.concat([len, res]));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(port, address, () => resolve());
  });

  return {
    address,
    port,
    counts,
    async stop() {
      for (const c of conns) c.destroy();
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
}
